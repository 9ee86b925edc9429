"""``actviz plot --term``: the text itself, and what a person sees in a real terminal (tmux)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from actviz.cli import app
from actviz.params import specs_from_cli
from actviz.probing import Grid, Probe, ProbeOptions, probe_many
from actviz.terminal import (
    CURVE_COLORS,
    PANEL_WIDTH,
    nice_ticks,
    panel_grid,
    summary_line,
    terminal_plot,
    use_color,
    wrap_phrases,
)

runner = CliRunner()
ACTVIZ = str(Path(sys.executable).with_name("actviz"))
ANSI = re.compile(r"\x1b\[")


def _probes(*names: str, second: bool = False) -> list[Probe]:
    return probe_many(specs_from_cli(list(names), []), Grid(-8.0, 8.0), ProbeOptions(second=second))


def _row(lines: list[str], label: str) -> str:
    """The line whose y tick reads ``label`` (``  1┤…``)."""
    (line,) = [line for line in lines if re.search(rf"(?:^|[\s│]){re.escape(label)}┤", line)]
    return line


def _curve_columns(line: str, start: int, stop: int) -> list[int]:
    """Columns between start and stop holding a braille dot or the peak mark."""
    return [i for i in range(start, min(stop, len(line))) if "\u2801" <= line[i] <= "\u28ff"]


def _summary(lines: list[str], name: str) -> list[str]:
    """The summary of ``name`` under the plot, as printed (wrapped)."""
    start = next(k for k, line in enumerate(lines) if line.startswith(f"{name}: peak |f′| ="))
    end = next((k for k in range(start + 1, len(lines)) if not lines[k].startswith("  ")), None)
    return lines[start:end]


# --- reading colours back: SGR escapes → (character, foreground, background) cells ---

CSI = re.compile(r"\x1b\[([0-9;:?]*)([A-Za-z])|(\n)|(.)", re.DOTALL)
Cell = tuple[str, str | None, str | None]
BOX = "┌┐└┘─│┤├┬┴"


def _sgr(params: str, fg: str | None, bg: str | None) -> tuple[str | None, str | None, bool]:
    """Apply one SGR escape; also say whether it set a background colour."""
    codes = [int(c) if c else 0 for c in params.replace(":", ";").split(";")]
    painted, i = False, 0
    while i < len(codes):
        c = codes[i]
        if c == 0:
            fg = bg = None
        elif 30 <= c <= 37 or 90 <= c <= 97:
            fg = str(c - 30 if c < 90 else c - 82)
        elif c == 39:
            fg = None
        elif 40 <= c <= 47 or 100 <= c <= 107:
            bg, painted = str(c - 40 if c < 100 else c - 92), True
        elif c == 49:
            bg = None
        elif c in (38, 48) and i + 1 < len(codes):
            if codes[i + 1] == 5:
                colour = str(codes[i + 2])
                i += 2
            else:  # 2;r;g;b
                colour = "#" + "".join(f"{v:02x}" for v in codes[i + 2 : i + 5])
                i += 4
            if c == 38:
                fg = colour
            else:
                bg, painted = colour, True
        i += 1
    return fg, bg, painted


def _cells(text: str) -> tuple[list[list[Cell]], list[str]]:
    """The screen as rows of cells, and every escape that painted a background."""
    rows: list[list[Cell]] = [[]]
    fg: str | None = None
    bg: str | None = None
    painted: list[str] = []
    for found in CSI.finditer(text):
        params, final, newline, char = found.groups()
        if newline:
            rows.append([])
        elif char is not None:
            rows[-1].append((char, fg, bg))
        elif final == "m":
            fg, bg, paints = _sgr(params, fg, bg)
            if paints:
                painted.append(found.group(0))
    return rows, painted


def _plain(rows: list[list[Cell]]) -> list[str]:
    return ["".join(ch for ch, _, _ in row) for row in rows]


def _ink_problems(text: str) -> list[str]:
    """What a dark (or light) terminal would not show as meant: any background colour,
    or a colour on the frame, the y tick labels (left of ┤) or the x tick labels (the
    row under a bottom border)."""
    rows, painted = _cells(text)
    problems = [f"background escape {code!r}" for code in painted]
    problems += [f"background {bg} on {ch!r}" for row in rows for ch, _, bg in row if bg]
    lines = _plain(rows)
    for r, row in enumerate(rows):
        labels: list[int] = []
        for c in [c for c, (ch, _, _) in enumerate(row) if ch == "┤"]:
            start = c  # the y tick label: what stands left of ┤ up to a space or a frame
            while start > 0 and row[start - 1][0] not in " │┘└":
                start -= 1
            labels += range(start, c)
        if r > 0 and "└" in lines[r - 1] and "┬" in lines[r - 1]:
            labels += [c for c, (ch, _, _) in enumerate(row) if ch != " "]
        labels += [c for c, (ch, _, _) in enumerate(row) if ch in BOX]
        problems += [f"{row[c][0]!r} in colour {row[c][1]}" for c in labels if row[c][1]]
    return problems


def _braille(ch: str) -> bool:
    return "\u2801" <= ch <= "\u28ff"


# --- the panels: frames read back from the text ---------------------------------


def _boxes(lines: list[str]) -> list[tuple[int, int, int, int]]:
    """Every drawn frame (top row, left column, bottom row, right column) that holds no
    other: the panels, not the legend boxes inside them."""
    found = []
    for r, line in enumerate(lines):
        for c, ch in enumerate(line):
            if ch != "┌":
                continue
            right = c + 1
            while right < len(line) and line[right] in "─┬┴":
                right += 1
            if right == len(line) or line[right] != "┐":
                continue
            bottom = r + 1
            while bottom < len(lines) and lines[bottom][c : c + 1] in ("│", "┤", "├"):
                bottom += 1
            edge = lines[bottom][c : right + 1] if bottom < len(lines) else ""
            closed = len(edge) == right - c + 1 and edge[0] == "└" and edge[-1] == "┘"
            if closed and set(edge[1:-1]) <= set("─┬┴"):
                found.append((r, c, bottom, right))
    return [box for box in found if not any(o != box and _inside(box, o) for o in found)]


def _inside(box: tuple[int, int, int, int], other: tuple[int, int, int, int]) -> bool:
    return other[0] <= box[0] and other[1] <= box[1] and box[2] <= other[2] and box[3] <= other[3]


def _empty_panels(lines: list[str]) -> list[tuple[int, int, int, int]]:
    """The frames with nothing drawn inside."""
    return [
        (top, left, bottom, right)
        for top, left, bottom, right in _boxes(lines)
        if not "".join(line[left + 1 : right] for line in lines[top + 1 : bottom]).strip()
    ]


def test_width_is_respected_and_plain_text_has_no_escapes() -> None:
    for width in (60, 100, 143):
        text = terminal_plot(_probes("sigmoid"), width=width, height=20, color=False)
        assert max(len(line) for line in text.splitlines()) == width  # the summary wraps
        assert not ANSI.search(text)


def test_colour_adds_ansi_escapes() -> None:
    text = terminal_plot(_probes("sigmoid"), width=80, height=16, color=True)
    assert ANSI.search(text)


@pytest.mark.parametrize(
    ("names", "second", "width"),
    [(("relu",), False, 100), (("sigmoid", "tanh", "gelu"), False, 80), (("tanh",), True, 130)],
)
def test_colour_is_on_the_curves_only(names: tuple[str, ...], second: bool, width: int) -> None:
    """No background anywhere (plotext's own default paints colour 15 behind the plot);
    frame and tick labels in the terminal's own foreground; every curve coloured."""
    text = terminal_plot(_probes(*names, second=second), width=width, height=24, color=True,
                         second=second)  # fmt: skip
    assert _ink_problems(text) == []
    for code in ("48;5;15", "\x1b[47m", "\x1b[107m"):
        assert code not in text
    rows, _ = _cells(text)
    curve = [fg for row in rows for ch, fg, _ in row if _braille(ch) or ch == "◆"]
    assert curve and None not in curve


def _contrast(code: int, background: tuple[int, int, int]) -> float:
    """WCAG contrast ratio of xterm colour ``code`` (its 6×6×6 cube) on ``background``."""
    levels = (0, 95, 135, 175, 215, 255)
    index = code - 16
    rgb = (levels[index // 36], levels[index // 6 % 6], levels[index % 6])

    def luminance(colour: tuple[int, ...]) -> float:
        linear = [(v / 255 / 12.92) if v / 255 <= 0.04045 else ((v / 255 + 0.055) / 1.055) ** 2.4
                  for v in colour]  # fmt: skip
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(rgb), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_curve_colours_read_on_black_and_on_white() -> None:
    assert len(set(CURVE_COLORS)) == len(CURVE_COLORS)
    for code in CURVE_COLORS:
        assert 16 <= code <= 231  # the cube: the same RGB in every 256-colour terminal
        assert _contrast(code, (0, 0, 0)) >= 3 and _contrast(code, (255, 255, 255)) >= 3
    assert _contrast(231, (255, 255, 255)) < 3 and _contrast(16, (0, 0, 0)) < 3  # the check bites


def test_the_ink_check_catches_a_painted_plot() -> None:
    """plotext's default theme, as --term drew it before: white behind the plot."""
    import plotext  # type: ignore[import-untyped]

    figure = plotext.figure
    figure.clear()
    limits = list(plotext.terminal._limit)
    plotext.terminal.limit(False, False)
    try:
        figure.plot_size(60, 12)
        figure.draw(figure.signal([0, 1, 2], [0, 1, 4]))
        painted = figure.build().string(colorless=False)
    finally:
        figure.clear()
        plotext.terminal.limit(*limits)
    assert any("background" in problem for problem in _ink_problems(painted))
    assert _ink_problems("\x1b[47m x") and _ink_problems("\x1b[107mx")
    assert _ink_problems("\x1b[38;5;15m  1\x1b[0m┤")  # a coloured tick label
    assert _ink_problems("\x1b[38;5;33m0.5┤\x1b[0m")
    assert _ink_problems("\x1b[0m └──┬──┘\n\x1b[34m   -5\x1b[0m")  # a coloured x tick
    assert not _ink_problems("\x1b[38;5;47m⠁\x1b[39m")  # colour 47 as a foreground: fine


def _legend_colour(rows: list[list[Cell]], label: str) -> str | None:
    """The colour of the curve mark in front of ``label`` in the legend box."""
    lines = _plain(rows)
    (r, found), *_ = [
        (r, m) for r, line in enumerate(lines) if (m := re.search(rf"│ (\S) {label}\s*│", line))
    ]
    return rows[r][found.start(1)][1]


def _peak_problems(text: str, labels_by_peak: list[str]) -> list[str]:
    """Whether each ◆, from the top of the f′ panel down, has the colour that the
    legend gives its curve (``labels_by_peak``: the curves from highest peak |f′|)."""
    rows, _ = _cells(text)
    marks = [(r, fg) for r, row in enumerate(rows) for ch, fg, _ in row if ch == "◆"]
    if len(marks) != len(labels_by_peak):
        return [f"{len(marks)} peak marks for {len(labels_by_peak)} curves"]
    legend = {label: _legend_colour(rows, label) for label in labels_by_peak}
    problems = [] if len(set(legend.values())) == len(legend) else [f"legend colours {legend}"]
    for (_, fg), label in zip(sorted(marks), labels_by_peak, strict=True):
        if fg is None or fg != legend[label]:
            problems.append(f"{label}'s ◆ is in colour {fg}, its curve in {legend[label]}")
    return problems


def test_each_peak_mark_is_in_its_curves_colour() -> None:
    # tanh′ peaks at 1, sigmoid′ at 0.25 (both at x = 0): tanh's ◆ is the upper one
    text = terminal_plot(_probes("sigmoid", "tanh"), width=100, height=20, color=True)
    assert _peak_problems(text, ["tanh", "sigmoid"]) == []
    text = terminal_plot(_probes("tanh", "sigmoid"), width=100, height=20, color=True)
    assert _peak_problems(text, ["tanh", "sigmoid"]) == []
    # one curve alone: the ◆ and the braille of the f′ panel share one colour
    rows, _ = _cells(terminal_plot(_probes("relu"), width=100, height=20, color=True))
    colours = {fg for row in rows for ch, fg, _ in row if _braille(ch) or ch == "◆"}
    assert len(colours) == 1 and None not in colours


def test_the_peak_check_catches_a_mark_in_another_colour() -> None:
    text = terminal_plot(_probes("sigmoid", "tanh"), width=100, height=20, color=True)
    rows, _ = _cells(text)
    tanh, sigmoid = _legend_colour(rows, "tanh"), _legend_colour(rows, "sigmoid")
    swapped = re.sub(
        rf"\x1b\[38;5;({tanh}|{sigmoid})m◆",
        lambda m: f"\x1b[38;5;{sigmoid if m.group(1) == tanh else tanh}m◆",
        text,
    )
    assert swapped != text
    assert len(_peak_problems(swapped, ["tanh", "sigmoid"])) == 2
    assert _peak_problems(text, ["sigmoid", "tanh"])  # the marks in the wrong order


@settings(max_examples=60, deadline=None)
@given(width=st.integers(40, 200), second=st.booleans())
def test_panels_fill_every_row_of_the_grid(width: int, second: bool) -> None:
    panels = 3 if second else 2
    down, across = panel_grid(panels, width)
    assert down * across == panels  # no slot left over for an empty frame
    assert across == 1 or across * PANEL_WIDTH <= width
    text = terminal_plot(_probes("tanh", second=True), width=width, height=8 * down,
                         color=False, second=second)  # fmt: skip
    lines = text.splitlines()
    assert len(_boxes(lines)) == panels and _empty_panels(lines) == []
    assert len({top for top, *_ in _boxes(lines)}) == down


@pytest.mark.parametrize(("columns", "rows"), [(80, 3), (120, 1)])
def test_second_piped_has_no_empty_panel(columns: int, rows: int) -> None:
    """``COLUMNS=80 actviz plot tanh --term --second | cat``: three framed panels, each
    with a curve in it (3 in a column at 80, 3 across at 120), no fourth."""
    env = _env(COLUMNS=str(columns))
    done = subprocess.run([ACTVIZ, "plot", "tanh", "--term", "--second"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert not ANSI.search(done.stdout)
    assert max(len(line) for line in lines) <= columns
    boxes = _boxes(lines)
    assert len(boxes) == 3 and _empty_panels(lines) == []
    assert len({top for top, *_ in boxes}) == rows
    for top, left, bottom, right in boxes:
        inside = "".join(line[left + 1 : right] for line in lines[top + 1 : bottom])
        assert any(_braille(ch) for ch in inside)
    titles = " ".join(lines)
    assert all(what in titles for what in ("tanh: f(x)", "f′(x)", "f″(x)"))


def test_the_empty_panel_check_catches_a_two_by_two_grid_of_three() -> None:
    """What ``--second`` drew at 80 columns before: a 2 × 2 grid with 3 panels."""
    import plotext

    figure = plotext.figure
    figure.clear()
    limits = list(plotext.terminal._limit)
    plotext.terminal.limit(False, False)
    try:
        figure.subplots(2, 2)
        figure.plot_size(80, 30)
        for row, col in [(1, 1), (1, 2), (2, 1)]:
            panel = figure.subplot(row, col)
            panel.draw(panel.signal([0, 1, 2], [0, 1, 4], marker="braille").lines())
        text = figure.build().string(colorless=True)
    finally:
        figure.clear()
        plotext.terminal.limit(*limits)
    lines = text.splitlines()
    assert len(_boxes(lines)) == 4
    ((top, left, _, _),) = _empty_panels(lines)
    assert top > 5 and left > 30  # the bottom right one


def test_the_summary_under_the_plot_is_wrapped_between_phrases() -> None:
    probes = _probes("sigmoid", "relu")
    lines = terminal_plot(probes, width=60, height=16, color=False).splitlines()
    from actviz.saturation import analyze

    for p in probes:
        wrapped = wrap_phrases(summary_line(p, analyze(p)), 60)
        assert len(wrapped) > 1 and _summary(lines, p.label) == wrapped
    assert max(len(line) for line in lines) == 60


def test_sigmoid_extremes_sit_on_the_right_rows() -> None:
    text = terminal_plot(_probes("sigmoid"), width=100, height=20, color=False)
    lines = text.splitlines()
    assert "sigmoid: f(x)" in lines[0] and "f′(x)" in lines[0]
    top, bottom = _row(lines, "1"), _row(lines, "0")
    frame = top.index("┤")
    middle = frame + (top.index("│", frame) - frame) // 2
    # f → 1 on the right, → 0 on the left: the curve is on those rows at those ends
    assert _curve_columns(top, middle, top.index("│", frame))
    assert not _curve_columns(top, frame, middle - 5)
    assert _curve_columns(bottom, frame, middle)
    # f′ peaks at 0.25 at x = 0, marked ◆ in the middle of the right-hand panel
    peak = _row(lines, "0.25")
    left, right = peak.rindex("┤"), peak.rindex("│")
    assert abs(peak.index("◆") - (left + right) / 2) <= 2
    assert _summary(lines, "sigmoid")[0].startswith("sigmoid: peak |f′| = 0.25 at x = 0;")


def test_narrow_terminal_stacks_the_panels_and_too_narrow_is_refused() -> None:
    lines = terminal_plot(_probes("tanh"), width=60, height=30, color=False).splitlines()
    titles = [i for i, line in enumerate(lines) if line.strip() in ("tanh: f(x)", "f′(x)")]
    assert len(titles) == 2 and titles[1] > titles[0] + 5
    from actviz.errors import UsageError

    with pytest.raises(UsageError, match="30 columns wide; terminal_plot needs at least 40"):
        terminal_plot(_probes("tanh"), width=30)


def test_plain_curves_get_their_own_markers_and_a_legend() -> None:
    text = terminal_plot(_probes("relu", "tanh"), width=100, height=20, color=False)
    assert "relu" in text and "• tanh" in text
    assert _summary(text.splitlines(), "relu")[0].startswith("relu: peak |f′| = 1 on ")
    assert _summary(text.splitlines(), "tanh")


def test_use_color_follows_no_color_and_the_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(Tty()) is True
    assert use_color(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(Tty()) is False


def test_nice_ticks() -> None:
    assert nice_ticks(0.0003, 0.9997, 5) == [0, 0.2, 0.4, 0.6, 0.8, 1]
    assert nice_ticks(-8, 7.9, 4) == [-10, -5, 0, 5, 10]
    assert nice_ticks(0, 0.25, 5) == [0, 0.05, 0.1, 0.15, 0.2, 0.25]


def test_cli_term_prints_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "90")
    done = runner.invoke(app, ["plot", "sigmoid", "--term"])
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert max(len(line) for line in lines) == 90
    assert not ANSI.search(done.output)  # CliRunner's stdout is not a terminal
    assert _summary(lines, "sigmoid")[0].startswith("sigmoid: peak |f′| = 0.25")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["sigmoid", "--term", "--out", "x.png"],
            "Error: --out sets image files; --term draws in the terminal",
        ),
        (
            ["sigmoid", "--term", "--dpi", "300", "--theme", "dark"],
            "Error: --dpi, --theme set image files; --term draws in the terminal",
        ),
        (["glu", "--term"], "Error: glu is drawn as heatmaps; --term draws curves of f(x)"),
    ],
)
def test_cli_term_refuses_file_options(args: list[str], message: str) -> None:
    done = runner.invoke(app, ["plot", *args])
    assert done.exit_code == 2
    assert done.output.strip().splitlines() == [message]


# --- a real terminal -----------------------------------------------------------


class Tmux:
    """A tmux server of our own (its own socket), one pane of a known size."""

    def __init__(self, tmp: Path, width: int, height: int) -> None:
        self.socket = str(tmp / f"tmux-{width}x{height}-{len(list(tmp.iterdir()))}.sock")
        self.width, self.height = width, height

    def __call__(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-u", "-f", "/dev/null", "-S", self.socket, *args],
                              capture_output=True, text=True, check=True)  # fmt: skip
        return done.stdout

    def run(self, command: str, env: dict[str, str], style: str | None = None) -> str:
        """Run ``command`` in a shell in the pane as a person would; return the screen.
        ``style``: the pane's own colours (tmux window-style), e.g. a dark palette."""
        self("new-session", "-d", "-x", str(self.width), "-y", str(self.height), "sh")
        if style is not None:
            self("set", "-g", "window-style", style)
            assert self("show", "-gv", "window-style").strip() == style
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        # env -i: only what we pass; COLUMNS from the test process would override the pane
        self("send-keys", f"clear; env -i {exports} {command}; echo DONE-$?", "Enter")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            screen = self("capture-pane", "-p")
            if re.search(r"^DONE-\d+$", screen, re.MULTILINE):  # not the typed "DONE-$?"
                return screen
            time.sleep(0.3)
        raise AssertionError(f"the command did not finish:\n{screen}")

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, check=False)


@pytest.fixture
def tmux(tmp_path: Path) -> object:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (make pytest installs it best-effort as root)")
    made: list[Tmux] = []

    def make(width: int, height: int) -> Tmux:
        made.append(Tmux(tmp_path, width, height))
        return made[-1]

    yield make
    for session in made:
        session.close()


def _env(**extra: str) -> dict[str, str]:
    keep = {"PATH", "PYTHONPATH", "HOME", "MPLBACKEND"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    return {**env, "LANG": "C.UTF-8", "TERM": "xterm-256color", **extra}


def test_tmux_pane_shows_axes_and_extremes(tmux: object) -> None:
    pane = tmux(110, 40)  # type: ignore[operator]
    screen = pane.run(f"{ACTVIZ} plot sigmoid --term", _env())
    lines = [line for line in screen.splitlines() if line.strip()]
    assert "DONE-0" in screen
    assert any("sigmoid: f(x)" in line and "f′(x)" in line for line in lines)
    assert max(len(line) for line in lines) <= 110
    top, bottom = _row(lines, "1"), _row(lines, "0")
    frame, end = top.index("┤"), top.index("│", top.index("┤"))
    middle = (frame + end) // 2
    assert _curve_columns(top, middle, end) and not _curve_columns(top, frame, middle - 5)
    assert _curve_columns(bottom, frame, middle)
    ticks = [line for line in lines if re.search(r"-5\s+0\s+5", line)]
    assert len(ticks) == 1  # both panels' x ticks on one line
    x_labels = [line for line in lines if re.fullmatch(r"\s*x\s+x\s*", line)]
    assert len(x_labels) == 1
    peak = _row(lines, "0.25")
    assert "◆" in peak
    assert any(line.startswith("sigmoid: peak |f′| = 0.25 at x = 0") for line in lines)


@pytest.mark.slow
def test_tmux_pane_colour_and_no_color(tmux: object) -> None:
    pane = tmux(100, 40)  # type: ignore[operator]
    pane.run(f"{ACTVIZ} plot tanh --term", _env())
    coloured = pane("capture-pane", "-p", "-e")
    assert re.search(r"\x1b\[[0-9;]*3[0-9;]*m", coloured)  # a foreground colour on screen
    pane = tmux(100, 41)  # type: ignore[operator]
    pane.run(f"{ACTVIZ} plot tanh --term", _env(NO_COLOR="1"))
    plain = pane("capture-pane", "-p", "-e")
    assert "tanh: f(x)" in plain
    assert not re.search(r"\x1b\[[0-9;]*m", plain.replace("\x1b[0m", "")), plain[:400]


def test_tmux_dark_pane_gets_no_background_and_default_ticks(tmux: object) -> None:
    """In a pane with white text on black, relu --term (colour on: the pane is a
    TTY) paints no background, leaves the ticks and frame in the pane's foreground,
    and draws the ◆ in the colour of the f′ curve."""
    pane = tmux(100, 40)  # type: ignore[operator]
    screen = pane.run(f"{ACTVIZ} plot relu --term", _env(), style="bg=black,fg=white")
    assert "DONE-0" in screen
    shown = pane("capture-pane", "-p", "-e")
    for code in ("48;5;15", "\x1b[47m", "\x1b[107m"):
        assert code not in shown
    assert _ink_problems(shown) == []
    rows, _ = _cells(shown)
    lines = _plain(rows)
    assert any(re.search(r"0\.5┤|0\.4┤", line) for line in lines)  # tick labels were read
    curves = {fg for row in rows for ch, fg, _ in row if _braille(ch)}
    peaks = [fg for row in rows for ch, fg, _ in row if ch == "◆"]
    assert len(curves) == 1 and None not in curves  # colour is on
    assert peaks == list(curves)
    assert any(line.startswith("relu: peak |f′| = 1") and "; dead for x ≤ 0;" in line
               for line in lines)  # fmt: skip


def test_tmux_narrow_pane_stacks_panels(tmux: object) -> None:
    pane = tmux(64, 60)  # type: ignore[operator]
    screen = pane.run(f"{ACTVIZ} plot relu --term", _env())
    lines = screen.splitlines()
    assert max(len(line) for line in lines) <= 64
    value = next(i for i, line in enumerate(lines) if line.strip() == "relu: f(x)")
    grad = next(i for i, line in enumerate(lines) if line.strip() == "f′(x)")
    assert grad > value + 5


def test_plotext_global_state_is_left_as_found() -> None:
    import plotext

    plotext.terminal.limit(True, False)  # a notebook's own setting
    terminal_plot(_probes("relu"), width=80, height=16, color=False)
    assert list(plotext.terminal._limit) == [True, False]
    left = plotext.figure.build().string(colorless=True)
    assert not _curve_columns(left.replace("\n", ""), 0, len(left))  # no curves left over
    plotext.terminal.limit(True, True)


def test_term_draws_a_sweep_with_a_summary_per_value() -> None:
    from actviz.params import sweep
    from actviz.probing import Grid
    from actviz.terminal import plot_names

    slopes = sweep("leaky_relu", {"negative_slope": [0.1, 0.5]})
    lines = plot_names(slopes, Grid(-2, 2)).splitlines()
    firsts = [line for line in lines if re.match(r"\S+: peak", line)]  # summaries may wrap
    assert [line.split(":")[0] for line in firsts] == [
        "leaky_relu(negative_slope=0.1)",
        "leaky_relu(negative_slope=0.5)",
    ]


# --- what a terminal can show caps what is drawn (issue 19) ---------------------


def test_a_million_points_reach_plotext_as_what_the_columns_can_show(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from actviz import terminal

    (probe,) = probe_many(specs_from_cli(["gelu"], []), Grid(-8.0, 8.0, points=1_000_000))
    handed: list[int] = []
    finite = terminal._finite

    def spy(x: object, values: object, most: int) -> tuple[list[float], list[float]]:
        xs, ys = finite(x, values, most)
        handed.append(len(xs))
        return xs, ys

    monkeypatch.setattr(terminal, "_finite", spy)
    text = terminal_plot([probe], width=80, height=24, color=False)
    assert handed == [320, 320]  # 80 columns × 8 points ÷ 2 panels, per panel
    assert "gelu: peak |f′| =" in text


def test_resampling_keeps_each_runs_lowest_and_highest_value() -> None:
    import numpy as np

    from actviz.terminal import _finite

    x = np.linspace(-1.0, 1.0, 100_001)
    values = np.sin(40 * x)
    values[777] = 5.0  # one spike: a stride would skip it
    xs, ys = _finite(x, values, 200)
    assert (len(xs), len(ys)) == (200, 200)
    assert xs == sorted(xs)
    assert (max(ys), min(ys)) == (5.0, float(values.min()))
    assert _finite(x[:150], values[:150], 200) == (x[:150].tolist(), values[:150].tolist())


def test_a_huge_terminal_is_drawn_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    from actviz import terminal

    monkeypatch.setattr(terminal, "terminal_size", lambda: (1_000_000, 1_000_000))
    lines = terminal_plot(_probes("relu"), color=False).splitlines()
    assert max(len(line) for line in lines) == terminal.MAX_COLUMNS == 1_000


def test_columns_of_a_million_draw_the_plot() -> None:
    result = runner.invoke(app, ["plot", "relu", "--term"], env={"CI": "1", "COLUMNS": "1000000"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) == 1_000


@pytest.mark.parametrize(
    ("size", "line"),
    [
        ({"width": 1_001}, "width must be at most 1,000 (got 1,001)"),
        ({"height": 501}, "height must be at most 500 (got 501)"),
    ],
)
def test_a_width_or_height_above_the_cap_is_refused(size: dict[str, int], line: str) -> None:
    from actviz.errors import UsageError

    with pytest.raises(UsageError) as caught:
        terminal_plot(_probes("relu"), color=False, **size)  # type: ignore[arg-type]
    assert str(caught.value) == line


def test_a_width_and_height_at_the_cap_are_drawn() -> None:
    lines = terminal_plot(_probes("relu"), width=1_000, height=500, color=False).splitlines()
    assert max(len(line) for line in lines) == 1_000
