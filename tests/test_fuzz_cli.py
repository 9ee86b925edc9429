"""Argument lists drawn from the CLI's own vocabulary, valid and invalid values mixed.

Whatever is asked, the command line keeps its promises: exit code 0, 1, 2 (or
130), a failure is exactly one ``Error:`` line on stderr and never a
traceback, ``--json`` prints strict JSON (no NaN or Infinity), and the output
folder holds only complete files (a manifest that matches them, no temporary
or lock file). Bounded to 200 examples on small
grids so that ``make test`` stays fast.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from actviz import registry
from actviz.cli import app

runner = CliRunner()

NAME = st.one_of(
    st.sampled_from(registry.names()),
    st.sampled_from(["nope", "LeakyReLU", "swish", "", "-x", "glu", "os:system"]),
)
GRID_OPTIONS = {
    "--range": st.sampled_from(
        ["-4 4", "1 -1", "0 0", "-8 8", "-100000 100000", "nan 1", "-inf 1", "a b", "3"]
    ),
    "--points": st.sampled_from(["2", "33", "1", "0", "-5", "x", "2.5"]),
    "--step": st.sampled_from(["0.25", "0.5", "0", "-0.1", "nan", "abc"]),
    "--param": st.sampled_from(
        ["negative_slope=0.1", "alpha=-1", "alpha=x", "beta", "relu.x=1", "elu.alpha=2"]
    ),
    "--eps": st.sampled_from(["0.01", "0.5", "0", "1", "-1", "nan", "x"]),
}
PROBE_OPTIONS = {
    **GRID_OPTIONS,
    "--dtype": st.sampled_from(["float32", "float64", "float16", "bfloat16", "int8", "x"]),
    "--device": st.sampled_from(["cpu", "cuda", "tpu"]),
    "--seed": st.sampled_from(["0", "7", "-1", "x"]),
    "--train": st.just(None),
    "--second": st.just(None),
    "--no-kinks": st.just(None),
}
OUTPUT_OPTIONS = {
    "--dpi": st.sampled_from(["20", "30", "5", "0", "1201", "abc"]),
    "--bogus": st.just(None),
}
COMMANDS: dict[str, dict[str, st.SearchStrategy[str | None]]] = {
    "plot": {
        **PROBE_OPTIONS,
        **OUTPUT_OPTIONS,
        "--out": st.sampled_from(["out/p.png", "out/p.svg", "out/p.txt", "blocker/p.png", "out"]),
        "--format": st.sampled_from(["png", "svg", "pdf", "bmp"]),
        "--no-shade": st.just(None),
    },
    "table": {**PROBE_OPTIONS, "--json": st.just(None), "--csv": st.just(None)},
    "saturation": {
        **GRID_OPTIONS,
        "--dtype": st.sampled_from(["float32", "float16", "x"]),
        "--sort": st.sampled_from(["name", "peak", "dead", "float16", "bogus"]),
        "--reverse": st.just(None),
        "--json": st.just(None),
        "--csv": st.just(None),
    },
    "check": {"--param": GRID_OPTIONS["--param"], "--json": st.just(None)},
    "export": {
        **GRID_OPTIONS,
        **OUTPUT_OPTIONS,
        "--out": st.sampled_from(["out", "out/sub", "blocker/sub"]),
        "--format": st.sampled_from(["png", "png,svg", "svg,pdf", ",", "bmp"]),
        "--theme": st.sampled_from(["light", "dark", "sepia"]),
        "--jobs": st.sampled_from(["1", "2", "0", "-1", "64", "x"]),
        "--check": st.just(None),
        "--prune": st.just(None),
        "--all": st.just(None),
    },
    "graph": {
        "--set": st.sampled_from(["w=3", "x=1,2", "b=-1", "w=a", "x", "z=1"]),
        "--const": st.sampled_from(["x", "y"]),
        "--out": st.sampled_from(["out/g.svg", "out/g.dot", "out/g.png", "out/g.txt", "-V.svg"]),
        "--eps": st.sampled_from(["0.001", "0", "-1", "x"]),
    },
    "jacobian": {
        "--input": st.sampled_from(["0.5 -1 2", "1", "x"]),
        "--random": st.sampled_from(["3", "0", "-2", "x"]),
        "--seed": st.sampled_from(["0", "x"]),
        "--out": st.sampled_from(["out/j.png", "out/j.txt"]),
        "--explain": st.just(None),
        "--json": st.just(None),
    },
    "list": {"--json": st.just(None)},
}
POSITIONAL = {
    "plot": st.lists(NAME, min_size=0, max_size=2),
    "table": st.lists(NAME, min_size=0, max_size=2),
    "saturation": st.lists(NAME, min_size=0, max_size=2),
    "check": st.lists(NAME, min_size=0, max_size=2),
    "export": st.lists(NAME, min_size=1, max_size=2),  # none would be all 23: too slow here
    "graph": st.lists(
        st.sampled_from(["w*w", "sigmoid(w*x + b)", "__import__('os')", "w ** 100", "", "x +"]),
        min_size=0,
        max_size=1,
    ),
    "jacobian": st.lists(
        st.sampled_from(["softmax", "log_softmax", "softmin", "bogus"]), min_size=0, max_size=1
    ),
    "list": st.just([]),
}


@st.composite
def argument_lists(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(sorted(COMMANDS)))
    vocabulary = COMMANDS[command]
    args = [command, *draw(POSITIONAL[command])]
    for option in draw(st.lists(st.sampled_from(sorted(vocabulary)), max_size=5)):
        value = draw(vocabulary[option])
        args.append(option)
        if value is not None:
            args.extend(value.split(" "))
    if draw(st.integers(0, 9)) == 0:  # now and then an option without its value
        args.append(draw(st.sampled_from(sorted(vocabulary))))
    return args


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def _assert_complete(folder: Path) -> None:
    """Only whole files: no temporary or lock file, every image, page and manifest complete."""
    for path in folder.rglob("*"):
        assert not path.name.startswith("."), f"left behind: {path}"
        if path.is_dir():
            continue
        data = path.read_bytes()
        assert data, f"empty file: {path}"
        if path.suffix == ".png":
            assert data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82"), path
        elif path.suffix == ".svg":
            assert data.rstrip().endswith(b"</svg>"), path
        elif path.suffix == ".pdf":
            assert data.rstrip().endswith(b"%%EOF"), path
        elif path.suffix == ".dot":
            assert data.rstrip().endswith(b"}"), path
        elif path.suffix == ".html":
            assert data.rstrip().endswith(b"</html>"), path
        elif path.name == "manifest.json":
            for name, entry in json.loads(data)["files"].items():
                on_disk = hashlib.sha256((path.parent / name).read_bytes()).hexdigest()
                assert entry["sha256"] == on_disk, f"manifest disagrees with {name}"


def _not_json(token: str) -> None:
    raise AssertionError(f"{token} is not JSON")


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(args=argument_lists())
def test_the_cli_keeps_its_promises(args: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp, _inside(Path(tmp)):
        (Path(tmp) / "blocker").write_text("a file where a folder is asked for")
        result = runner.invoke(app, args, env={"CI": "true", "COLUMNS": "120"})
        assert result.exit_code in (0, 1, 2, 130), (args, result.exit_code, result.output)
        if result.exception is not None:  # CliRunner keeps what would have been a traceback
            assert isinstance(result.exception, SystemExit), (args, repr(result.exception))
        assert "Traceback" not in result.output, (args, result.output)
        if result.exit_code != 0:
            lines = [line for line in result.stderr.splitlines() if not line.startswith("note:")]
            assert len(lines) == 1 and lines[0].startswith("Error: "), (args, result.stderr)
        elif "--json" in args and "--csv" not in args:
            json.loads(result.stdout, parse_constant=_not_json)
        (Path(tmp) / "blocker").unlink()
        _assert_complete(Path(tmp))
