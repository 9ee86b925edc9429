"""``python -m actviz`` runs the same command line as ``actviz``."""

from actviz.cli import main

main()
