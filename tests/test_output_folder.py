"""Nothing is written outside the output folder, nothing planted there is written
through, nothing there makes actviz hang (issue 19: parameters in file names,
symlinks, fifos)."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from actviz import atomic, registry
from actviz.atomic import check_inside, read_own, write_bytes_atomically
from actviz.cli import app
from actviz.errors import ActvizError, OutputError
from actviz.figure_files import _prefixed_stem
from actviz.file_names import MAX_STEM, cap, safe_stem
from actviz.params import sweep
from tests.conftest import UserModules

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent

MODACTS = """import torch
from torch import nn
class Mode(nn.Module):
    def __init__(self, mode: str = "soft"):
        super().__init__()
        self.mode = mode
    def forward(self, x):
        return torch.tanh(x)
class Scaled(nn.Module):
    def __init__(self, mode: str = "soft", scale: float = 1.0):
        super().__init__()
        self.scale = scale
    def forward(self, x):
        return torch.tanh(self.scale * x)
"""

NOT_REGULAR = "it is not a regular file; remove it or choose another --out"


@contextlib.contextmanager
def no_hang(seconds: float) -> Iterator[None]:
    """Fail (TimeoutError) rather than hang: SIGALRM interrupts a blocked open()."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s: it hangs")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def snapshot(folder: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry at and below ``folder``, links not followed: what a write would change."""
    entries: dict[str, tuple[Any, ...]] = {}
    for root, dirs, files in os.walk(folder):
        for name in [".", *dirs, *files]:
            path = Path(root) / name
            info = os.lstat(path)
            key = str(path.relative_to(folder))
            if stat.S_ISLNK(info.st_mode):
                entries[key] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                entries[key] = ("file", path.read_bytes(), info.st_mtime_ns, info.st_mode)
            elif stat.S_ISDIR(info.st_mode):
                entries[key] = ("folder", info.st_mtime_ns, info.st_mode)
            else:
                entries[key] = ("other", info.st_mode, info.st_mtime_ns)
    return entries


def new_files(folder: Path, before: set[Path]) -> list[str]:
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p not in before and not p.is_dir() and "__pycache__" not in p.parts
    )


@pytest.fixture()
def modacts(user_modules: UserModules) -> Path:
    return user_modules(modacts=MODACTS)


# --- file names from parameters ----------------------------------------------------

ESCAPE = "../../../escaped_rel"
ESCAPED = "modacts-Mode-mode=.._.._.._escaped_rel-301605d4d2"


@pytest.mark.parametrize(
    ("args", "written"),
    [
        (["plot", "modacts:Mode", "--param", f"mode={ESCAPE}", "--points", "5"],
         [f"outputs/{ESCAPED}.png"]),
        (["export", "modacts:Mode", "--param", f"mode={ESCAPE}", "--points", "5", "--jobs",
          "1", "--out", "ex"],
         ["ex/index.html", "ex/manifest.json", f"ex/{ESCAPED}.png"]),
        (["depth", "modacts:Mode", "--param", "mode=/../../../../escaped_abs", "--layers", "2",
          "--width", "4", "--batch", "4", "--no-baseline"],
         ["outputs/depth-modacts-Mode-mode=_.._.._.._.._escaped_abs-b20b18619e.png"]),
        (["gain", "modacts:Mode", "--param", f"mode={ESCAPE}", "--plot"],
         [f"outputs/phase-{ESCAPED}.png"]),
    ],
)  # fmt: skip
def test_a_text_parameter_names_a_file_inside_the_folder(
    modacts: Path, args: list[str], written: list[str]
) -> None:
    before = set(modacts.rglob("*"))
    result = runner.invoke(app, args)
    assert (result.exit_code, result.stderr.count("Error")) == (0, 0)
    assert new_files(modacts, before) == written
    assert not list(modacts.parent.glob("escaped_*"))


def test_a_300_character_parameter_gives_a_short_name_and_one_of_its_own(modacts: Path) -> None:
    names = []
    for value in ["y" * 300, "y" * 299 + "z"]:
        before = set(modacts.rglob("*"))
        args = ["plot", "modacts:Mode", "--param", f"mode={value}", "--points", "5"]
        assert runner.invoke(app, args).exit_code == 0
        (name,) = new_files(modacts, before)
        names.append(name)
    assert names == [
        f"outputs/modacts-Mode-mode={'y' * 91}-9a85b30044.png",
        f"outputs/modacts-Mode-mode={'y' * 91}-0b74d8baa1.png",
    ]
    assert all(len(Path(n).name.encode()) == MAX_STEM + 4 for n in names)


def test_safe_stem_keeps_safe_names_and_marks_the_rest() -> None:
    assert safe_stem("leaky_relu-negative_slope=0.1") == "leaky_relu-negative_slope=0.1"
    assert safe_stem("hardtanh-min_val=-2-max_val=1e+06") == "hardtanh-min_val=-2-max_val=1e+06"
    assert safe_stem("a/b") == "a_b-c14cddc033"
    assert safe_stem("a_b") == "a_b"
    assert safe_stem(".hidden") == "_.hidden-1692419006"
    assert safe_stem("-opt") == "_-opt-77ecdb248b"
    assert safe_stem("café") == "caf_-850f7dc439"
    assert safe_stem("") == "_-e3b0c44298"
    assert safe_stem("x" * 121) == "x" * 109 + "-" + safe_stem("x" * 121)[-10:]
    assert cap("depth-" + "a" * 300) == "depth-" + "a" * 103 + "-" + cap("depth-" + "a" * 300)[-10:]


def test_every_registered_slug_reads_as_before() -> None:
    """Built-in names and numbers keep their file names (committed outputs stay)."""
    for name in registry.names():
        act = registry.get(name)
        values = {p.name: p.default for p in act.params}
        for param in act.params:
            if param.choices:
                values[param.name] = param.choices[-1]
            elif isinstance(param.default, float):
                values[param.name] = param.default + 0.25
        try:
            target = registry.spec(name, values)
        except ActvizError:  # a constraint between parameters: the defaults then
            target = registry.spec(name)
        old = "-".join(
            [target.name.replace(":", "-"),
             *(f"{k}={registry.format_value(v)}" for k, v in target.shown_params().items())]
        )  # fmt: skip
        assert target.slug == old
    swept = sweep("leaky_relu", {"negative_slope": [0.01, 0.3]})
    assert swept.slug == "leaky_relu-sweep-negative_slope"


def test_a_sweep_with_a_text_parameter_is_named_safely(modacts: Path) -> None:
    swept = sweep("modacts:Scaled", {"scale": [1.0, 2.0]}, {"mode": "../x"})
    assert swept.slug == safe_stem("modacts-Scaled-mode=../x-sweep-scale")
    assert swept.slug == "modacts-Scaled-mode=.._x-sweep-scale-" + swept.slug[-10:]
    assert re.fullmatch(r"[0-9a-f]{10}", swept.slug[-10:])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.text(max_size=400))
def test_safe_stems_are_safe_short_and_tell_texts_apart(a: str, b: str) -> None:
    for text in (a, b):
        stem = safe_stem(text)
        assert re.fullmatch(r"[A-Za-z0-9_=+][A-Za-z0-9._=+-]*", stem)
        assert len(stem.encode()) <= MAX_STEM
        assert stem not in (".", "..")
    assert (safe_stem(a) == safe_stem(b)) == (a == b)


def test_long_stems_never_say_and_minus_more() -> None:
    assert _prefixed_stem("depth", ["a" * 300]) == cap("depth-" + "a" * 300)
    assert "_and_-" not in _prefixed_stem("depth", ["a" * 300])
    assert _prefixed_stem("depth", ["relu"] * 40) == "depth-relu_and_39_more"
    assert _prefixed_stem("depth", ["relu", "tanh"]) == "depth-relu_tanh"


# --- every chosen path lies inside its folder ----------------------------------------


def test_check_inside_follows_folders_not_the_last_name(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "o", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "to_elsewhere").symlink_to(elsewhere)
    (out / "relu.png").symlink_to(elsewhere / "victim.txt")
    assert check_inside(out, out / "relu.png") == out / "relu.png"  # replaced, not followed
    assert check_inside(out, out / "new" / "x.png") == out / "new" / "x.png"
    for bad in [out / ".." / "x.png", out / "to_elsewhere" / "x.png", out / "a" / "..", out]:
        with pytest.raises(OutputError, match="lies outside the folder"):
            check_inside(out, bad)


def test_a_default_name_that_would_leave_the_folder_is_refused(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check itself: a stem that climbs out (as slugs did before) is caught."""
    from actviz import figure_files

    monkeypatch.setattr(figure_files, "default_stem", lambda probes: "../escaped")
    result = runner.invoke(app, ["plot", "relu", "--points", "5"])
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: cannot write outputs/../escaped.png: it lies outside the folder outputs; "
        "actviz writes only inside the folder it chose\n",
    )
    assert not (in_tmp / "escaped.png").exists()


def test_an_export_name_that_would_leave_the_folder_is_refused(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry.Spec, "slug", property(lambda self: "../escaped"))
    result = runner.invoke(app, ["export", "relu", "--points", "5", "--jobs", "1", "--out", "o"])
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: cannot write o/../escaped.png: it lies outside the folder o; "
        "actviz writes only inside the folder it chose\n",
    )
    assert sorted(p.name for p in in_tmp.iterdir()) == []


@pytest.fixture()
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


# --- links planted in the output folder -------------------------------------------------


@pytest.fixture()
def elsewhere(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    (folder / "folder").mkdir(parents=True)
    for name in ["victim.txt", "victim2.txt", "lock_victim"]:
        (folder / name).write_text(f"{name}: not yours\n")
    return folder


def test_export_replaces_links_planted_in_its_folder(in_tmp: Path, elsewhere: Path) -> None:
    out = in_tmp / "o"
    out.mkdir()
    (out / "relu.png").symlink_to(elsewhere / "victim.txt")
    (out / "index.html").symlink_to(elsewhere / "victim2.txt")
    (out / "manifest.json").symlink_to(elsewhere / "nodir" / "deeper" / "manifest.json")
    (out / ".actviz.lock").symlink_to(elsewhere / "lock_victim")
    before = snapshot(elsewhere)
    result = runner.invoke(app, ["export", "relu", "--points", "5", "--jobs", "1", "--out", "o"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert snapshot(elsewhere) == before  # nothing written, created or removed there
    assert sorted((p.name, stat.S_ISREG(os.lstat(p).st_mode)) for p in out.iterdir()) == [
        ("index.html", True), ("manifest.json", True), ("relu.png", True),
    ]  # fmt: skip
    assert (out / "relu.png").read_bytes()[:4] == b"\x89PNG"
    check = runner.invoke(app, ["export", "relu", "--points", "5", "--out", "o", "--check"])
    assert check.exit_code == 0


def test_export_check_calls_a_planted_link_stale(in_tmp: Path, elsewhere: Path) -> None:
    args = ["export", "relu", "--points", "5", "--jobs", "1", "--out", "o"]
    assert runner.invoke(app, args).exit_code == 0
    shutil.copy(in_tmp / "o" / "relu.png", elsewhere / "relu.png")  # the very bytes
    (in_tmp / "o" / "relu.png").unlink()
    (in_tmp / "o" / "relu.png").symlink_to(elsewhere / "relu.png")
    result = runner.invoke(app, [*args, "--check"])
    assert (result.exit_code, result.stderr) == (
        1, "Error: o is not current: stale o/relu.png; run actviz export\n"
    )  # fmt: skip


def test_plot_depth_and_graph_replace_links_at_the_names_they_choose(
    in_tmp: Path, elsewhere: Path
) -> None:
    out = in_tmp / "o"
    out.mkdir()
    (out / "relu.png").symlink_to(elsewhere / "victim.txt")
    (out / "depth-relu.png").symlink_to(elsewhere / "nodir" / "x.png")  # dangling
    (out / "g.dot").symlink_to(elsewhere / "victim2.txt")
    before = snapshot(elsewhere)
    for args in (
        ["plot", "relu", "--points", "5", "--out-dir", "o"],
        ["depth", "relu", "--layers", "2", "--width", "4", "--batch", "4", "--no-baseline",
         "--out-dir", "o"],
        ["graph", "tanh(x)", "--set", "x=0.5", "--out", "o/g.svg"],
    ):  # fmt: skip
        result = runner.invoke(app, args)
        assert (result.exit_code, result.stderr.count("Error")) == (0, 0), result.output
    assert snapshot(elsewhere) == before
    for name in ["relu.png", "depth-relu.png", "g.dot"]:
        assert stat.S_ISREG(os.lstat(out / name).st_mode)


def test_a_file_you_name_is_written_through_its_link(in_tmp: Path, elsewhere: Path) -> None:
    """--out FILE is followed (you named it): graph's .dot when you name it, too."""
    (in_tmp / "mine.dot").symlink_to(elsewhere / "victim.txt")
    result = runner.invoke(app, ["graph", "tanh(x)", "--set", "x=0.5", "--out", "mine.dot"])
    assert result.exit_code == 0
    assert (in_tmp / "mine.dot").is_symlink()
    assert (elsewhere / "victim.txt").read_text().startswith("digraph")


def test_an_output_folder_that_is_a_link_is_followed(in_tmp: Path, elsewhere: Path) -> None:
    (in_tmp / "o").symlink_to(elsewhere / "folder")
    result = runner.invoke(app, ["export", "relu", "--points", "5", "--jobs", "1", "--out", "o"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert sorted(p.name for p in (elsewhere / "folder").iterdir()) == [
        "index.html", "manifest.json", "relu.png",
    ]  # fmt: skip


def test_following_links_as_before_overwrites_the_victim(
    in_tmp: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old behaviour injected: the snapshot sees the victim overwritten."""
    followed = atomic.write_atomically

    def old(path: str | Path, write: Callable[..., None], **_: object) -> Path:
        return followed(path, write, follow_links=True)

    monkeypatch.setattr(atomic, "write_atomically", old)
    out = in_tmp / "o"
    out.mkdir()
    (out / "relu.png").symlink_to(elsewhere / "victim.txt")
    before = snapshot(elsewhere)
    result = runner.invoke(app, ["export", "relu", "--points", "5", "--jobs", "1", "--out", "o"])
    assert result.exit_code == 0
    assert snapshot(elsewhere) != before
    assert (elsewhere / "victim.txt").read_bytes()[:4] == b"\x89PNG"


# --- fifos and other odd files where actviz keeps its own ---------------------------


@pytest.mark.parametrize("check", [False, True])
def test_a_fifo_named_manifest_json_is_refused_not_waited_on(tmp_path: Path, check: bool) -> None:
    (tmp_path / "o").mkdir()
    os.mkfifo(tmp_path / "o" / "manifest.json")
    env = {**os.environ, "MPLBACKEND": "Agg", "CI": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "actviz", "export", "relu", "--points", "5", "--jobs", "1",
               "--out", "o", *(["--check"] if check else [])]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert (done.returncode, done.stderr, done.stdout) == (
        1, f"Error: cannot use o/manifest.json: {NOT_REGULAR}\n", ""
    )  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["manifest.json"]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        (".actviz.lock", ["export", "relu"]),
        ("index.html", ["export", "relu"]),
        ("relu.png", ["export", "relu"]),
        ("relu.png", ["export", "relu", "--check"]),
        ("index.html", ["export", "relu", "--check"]),
        ("relu.png", ["plot", "relu", "--out-dir", "o"]),
        ("g.dot", ["graph", "tanh(x)", "--set", "x=0.5", "--out", "o/g.svg"]),
    ],
)
def test_a_fifo_where_actviz_keeps_its_own_file_is_refused(
    in_tmp: Path, name: str, args: list[str]
) -> None:
    (in_tmp / "o").mkdir()
    os.mkfifo(in_tmp / "o" / name)
    if args[0] == "export":
        args = [*args, "--points", "5", "--jobs", "1", "--out", "o"]
    elif args[0] == "plot":
        args = [*args, "--points", "5"]
    with no_hang(60):
        result = runner.invoke(app, args)
    assert (result.exit_code, result.stderr) == (1, f"Error: cannot use o/{name}: {NOT_REGULAR}\n")
    assert [p.name for p in (in_tmp / "o").iterdir()] == [name]


def test_read_own_refuses_a_fifo_and_a_folder_and_skips_a_link(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_bytes(b"ours")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    with no_hang(10):
        for name in ["fifo", "folder"]:
            with pytest.raises(OutputError, match=f"cannot use {tmp_path / name}: it is not a"):
                read_own(tmp_path / name)
    assert (read_own(tmp_path / "file"), read_own(tmp_path / "link")) == (b"ours", None)
    assert read_own(tmp_path / "missing") is None
    write_bytes_atomically(tmp_path / "link", b"new")
    assert (tmp_path / "link").read_bytes() == b"new" and not (tmp_path / "link").is_symlink()
    assert (tmp_path / "file").read_bytes() == b"ours"


# --- everything planted at once, drawn by hypothesis -------------------------------------

# What each command reads or writes under a name it chooses; its --out, which you
# name (graph's o/g.svg), is followed by rule and so never planted on.
COMMANDS: dict[str, tuple[list[str], list[str]]] = {
    "plot": (["plot", "relu", "--points", "5", "--out-dir", "{o}"], ["relu.png"]),
    "export": (["export", "relu", "--points", "5", "--jobs", "1", "--out", "{o}"],
               [".actviz.lock", "relu.png", "manifest.json", "index.html"]),
    "check": (["export", "relu", "--points", "5", "--out", "{o}", "--check"],
              ["relu.png", "manifest.json", "index.html"]),
    "graph": (["graph", "tanh(x)", "--set", "x=0.5", "--out", "{o}/g.svg"], ["g.dot"]),
    "depth": (["depth", "relu", "--layers", "2", "--width", "4", "--batch", "4",
               "--no-baseline", "--out-dir", "{o}"], ["depth-relu.png"]),
    "gain": (["gain", "relu", "--plot", "--out-dir", "{o}"], ["phase-relu.png"]),
}  # fmt: skip
CHOSEN = sorted({n for _, names in COMMANDS.values() for n in names})
LOOK_ALIKES = ["relu.png.tmp", ".relu.png.abc123.tmp", "RELU.png", "relu.png~", "relu.PNG",
               "manifest.json.bak", ".actviz.lock.old", "index.htm", "g.dot.svg", "relu",
               "phase-relu.png.png"]  # fmt: skip
KINDS = ["link_to_file", "link_dangling", "link_to_folder", "fifo", "folder", "junk"]


def plant(out: Path, elsewhere: Path, name: str, kind: str, index: int) -> None:
    path = out / name
    if path.is_symlink() or path.exists():
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    if kind == "link_to_file":
        target = elsewhere / f"victim{index}.txt"
        target.write_text(f"victim {index}\n")
        path.symlink_to(target)
    elif kind == "link_dangling":
        path.symlink_to(elsewhere / f"missing{index}" / "deeper" / name)
    elif kind == "link_to_folder":
        path.symlink_to(elsewhere / "folder")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
        (path / "inside.txt").write_text("a folder's own file\n")
    else:
        path.write_bytes(b"junk, not actviz's")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A current export of relu, copied into each example's folder (check needs one)."""
    folder = tmp_path_factory.mktemp("template") / "o"
    result = runner.invoke(app, [a.format(o=folder) for a in COMMANDS["export"][0]])
    assert result.exit_code == 0
    return folder


_examples = itertools.count()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    command=st.sampled_from(sorted(COMMANDS)),
    plants=st.dictionaries(st.sampled_from(CHOSEN + LOOK_ALIKES), st.sampled_from(KINDS),
                           max_size=5),
)  # fmt: skip
@pytest.mark.slow
def test_nothing_outside_changes_and_nothing_hangs(
    tmp_path: Path, exported: Path, command: str, plants: dict[str, str]
) -> None:
    base = tmp_path / f"example{next(_examples)}"
    out, elsewhere = base / "o", base / "elsewhere"
    (elsewhere / "folder").mkdir(parents=True)
    (elsewhere / "folder" / "kept.txt").write_text("kept\n")
    shutil.copytree(exported, out)
    for index, (name, kind) in enumerate(sorted(plants.items())):
        plant(out, elsewhere, name, kind, index)
    before, start = snapshot(elsewhere), snapshot(out)
    planted = {n: start[n] for n in plants if n not in COMMANDS[command][1]}
    args, used = COMMANDS[command]
    with no_hang(120):
        result = runner.invoke(app, [a.format(o=out) for a in args])
    assert snapshot(elsewhere) == before  # nothing outside written, made or removed
    inside = snapshot(out)
    assert {n: inside[n][:2] for n in planted} == {n: e[:2] for n, e in planted.items()}
    odd = [n for n in used if plants.get(n) in ("fifo", "folder")]
    if odd:  # refused with one line, the first odd name in the order they are opened
        assert (result.exit_code, result.stderr) == (
            1, f"Error: cannot use {out / odd[0]}: {NOT_REGULAR}\n"
        )  # fmt: skip
        return
    if command == "check":  # a link or junk at one of its files: stale, nothing written
        stale = [n for n in used if n in plants]
        problem = "; ".join(f"stale {out / n}" for n in stale)
        expected = (1, f"Error: {out} is not current: {problem}; run actviz export\n")
        assert (result.exit_code, result.stderr) == (expected if stale else (0, ""))
        return
    assert (result.exit_code, result.stderr.count("Error")) == (0, 0), result.stderr
    for name in used:  # links and junk replaced by actviz's own regular files
        if name != ".actviz.lock":
            assert stat.S_ISREG(os.lstat(out / name).st_mode), name
    assert not os.path.lexists(out / ".actviz.lock") or command != "export"
