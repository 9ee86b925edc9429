"""The explorer as one self-contained HTML page: torch's numbers packed into the
page, drawn by explore.js on canvases (no library, nothing fetched).

The numbers travel as one gzip-compressed, base64 block: a JSON manifest (the
activations, their sliders, per curve where its arrays start, its regime
shading, underflow edges and summary in words), then every sample as float32
(exact: float32, bfloat16 and float16 values are all float32 values), byte
planes apart so that gzip finds the repeats, then one regime code per sample.
The browser inflates it with its own DecompressionStream.

Numbers the page prints are formatted as actviz prints them: the summaries
in Python (actviz.display), and hover and tick labels by explore.js's port of
``display.number``, ``display.coord`` and ``plotting.format_ticks``, which
tests/test_explore_browser.py holds to the Python functions on many values.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import struct
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actviz.atomic import check_target, write_bytes_atomically
from actviz.errors import OutputError, UnknownFormatError, UsageError, arg
from actviz.explore.data import VIEW, Curve, ExploredActivation, Plan
from actviz.explore.shown import REGIME_CODES
from actviz.registry import format_value

if TYPE_CHECKING:
    import numpy as np

    from actviz.environment import Environment

THEMES = ("auto", "light", "dark")  # auto: the reader's prefers-color-scheme
FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class Explorer:
    """Every activation's curves at every slider position and dtype, ready to be a page.

    ``html()`` is the whole page; ``write(path)`` saves it; in a notebook the
    object shows itself inline (``_repr_html_``: the page's body, which scopes its
    styles and finds its elements under its own root, so that two explorers and
    other outputs do not clash).
    """

    activations: tuple[ExploredActivation, ...]
    plan: Plan
    environment: Environment
    theme: str = "auto"

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.activations]

    def __getitem__(self, name: str) -> ExploredActivation:
        for entry in self.activations:
            if name in (entry.name, entry.label):
                return entry
        raise UsageError(f"{name!r} is not in this explorer; it has {', '.join(self.names)}")

    def __repr__(self) -> str:
        curves = sum(len(a.curves) for a in self.activations)
        return (
            f"Explorer({', '.join(self.names)}; {curves} curves in "
            f"{', '.join(self.plan.dtypes)} on [{self.plan.start:g}, {self.plan.stop:g}])"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # IPython's and hypothesis' printers: not every field

    def payload(self) -> bytes:
        """The numbers as the page carries them (gzip; see the module's docstring)."""
        return _payload(self)

    def fragment(self) -> str:
        """The explorer as a block of HTML (styles, data and script inside it)."""
        data = base64.b64encode(self.payload()).decode("ascii")
        return _asset("template.html").format(
            theme=html.escape(self.theme),
            css=_asset("explore.css"),
            js=_asset("explore.js"),
            data=data,
            count=len(self.activations),
            route=html.escape(self.environment.line()),
        )

    def html(self) -> str:
        """The whole page: a document around :meth:`fragment`."""
        title = f"actviz explore: {', '.join(self.names)}"
        if len(self.activations) > 4:
            title = f"actviz explore: {len(self.activations)} activations"
        return (
            '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n"
            "<style>html, body { margin: 0; padding: 0; }</style>\n</head>\n<body>\n"
            f"{self.fragment()}\n</body>\n</html>\n"
        )

    def _repr_html_(self) -> str:
        return self.fragment()

    def write(self, path: str | Path, *, follow_links: bool = True) -> Path:
        """Write :meth:`html` to ``path`` (atomically) and return it. A symlink there is
        written through to its target, as for any file you name (``follow_links=False``:
        the link itself is replaced, for a name actviz chose); a device or a fifo is
        refused (actviz.atomic)."""
        html_path(path, "path", follow_links=follow_links)
        folder = Path(path).parent  # the link's own folder: where it points is not ours
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"cannot create {folder}: {error.strerror}") from None
        return write_bytes_atomically(path, self.html().encode(), follow_links=follow_links)


def html_path(path: object, parameter: str, *, follow_links: bool = True) -> Path:
    """Where the HTML file ``path`` is written (a link followed where ``follow_links``),
    or an error naming ``parameter``: not an .html name, a device, a fifo, a folder."""
    if not isinstance(path, (str, Path)) or not str(path):
        raise UsageError(
            f"{arg(parameter)} must be a file name such as explore.html (got {path!r})"
        )
    target = Path(path)
    if target.suffix.lower() not in (".html", ".htm"):
        raise UnknownFormatError(
            f"{arg(parameter)}: the explorer is an HTML page; name it .html (got {str(path)!r})"
        )
    return check_target(target, follow_links=follow_links)


def _asset(name: str) -> str:
    return resources.files("actviz.explore").joinpath(name).read_text(encoding="utf-8")


def check_theme(theme: object) -> str:
    if theme not in THEMES:
        raise UnknownFormatError(f"theme must be one of {', '.join(THEMES)} (got {theme!r})")
    return str(theme)


# --- the payload -----------------------------------------------------------------


class _Packer:
    """Collects float32 arrays and regime codes; hands out their offsets."""

    def __init__(self) -> None:
        self.floats: list[np.ndarray] = []
        self.codes: list[np.ndarray] = []
        self.float_count = 0
        self.code_count = 0

    def add(self, values: np.ndarray) -> int:
        import numpy as np

        at = self.float_count
        self.floats.append(np.asarray(values, dtype="<f4"))
        self.float_count += len(values)
        return at

    def add_codes(self, codes: np.ndarray) -> int:
        at = self.code_count
        self.codes.append(codes)
        self.code_count += len(codes)
        return at

    def blob(self) -> bytes:
        import numpy as np

        floats = np.concatenate(self.floats) if self.floats else np.zeros(0, "<f4")
        planes = floats.view(np.uint8).reshape(-1, 4).T.copy()  # byte 0 of each, then 1, ...
        codes = np.concatenate(self.codes) if self.codes else np.zeros(0, np.uint8)
        return planes.tobytes() + codes.astype(np.uint8).tobytes()


def _payload(explorer: Explorer) -> bytes:
    packer = _Packer()
    manifest = _manifest(explorer, packer)
    manifest["floats"], manifest["codes"] = packer.float_count, packer.code_count
    text = json.dumps(manifest, allow_nan=False, separators=(",", ":")).encode()
    head = struct.pack("<I", len(text)) + text
    # mtime 0: the same numbers give the same bytes
    return gzip.compress(head + packer.blob(), compresslevel=9, mtime=0)


def _manifest(explorer: Explorer, packer: _Packer) -> dict[str, Any]:
    from actviz.plotting import REGIME_STYLE

    plan = explorer.plan
    view = list(VIEW) if plan.start <= VIEW[0] and VIEW[1] <= plan.stop else [plan.start, plan.stop]
    return {
        "version": FORMAT_VERSION,
        "range": [plan.start, plan.stop],
        "view": view,
        "dtypes": list(plan.dtypes),
        "route": explorer.environment.line(),
        "regimeCodes": list(REGIME_CODES),
        "regimeStyle": {
            theme: {r: [_css_colour(c), name, alpha] for r, (c, name, alpha) in styles.items()}
            for theme, styles in REGIME_STYLE.items()
        },
        # matplotlib's cycle, as the PNGs: the page gives the k-th curve drawn the k-th colour
        "palette": _colours(10),
        "activations": [_activation(entry, packer) for entry in explorer.activations],
    }


def _colours(count: int) -> list[str]:
    from matplotlib.colors import to_hex

    from actviz.plotting import curve_colors

    return [to_hex(c) for c in curve_colors(count)]


def _css_colour(colour: str) -> str:
    from matplotlib.colors import to_hex

    return str(to_hex(colour))


def _activation(entry: ExploredActivation, packer: _Packer) -> dict[str, Any]:
    act = entry.activation
    return {
        "name": act.name,
        "label": entry.label,
        "formula": act.formula,
        "derivative": act.derivative_text(),
        "piecewiseLinear": act.piecewise_linear,
        "notes": act.notes,
        "sliders": [
            {
                "name": s.name,
                "values": [format_value(v) for v in s.values],
                "start": s.start,
            }
            for s in entry.sliders
        ],
        "curves": {
            f"{','.join(map(str, position))}|{dtype}": _curve(entry, curve, packer)
            for (position, dtype), curve in entry.curves.items()
        },
    }


def _curve(entry: ExploredActivation, curve: Curve, packer: _Packer) -> dict[str, Any]:
    found: dict[str, Any] = {
        "label": _label(entry, curve),
        "dtype": curve.dtype,
        "refused": curve.refused,
    }
    probe, shown = curve.probe, curve.shown
    if probe is None or shown is None:
        return found
    found.update(shown.description)
    found.update(
        {
            "x": packer.add(probe.x),
            "y": packer.add(probe.y),
            "g": packer.add(probe.grad),
            "g2": packer.add(probe.grad2) if shown.smooth and probe.grad2 is not None else None,
            "r": packer.add_codes(shown.codes),
        }
    )
    return found


def _label(entry: ExploredActivation, curve: Curve) -> str:
    shown = [f"{s.name}={format_value(curve.params[s.name])}" for s in entry.sliders]
    return f"{entry.label}({', '.join(shown)})" if shown else entry.label
