"""File names actviz makes up: only safe characters, unique, and short enough.

A default name (``outputs/leaky_relu-negative_slope=0.1.png``, export's
``NAME.png``, ``depth-NAME.png``) is built from an activation's name and its
parameter values, and a custom activation's parameter can be any text
(``--param mode=../../x``). :func:`safe_stem` keeps letters, digits and
``. _ = + -`` as they are (every registered name and number reads as before) and
writes ``_`` for anything else (``/``, ``\\``, spaces, control and non-ASCII
characters), so no name can climb out of its folder, start a hidden file or
an option. Where a character was replaced, or the name was shortened to
:data:`MAX_STEM` bytes, a hash of the original text is appended, so two
different values never share a file.

Light on purpose: the registry imports it, and ``actviz list`` must start fast.
"""

from __future__ import annotations

import re

# A stem at most this many bytes (ASCII: characters). Names get a suffix (.png) and
# atomic writes a temporary name around it (.NAME.XXXXXXXX.tmp, 14 bytes more):
# both stay far inside the 255 bytes a file name may have.
MAX_STEM = 120
HASH_DIGITS = 10  # hex digits of sha256 that tell two shortened or replaced names apart

_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]")


def _digest(text: str) -> str:
    import hashlib  # here: its OpenSSL import is ~5 % of `actviz list`

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_DIGITS]


def safe_stem(text: str, limit: int = MAX_STEM) -> str:
    """``text`` as a file stem: unsafe characters as ``_``, not starting with ``.``
    or ``-``, at most ``limit`` bytes; changed text ends in ``-HASH`` of the original."""
    stem = _UNSAFE.sub("_", text)
    if stem[:1] in (".", "-", ""):
        stem = "_" + stem
    if stem != text:
        stem = f"{stem}-{_digest(text)}"
    return cap(stem, limit, original=text)


def cap(stem: str, limit: int = MAX_STEM, *, original: str | None = None) -> str:
    """``stem`` if it has at most ``limit`` bytes, else its start and ``-HASH`` of
    ``original`` (default: ``stem``) in ``limit`` bytes."""
    if len(stem.encode()) <= limit:
        return stem
    digest = _digest(stem if original is None else original)
    head = stem.encode()[: limit - len(digest) - 1].decode(errors="ignore")
    return f"{head}-{digest}"
