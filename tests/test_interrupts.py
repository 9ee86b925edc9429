"""Ctrl-C and SIGTERM, as real processes: one line, the documented exit code, nothing left behind.

Each test starts ``python -m actviz`` in a session of its own with its output
on pipes (as ``actviz export | tee`` would), signals it, and checks the exit
code, stderr, that every process of the session is gone and that the pipes
closed (a surviving worker would hold them open).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from actviz.export import export
from actviz.params import specs_from_cli
from actviz.probing import Grid

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["celu", "elu", "gelu", "relu", "sigmoid", "silu", "softplus", "tanh"]
# seconds: far below "indefinitely", and generous: under three test suites at once on
# 2 cores, stopping the workers once took more than 30 s (never alone, nor under 3
# CPU burners in 10 runs: 8–16 s for the whole test).
CLOSE_WITHIN = 60.0


_DRIVER = """\
import os, signal, sys
{hook}
from actviz.cli import main
sys.argv[0] = "actviz"
main()
"""


class Running:
    """``python -m actviz ARGS`` in a new session, its stdout read line by line."""

    def __init__(self, args: list[str], cwd: Path, hook: str | None = None) -> None:
        env = {**os.environ, "CI": "true", "MPLBACKEND": "Agg"}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        # hook: Python run first, in the parent and (forked) in its workers; then actviz.
        command = ["-m", "actviz"] if hook is None else ["-c", _DRIVER.format(hook=hook)]
        self.process = subprocess.Popen(
            [sys.executable, *command, *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: the "terminal" we signal
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)  # EOF: every holder of the pipe has closed it

    def wait_for_line(self, prefix: str, timeout: float = 240.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"stdout closed before a {prefix!r} line"
            if line.startswith(prefix):
                return line

    def signal(self, signum: int, *, group: bool) -> None:
        if group:  # what a terminal does with Ctrl-C
            os.killpg(self.process.pid, signum)
        else:  # what `kill PID`, a CI runner or a supervisor does
            os.kill(self.process.pid, signum)

    def finish(self) -> tuple[int, str, list[str]]:
        """Exit code, stderr, and the stdout lines after the signal; asserts the pipes close."""
        try:
            return self._finish()
        except BaseException:
            with contextlib.suppress(OSError):  # a failed test leaves no process behind
                os.killpg(self.process.pid, signal.SIGKILL)
            raise

    def _finish(self) -> tuple[int, str, list[str]]:
        rest: list[str] = []
        deadline = time.monotonic() + CLOSE_WITHIN
        while (line := self.lines.get(timeout=max(0.1, deadline - time.monotonic()))) is not None:
            rest.append(line)
        code = self.process.wait(timeout=CLOSE_WITHIN)
        assert self.process.stderr is not None
        stderr = self.process.stderr.read()
        # Workers die by themselves (a signal from the kernel when the parent goes):
        # on a loaded machine that takes a moment, so allow it CLOSE_WITHIN seconds.
        while _session(self.process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _session(self.process.pid) == [], "a process of the export outlived it"
        return code, stderr, rest


def _session(sid: int) -> list[int]:
    """Live processes (not zombies) of session ``sid``."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid and fields[0] != "Z":  # state, ppid, pgrp, session
            alive.append(int(entry.name))
    return alive


def _written(lines: list[str]) -> list[str]:
    return [Path(line.split(maxsplit=1)[1].strip()).name for line in lines
            if line.startswith("written")]  # fmt: skip


def _assert_only_complete_files(out: Path) -> None:
    for path in out.iterdir():
        assert not path.name.startswith("."), f"left behind: {path.name}"
        data = path.read_bytes()
        if path.suffix == ".png":
            assert data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82"), path
        elif path.suffix == ".svg":
            assert data.rstrip().endswith(b"</svg>"), path


pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="signals and /proc: Linux")


@pytest.mark.parametrize(
    ("signum", "group", "code", "reason"),
    [
        (signal.SIGTERM, False, 143, "terminated"),  # kill PID, with `| tee` reading
        (signal.SIGINT, True, 130, "interrupted"),  # Ctrl-C: the whole group, workers too
    ],
)
def test_export_stops_its_workers_and_closes_the_pipe(
    tmp_path: Path, signum: int, group: bool, code: int, reason: str
) -> None:
    out = tmp_path / "out"
    run = Running(["export", *NAMES, "--jobs", "2", "--dpi", "50", "--out", str(out)], tmp_path)
    first = run.wait_for_line("written")
    run.signal(signum, group=group)
    exit_code, stderr, rest = run.finish()
    written = _written([first, *rest])
    assert exit_code == code
    assert stderr == (
        f"Error: export stopped ({reason}); files written before it stopped: {', '.join(written)}\n"
    )
    # A fresh folder gets no manifest from a stopped export; the images are whole.
    assert sorted(p.name for p in out.iterdir()) == sorted(written)
    _assert_only_complete_files(out)


def test_ctrl_c_while_the_workers_start_prints_one_line(tmp_path: Path) -> None:
    run = Running(["export", *NAMES, "--jobs", "2", "--out", str(tmp_path / "out")], tmp_path)
    time.sleep(1.0)  # the workers exist and are importing torch
    run.signal(signal.SIGINT, group=True)
    exit_code, stderr, _ = run.finish()
    assert (exit_code, stderr) == (
        130,
        "Error: export stopped (interrupted); files written before it stopped: none\n",
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "signum", "code", "line"),
    [
        (["plot", "relu"], signal.SIGINT, 130, "Error: interrupted\n"),
        (["table", "tanh"], signal.SIGINT, 130, "Error: interrupted\n"),
        (["check", "--all"], signal.SIGINT, 130, "Error: interrupted\n"),
        (["saturation", "--all"], signal.SIGTERM, 143, "Error: terminated\n"),
    ],
)
def test_every_command_follows_the_same_rule(
    tmp_path: Path, args: list[str], signum: int, code: int, line: str
) -> None:
    run = Running(args, tmp_path)
    time.sleep(1.0)  # past start-up, while torch is imported or the work runs
    run.signal(signum, group=True)
    exit_code, stderr, _ = run.finish()
    assert (exit_code, stderr) == (code, line)
    assert not (tmp_path / "outputs").exists()


def test_interrupted_reexport_leaves_a_manifest_that_matches_the_images(tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(specs_from_cli(NAMES), out, grid=Grid(-8, 8, points=201), dpi=40, jobs=1)
    run = Running(["export", *NAMES, "--points", "201", "--dpi", "45", "--jobs", "1",
                   "--out", str(out)], tmp_path)  # fmt: skip
    run.wait_for_line("written")
    run.signal(signal.SIGINT, group=True)
    exit_code, stderr, _ = run.finish()
    assert exit_code == 130 and stderr.startswith("Error: export stopped (interrupted); ")
    files = json.loads((out / "manifest.json").read_text())["files"]
    images = {p.name for p in out.iterdir() if p.suffix == ".png"}
    assert set(files) == images and len(images) == len(NAMES)
    for name, entry in files.items():
        assert entry["sha256"] == hashlib.sha256((out / name).read_bytes()).hexdigest(), name
    dpis = {entry["dpi"] for entry in files.values()}
    assert 45 in dpis  # what it had rewritten is described as rewritten
    _assert_only_complete_files(out)


def test_a_second_export_into_a_busy_folder_fails_at_once(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from actviz.cli import app

    out = tmp_path / "out"
    first = Running(["export", *NAMES, "--dpi", "40", "--jobs", "1", "--out", str(out)], tmp_path)
    first.wait_for_line("written")
    second = CliRunner().invoke(app, ["export", "relu", "--dpi", "60", "--out", str(out)])
    assert (second.exit_code, second.stderr) == (
        1,
        f"Error: another actviz export is writing to {out}; wait for it to finish or choose "
        "another --out\n",
    )
    exit_code, stderr, rest = first.finish()
    assert (exit_code, stderr) == (0, "")
    assert rest[-1].startswith(f"{len(NAMES) + 2} files written, 0 unchanged in ")
    files = json.loads((out / "manifest.json").read_text())["files"]
    assert {entry["dpi"] for entry in files.values()} == {40}
    for name, entry in files.items():
        assert entry["sha256"] == hashlib.sha256((out / name).read_bytes()).hexdigest(), name
    _assert_only_complete_files(out)


def test_workers_die_with_a_killed_parent(tmp_path: Path) -> None:
    run = Running(["export", *NAMES, "--jobs", "2", "--out", str(tmp_path / "out")], tmp_path)
    run.wait_for_line("written")
    run.signal(signal.SIGKILL, group=False)  # no handler runs: the workers must go by themselves
    exit_code, _, _ = run.finish()
    assert exit_code == -signal.SIGKILL


# Each phase of an export and of the process's end, as a hook that signals the export
# itself (or, "while drawing", a worker signals it) at that moment.
def _fire(signum: int) -> str:
    return (
        f"SIGNUM = {int(signum)}\nFIRE = lambda: os.kill(os.getpid(), SIGNUM)\n"
        "import actviz.export as ex\n"
        "import actviz.export.folder as folder\n"
        "import actviz.export.pool as pool\n"
    )


def _when_writing(name: str) -> str:  # a file actviz writes (held: it lands after the write)
    return (
        "real = folder.write_bytes_atomically\n"
        "def write(path, data):\n"
        "    written = real(path, data)\n"
        f"    if os.path.basename(path) == {name!r} and not hasattr(ex, 'FIRED'):\n"
        "        ex.FIRED = True; FIRE()\n"
        "    return written\n"
        "folder.write_bytes_atomically = write\n"
    )


def _before(target: str, attribute: str) -> str:  # a call: the signal lands before it runs
    return (
        f"real = {target}.{attribute}\n"
        "def hooked(*args, **kwargs):\n"
        "    FIRE()\n"
        "    return real(*args, **kwargs)\n"
        f"{target}.{attribute} = hooked\n"
    )


_DRAWING = """\
real = pool._draw_figure
def draw(job, figure):
    if job.name == "relu":  # in a worker: signal the parent and keep drawing
        os.kill(os.getppid(), SIGNUM)
        import time; time.sleep(1.0)
    return real(job, figure)
pool._draw_figure = draw
"""

# The export probes and analyses each job itself, while its workers draw.
_COMPUTING = """\
real = pool._compute
def compute(job):
    if job.name == "relu" and not hasattr(ex, "FIRED"):
        ex.FIRED = True; FIRE()
    return real(job)
pool._compute = compute
"""

THREE = ["gelu", "relu", "tanh"]
ALL = [f"{name}.png" for name in THREE]
_STOPPED = "Error: export stopped ({reason}); files written before it stopped: {files}\n"
PHASES = {
    # phase: (hook, signal, exit code, stderr (None: see the test), images rewritten at 45 dpi)
    "before the workers start": (
        _before("pool", "_pool"), signal.SIGINT, 130,
        _STOPPED.format(reason="interrupted", files="none"), [],
    ),
    "while drawing": (_DRAWING, signal.SIGTERM, 143, None, None),
    "while computing": (_COMPUTING, signal.SIGINT, 130, None, None),
    "while writing an image": (
        _when_writing("relu.png"), signal.SIGINT, 130,
        _STOPPED.format(reason="interrupted", files="gelu.png, relu.png"), ALL[:2],
    ),
    "while stopping the workers": (
        "import concurrent.futures as cf\n" + _before("cf.ProcessPoolExecutor", "shutdown"),
        signal.SIGTERM, 143, _STOPPED.format(reason="terminated", files=", ".join(ALL)), ALL,
    ),
    "while writing the manifest": (
        _when_writing("manifest.json"), signal.SIGTERM, 143,
        _STOPPED.format(reason="terminated", files=", ".join([*ALL, "manifest.json"])), ALL,
    ),
    "while making the manifest and gallery": (
        _before("ex", "gallery_page"), signal.SIGINT, 130,
        _STOPPED.format(reason="interrupted", files=", ".join(ALL)), ALL,
    ),
    "after the lock is released": (
        _before("folder", "_remove_empty"), signal.SIGINT, 130, "Error: interrupted\n", ALL,
    ),
    "while printing the summary": (
        _before("ex.Report", "summary"), signal.SIGTERM, 143, "Error: terminated\n", ALL,
    ),
    "in the exit handlers": (
        "import atexit; atexit.register(FIRE)\n", signal.SIGINT, 130, "Error: interrupted\n",
        ALL,
    ),
    "while flushing the output at exit": (
        "import actviz.cli.boundary\n" + _before("actviz.cli.boundary", "_flush"),
        signal.SIGTERM, 143, "Error: terminated\n", ALL,
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def three_at_40(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("three") / "out"
    export(specs_from_cli(THREE), out, grid=Grid(-8, 8, points=201), dpi=40, jobs=1)
    return out


@pytest.mark.parametrize("phase", list(PHASES))
def test_a_signal_in_any_phase_is_one_line_its_code_and_a_true_manifest(
    tmp_path: Path, three_at_40: Path, phase: str
) -> None:
    """A re-export into a full folder, signalled at one moment of its life: before its
    workers start, while they draw, while it writes images, makes the manifest and the
    gallery and writes them, as it stops its workers, after it let go of the folder, while it prints
    its summary, and in the process's own end (exit handlers, the last flush)."""
    from tests.manifest_truth import leftovers, mismatches

    hook, signum, code, line, rewritten = PHASES[phase]
    out = tmp_path / "out"
    shutil.copytree(three_at_40, out)
    setup = _fire(signum)
    args = ["export", *THREE, "--points", "201", "--dpi", "45", "--jobs", "2", "--out", "out"]
    run = Running(args, tmp_path, hook=setup + hook)
    exit_code, stderr, stdout = run.finish()
    reason = "terminated" if signum == signal.SIGTERM else "interrupted"
    assert exit_code == code, stderr
    if line is None:  # while drawing or computing: what was written by then depends on the timing
        prefix = f"Error: export stopped ({reason}); files written before it stopped: "
        assert re.fullmatch(re.escape(prefix) + r"(none|gelu\.png)\n", stderr), stderr
    else:
        assert stderr == line
    assert mismatches(out) == [] and leftovers(out) == []
    files = json.loads((out / "manifest.json").read_text())["files"]
    at_45 = sorted(name for name, entry in files.items() if entry["dpi"] == 45)
    assert sorted(files) == ALL
    if rewritten is not None:
        assert at_45 == rewritten
    summary = [line for line in stdout if "files written" in line]
    assert len(summary) == (1 if phase in ("in the exit handlers",
                                           "while flushing the output at exit") else 0)  # fmt: skip


@pytest.mark.parametrize(
    ("signum", "line"),
    [(signal.SIGINT, "Error: interrupted\n"), (signal.SIGTERM, "Error: terminated\n")],
)
def test_a_signal_after_the_summary_is_never_the_signal_itself(
    tmp_path: Path, three_at_40: Path, signum: int, line: str
) -> None:
    """A signal as the process ends (`export | cat`, signalled once the summary is out):
    either it came after the process was gone (0, nothing) or it is reported."""
    from tests.manifest_truth import mismatches

    out = tmp_path / "out"
    shutil.copytree(three_at_40, out)
    args = ["export", *THREE, "--points", "201", "--dpi", "45", "--jobs", "2", "--out", "out"]
    run = Running(args, tmp_path)
    while "files written" not in run.wait_for_line(""):
        pass  # up to the summary: the export is done, the process is ending
    run.signal(signum, group=False)
    exit_code, stderr, _ = run.finish()
    code = 143 if signum == signal.SIGTERM else 130
    assert (exit_code, stderr) in ((0, ""), (code, line))
    assert mismatches(out) == []


_HELD_IMPORT = """
import os, signal, sys, threading, time
sys.path.insert(0, sys.argv[1])
from actviz import startup
# A thread started before the hold, as OpenBLAS's are by numpy's import: the mask of
# the main thread does not hold a signal back from it.
threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
def handler(signum, frame):  # as the command's: defer while a held import runs
    if sys.argv[2] != "unaware" and startup.holding():
        startup.defer(signum)
        return
    raise KeyboardInterrupt
signal.signal(signal.SIGINT, handler)
if sys.argv[2] != "plain":
    startup.hold_signals_while_importing(["heavy"])
try:
    import heavy
except KeyboardInterrupt:
    print("body finished:", open(sys.argv[3]).read(), flush=True)
    sys.exit(130)
print("not interrupted")
"""

_HEAVY = """
import os, signal, sys, time
held = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])
os.kill(os.getpid(), signal.SIGINT)  # as a Ctrl-C in the middle of torch's C++ set-up
for _ in range(50):  # Python code after it: where an unheld interrupt lands
    time.sleep(0.01)
open(sys.argv[3], "w").write(f"yes, held={held}")
"""


@pytest.mark.parametrize(
    ("mode", "finished"),
    [
        ("held", "yes, held=True"),
        ("plain", "no"),  # the check can fail: without the hold it lands in the body
        ("unaware", "no"),  # the mask alone: another thread takes it, the handler runs
    ],
)
def test_a_signal_during_a_held_import_lands_after_it(
    tmp_path: Path, mode: str, finished: str
) -> None:
    """torch's import cannot be interrupted halfway (pybind11 aborts the process); the
    command holds SIGINT for that import (its thread's mask, and its handler deferring
    while the import runs), and it lands right after."""
    (tmp_path / "heavy.py").write_text(_HEAVY)
    record = tmp_path / "record"
    record.write_text("no")
    run = subprocess.run(
        [sys.executable, "-c", _HELD_IMPORT, str(tmp_path), mode, str(record)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 130, run.stderr
    assert run.stdout.splitlines()[-1] == f"body finished: {finished}"


def test_the_command_imports_torch_with_signals_held(tmp_path: Path) -> None:
    script = (
        "import atexit, sys\n"
        "from actviz.cli import main\n"
        "atexit.register(lambda: print(type(sys.modules['torch'].__spec__.loader).__name__,"
        " type(sys.modules['torch'].__loader__).__name__))\n"
        "sys.argv = ['actviz', 'table', 'relu', '--points', '3', '--json']\n"
        "main()\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert run.returncode == 0, run.stderr
    # torch's spec carries the holding loader; the module its own (torch reads it).
    assert run.stdout.splitlines()[-1] == "_HeldLoader SourceFileLoader"
