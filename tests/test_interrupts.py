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
CLOSE_WITHIN = 30.0  # seconds: generous for a loaded machine, far below "indefinitely"


class Running:
    """``python -m actviz ARGS`` in a new session, its stdout read line by line."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        env = {**os.environ, "CI": "true", "MPLBACKEND": "Agg"}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "actviz", *args],
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
