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
from typer.testing import CliRunner

from actviz.cli import app
from actviz.params import specs_from_cli
from actviz.probing import Grid, Probe, ProbeOptions, probe_many
from actviz.terminal import nice_ticks, terminal_plot, use_color

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


def test_width_is_respected_and_plain_text_has_no_escapes() -> None:
    for width in (60, 100, 143):
        text = terminal_plot(_probes("sigmoid"), width=width, height=20, color=False)
        plot = text.splitlines()[:-1]  # the summary line may be longer
        assert max(len(line) for line in plot) == width
        assert not ANSI.search(text)


def test_colour_adds_ansi_escapes() -> None:
    text = terminal_plot(_probes("sigmoid"), width=80, height=16, color=True)
    assert ANSI.search(text)


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
    assert lines[-1].startswith("sigmoid: peak |f′| = 0.25 at x = 0; saturated for x ≤ -6")


def test_narrow_terminal_stacks_the_panels_and_too_narrow_is_refused() -> None:
    lines = terminal_plot(_probes("tanh"), width=60, height=30, color=False).splitlines()
    titles = [i for i, line in enumerate(lines) if line.strip() in ("tanh: f(x)", "f′(x)")]
    assert len(titles) == 2 and titles[1] > titles[0] + 5
    from actviz.errors import UsageError

    with pytest.raises(UsageError, match="30 columns wide; --term needs at least 40"):
        terminal_plot(_probes("tanh"), width=30)


def test_plain_curves_get_their_own_markers_and_a_legend() -> None:
    text = terminal_plot(_probes("relu", "tanh"), width=100, height=20, color=False)
    assert "relu" in text and "• tanh" in text
    assert text.splitlines()[-2].startswith("relu: peak |f′| = 1 on [0.1,")


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
    assert max(len(line) for line in lines[:-1]) == 90
    assert not ANSI.search(done.output)  # CliRunner's stdout is not a terminal
    assert lines[-1].startswith("sigmoid: peak |f′| = 0.25")
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

    def run(self, command: str, env: dict[str, str]) -> str:
        """Run ``command`` in a shell in the pane as a person would; return the screen."""
        self("new-session", "-d", "-x", str(self.width), "-y", str(self.height), "sh")
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


def test_tmux_narrow_pane_stacks_panels(tmux: object) -> None:
    pane = tmux(64, 60)  # type: ignore[operator]
    screen = pane.run(f"{ACTVIZ} plot relu --term", _env())
    lines = screen.splitlines()
    assert max(len(line) for line in lines) <= 64
    value = next(i for i, line in enumerate(lines) if line.strip() == "relu: f(x)")
    grad = next(i for i, line in enumerate(lines) if line.strip() == "f′(x)")
    assert grad > value + 5


def test_plotext_global_state_is_left_as_found() -> None:
    import plotext  # type: ignore[import-untyped]

    plotext.terminal.limit(True, False)  # a notebook's own setting
    terminal_plot(_probes("relu"), width=80, height=16, color=False)
    assert list(plotext.terminal._limit) == [True, False]
    left = plotext.figure.build().string(colorless=True)
    assert not _curve_columns(left.replace("\n", ""), 0, len(left))  # no curves left over
    plotext.terminal.limit(True, True)


def test_term_draws_a_sweep_with_a_summary_per_value() -> None:
    from actviz.probing import ProbeRequest
    from actviz.terminal import plot_names

    request = ProbeRequest(("leaky_relu",), sweeps=("negative_slope=0.1,0.5",), start=-2, stop=2)
    lines = plot_names(request).splitlines()
    assert [line.split(":")[0] for line in lines[-2:]] == [
        "leaky_relu(negative_slope=0.1)",
        "leaky_relu(negative_slope=0.5)",
    ]
