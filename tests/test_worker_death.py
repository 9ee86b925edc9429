"""A worker process that dies (an OOM kill, a segfault, ``os._exit`` in an activation of
your own) ends the export with one line, exit 1, and a manifest true to the files on disk.

Each test runs ``python -m actviz export`` with two workers into a folder that a
first export filled, breaks a worker, and checks every entry of ``manifest.json``
against the sha256 of its file (:func:`tests.manifest_truth.mismatches`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actviz import export as export_module
from actviz.errors import UsageError
from actviz.export import Job, WorkerDied, export
from actviz.export import pool as export_pool
from actviz.params import specs_from_cli
from actviz.probing import Grid
from tests.manifest_truth import leftovers, mismatches
from tests.test_interrupts import Running

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["celu", "elu", "gelu", "relu", "sigmoid", "silu", "softplus", "tanh"]
THREE = ["gelu", "relu", "tanh"]

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fork, signals and /proc: Linux")

# Dies as soon as the export has rewritten tanh.png (its last image before this one), so
# that what was written before the death is known: gelu, relu and tanh.
CRASH = """\
import os, time
TANH = {inode}
def crash(x):
    deadline = time.monotonic() + 120
    while os.stat("o/tanh.png").st_ino == TANH and time.monotonic() < deadline:
        time.sleep(0.05)
    os._exit(4)
"""


def _env() -> dict[str, str]:
    env = {**os.environ, "CI": "true", "MPLBACKEND": "Agg"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)


def _actviz(args: list[str], cwd: Path, hook: str = "") -> subprocess.CompletedProcess[str]:
    """``actviz ARGS`` in ``cwd``; ``hook``: Python run first (a patch, in the parent and,
    forked, in its workers)."""
    driver = f"import sys\n{hook}\nfrom actviz.cli import main\nsys.argv[0] = 'actviz'\nmain()\n"
    return _run([sys.executable, "-c", driver, *args], cwd)


def _crash_folder(tmp_path: Path) -> Path:
    """``tmp_path/o`` exported at 100 dpi, and zzcrash.py beside it."""
    out = tmp_path / "o"
    first = _actviz(["export", *THREE, "--out", "o", "--dpi", "100", "--jobs", "1"], tmp_path)
    assert first.returncode == 0, first.stderr
    (tmp_path / "zzcrash.py").write_text(CRASH.format(inode=(out / "tanh.png").stat().st_ino))
    return out


CRASH_ARGS = ["export", *THREE, "zzcrash:crash", "--out", "o", "--dpi", "125", "--jobs", "2"]


@pytest.mark.slow
def test_a_worker_that_calls_os_exit_ends_the_export_with_one_line(tmp_path: Path) -> None:
    out = _crash_folder(tmp_path)
    result = _actviz(CRASH_ARGS, tmp_path)
    assert (result.returncode, result.stderr) == (
        1,
        "Error: a worker process died (exit code 4) while drawing zzcrash:crash; "
        "the manifest lists the 3 files written\n",
    )
    assert result.stdout == "".join(f"written   o/{name}.png\n" for name in THREE)
    assert mismatches(out) == []
    files = json.loads((out / "manifest.json").read_text())["files"]
    assert {name: entry["dpi"] for name, entry in files.items()} == {
        f"{name}.png": 125 for name in THREE
    }
    assert sorted(p.name for p in out.iterdir()) == [
        "gelu.png", "index.html", "manifest.json", "relu.png", "tanh.png"
    ]  # fmt: skip


@pytest.mark.slow
def test_the_checker_catches_the_old_manifest_update(tmp_path: Path) -> None:
    """The old behaviour, put back: nothing mends the manifest after a worker dies."""
    out = _crash_folder(tmp_path)
    result = _actviz(
        CRASH_ARGS, tmp_path, hook="import actviz.export as e; e._mend = lambda *a: True"
    )
    assert result.returncode == 1
    assert mismatches(out) == [f"{name}.png: sha256 differs from the manifest's" for name in THREE]


def test_the_checker_catches_each_kind_of_mismatch(tmp_path: Path) -> None:
    export(specs_from_cli(["relu", "tanh"]), tmp_path, grid=Grid(-4, 4, points=101), dpi=30,
           jobs=1)  # fmt: skip
    assert mismatches(tmp_path) == [] and leftovers(tmp_path) == []
    (tmp_path / "relu.png").write_bytes(b"\x89PNG not the one recorded")
    (tmp_path / "tanh.png").unlink()
    shutil.copy(tmp_path / "relu.png", tmp_path / "zz.png")
    (tmp_path / ".actviz.lock").touch()
    assert mismatches(tmp_path) == [
        "relu.png: sha256 differs from the manifest's",
        "tanh.png: listed, not on disk",
        "zz.png: on disk, not listed",
    ]
    assert leftovers(tmp_path) == [".actviz.lock"]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return sorted(found)


@pytest.fixture(scope="module")
def full_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every name of NAMES exported at 40 dpi: the folder each kill test re-exports into."""
    out = tmp_path_factory.mktemp("full") / "o"
    export(specs_from_cli(NAMES), out, grid=Grid(-8, 8, points=201), dpi=40, jobs=1)
    return out


DIED = re.compile(
    r"Error: a worker process died \(killed by SIGKILL\) "
    r"(?:while drawing (?P<name>\w+)|between two drawings|while starting); "
    r"(?:the manifest lists the (?P<count>\d+) files? written|no file was written)\n"
)


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(after=st.integers(0, len(NAMES)), delay=st.floats(0.0, 1.5), which=st.integers(0, 1))
def test_a_worker_killed_at_any_moment_leaves_a_true_manifest(
    full_folder: Path, after: int, delay: float, which: int
) -> None:
    """SIGKILL to a worker (an OOM kill): ``after`` images were written, ``delay`` s later."""
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        out = cwd / "o"
        shutil.copytree(full_folder, out)
        args = ["export", *NAMES, "--points", "201", "--dpi", "45", "--jobs", "2", "--out", "o"]
        run = Running(args, cwd)
        deadline = time.monotonic() + 120
        while len(_children(run.process.pid)) < 2:
            assert time.monotonic() < deadline, "no workers started"
            time.sleep(0.02)
        seen = [run.wait_for_line("written") for _ in range(after)]
        time.sleep(delay)
        if workers := _children(run.process.pid):
            os.kill(workers[min(which, len(workers) - 1)], signal.SIGKILL)
        code, stderr, rest = run.finish()
        images = [line for line in [*seen, *rest] if re.match(r"written +o/\w+\.png$", line)]
        if code == 0:  # the kill came after the last result
            assert stderr == ""
        else:
            assert code == 1, stderr
            died = DIED.fullmatch(stderr)
            assert died, stderr
            assert int(died["count"] or 0) == len(images)
        assert (out / "manifest.json").is_file()
        assert mismatches(out) == []
        assert leftovers(out) == []


def test_export_from_an_unguarded_script_is_one_clear_error(tmp_path: Path) -> None:
    """Spawned workers (torch imported) re-run the main script: they leave at once,
    and the export says what to do instead of a BrokenProcessPool traceback."""
    (tmp_path / "unguarded.py").write_text(
        "import torch\n"
        "from actviz.errors import UsageError\n"
        "from actviz.export import export\n"
        "from actviz.params import specs_from_cli\n"
        "try:\n"
        '    export(specs_from_cli(["relu", "tanh"]), "o", dpi=30, jobs=2)\n'
        "except UsageError as error:\n"
        '    print(f"UsageError: {error}")\n'
    )
    result = _run([sys.executable, "unguarded.py"], tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        "UsageError: the export's worker processes re-ran this script: torch was imported, "
        "so they are spawned, and spawning imports the main script, which called export "
        'again; put the call under `if __name__ == "__main__":`, or pass jobs=1\n'
    )
    assert not (tmp_path / "o").exists()


def _job(name: str) -> Job:
    return Job(name, {}, ("png",), 30, "light", Grid(), 0.01)


def _processes(**exits: int | None) -> dict[int, SimpleNamespace]:
    return {int(pid[1:]): SimpleNamespace(exitcode=code) for pid, code in exits.items()}


@pytest.mark.parametrize(
    ("exits", "claims", "message"),
    [
        # The pool stops the others with SIGTERM: the dead one has another code.
        ({"p11": -15, "p12": 4}, [-11, 11, 12], "(exit code 4) while drawing c"),
        ({"p11": -11, "p12": -15}, [11, 12, 0], "(killed by SIGSEGV) while drawing a"),
        ({"p11": -9, "p12": -15}, [-11, -12, 12], "(killed by SIGKILL) between two drawings"),
        ({"p11": 0, "p12": -15}, [12, 0, 0], "(exit code 0) while starting"),
        # All by SIGTERM (one sent from outside): the worker drawing the first job.
        ({"p11": -15, "p12": -15}, [-11, 12, 11], "(killed by SIGTERM) while drawing b"),
        ({"p11": None}, [11, 0, 0], "while drawing a"),  # no exit code known
        ({}, [0, 0, 0], "while starting"),
    ],
)
def test_the_dead_worker_is_named(
    exits: dict[str, int | None], claims: list[int], message: str
) -> None:
    error = export_pool._death(_processes(**exits), claims, [_job(n) for n in "abc"])
    assert isinstance(error, WorkerDied)
    assert str(error) == f"a worker process died {message}"


def test_a_worker_that_reran_the_script_is_a_usage_error() -> None:
    rerun = export_module.RERUN_EXIT
    error = export_pool._death(_processes(p11=rerun, p12=-15), [0, 0], [_job("a"), _job("b")])
    assert isinstance(error, UsageError)
    # Once a job has started, the same code is a death like any other.
    error = export_pool._death(_processes(p11=rerun, p12=-15), [11, 0], [_job("a"), _job("b")])
    assert str(error) == f"a worker process died (exit code {rerun}) while drawing a"


def test_the_line_says_what_the_folder_holds() -> None:
    report = export_module.Report(written=[Path("o/relu.png")])
    assert export_module._died("X", report, mended=True) == (
        "X; the manifest lists the 1 file written"
    )
    assert export_module._died("X", export_module.Report(), mended=True) == (
        "X; no file was written"
    )
    assert export_module._died("X", report, mended=False) == (
        "X; files written before it stopped: relu.png"
    )


def test_hashes_agree_with_hashlib(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"x")
    entry = {"sha256": hashlib.sha256(b"x").hexdigest()}
    (tmp_path / "manifest.json").write_text(json.dumps({"files": {"a.png": entry}}))
    assert mismatches(tmp_path) == []


# A worker killed while it sends a result (an OOM kill mid-write) leaves half a message
# in the pipe: here the worker writes the start of one (a length and a few bytes) into
# the pool's result pipe itself, then dies.
_MID_SEND = """\
import gc, multiprocessing, os, struct, sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.queues import SimpleQueue
from actviz.export import pool

def half_sent():
    (results,) = [q for q in gc.get_objects() if isinstance(q, SimpleQueue)
                  and getattr(q, "_writer", None) is not None and q._writer.writable]
    os.write(results._writer.fileno(), struct.pack("!i", 1 << 20) + b"part of it")
    os._exit(9)

executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
future = executor.submit(half_sent)
try:
    if sys.argv[1] == "plain":
        future.result()
    else:
        pool._result(future, executor)
except BrokenProcessPool as error:
    print("broken:", error)
if sys.argv[1] == "plain":
    executor.shutdown(wait=True)
else:
    pool._stop(executor)
print("stopped")
"""


@pytest.mark.slow
def test_a_worker_killed_while_sending_its_result_does_not_hang_the_export(
    tmp_path: Path,
) -> None:
    done = subprocess.run([sys.executable, "-c", _MID_SEND, "actviz"], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "broken: a worker died while sending its result\nstopped\n"
    # The check can fail: the pool's own waits never end.
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run([sys.executable, "-c", _MID_SEND, "plain"], cwd=tmp_path, env=_env(),
                       capture_output=True, text=True, timeout=15)  # fmt: skip


@pytest.mark.slow
def test_a_worker_that_dies_in_a_new_folder_leaves_no_folder(tmp_path: Path) -> None:
    """As any failed export into a folder it created: the folder goes with its images."""
    (tmp_path / "zzdie.py").write_text("import os\ndef die(x):\n    os._exit(4)\n")
    result = _actviz(["export", "relu", "tanh", "zzdie:die", "--jobs", "2", "--out", "new"],
                     tmp_path)  # fmt: skip
    died = "a worker process died (exit code 4) while drawing zzdie:die"
    assert result.returncode == 1
    assert result.stderr in (
        f"Error: export stopped ({died}); new was new, so it was removed with the files written\n",
        f"Error: export stopped ({died}); files written before it stopped: none\n",
    ), result.stderr
    assert not (tmp_path / "new").exists()
