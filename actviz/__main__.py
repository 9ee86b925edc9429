"""``python -m actviz`` runs the same command line as ``actviz``.

``python -m`` puts the working folder first on ``sys.path``: a ``numpy.py``
there would be imported in place of numpy. It is taken off before anything
else is imported (``actviz/__init__.py`` imports only what ``-m`` itself has
loaded); ``actviz plot mymodule:fn`` still finds ``mymodule.py`` there, as the
``actviz`` command does (``cli.main``). Kept only where actviz itself was
imported from it (run from its source tree): workers must import the same code.
"""

import os
import sys

import actviz


def _working_folder() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # deleted
        return None


_source = os.path.dirname(os.path.dirname(os.path.abspath(actviz.__file__)))
if (
    sys.path
    and sys.path[0] == _working_folder() != _source
    and not getattr(sys.flags, "safe_path", False)
):
    del sys.path[0]

from actviz.cli import main  # noqa: E402  # after the working folder is off sys.path

main()
