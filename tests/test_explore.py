"""actviz explore: the numbers in the page are torch's, and the page is self-contained.

Every curve is held to plain torch (tests/explore_truth.py: torch.nn.functional on
the page's own samples, the probe's kernel route), bit for bit: both sides run
the same kernels on the same contiguous, padded batch on this machine, so the
bits agree whatever the CPU (another CPU changes both alike). The page's data
block is decoded independently of actviz's encoder and must hold exactly those
numbers. The verifier is shown a wrong number and must catch it.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from actviz.cli import app
from actviz.display import number
from actviz.errors import (
    CustomActivationError,
    InvalidGridError,
    InvalidParameterError,
    UnknownActivationError,
    UnknownFormatError,
    UsageError,
)
from actviz.explore import SLIDER_VALUES, Curve, ExploredActivation, Explorer, explorer
from actviz.explore.data import MAX_POSITIONS, POINTS, points_for
from actviz.params import sweep
from actviz.registry import ACTIVATIONS, names, spec
from tests import routes
from tests.explore_truth import FUNCTIONS, curve_arrays, decode, page_payload, torch_values

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
SIZE_BUDGET = 3_000_000  # bytes: the budget for the page of every activation
SMALL = ["sigmoid", "leaky_relu", "hardtanh", "gelu"]


@pytest.fixture(scope="module")
def small() -> Explorer:
    return explorer(SMALL, jobs=1)


@pytest.fixture(scope="module")
def everything() -> Explorer:
    return explorer(names(), jobs=1)


# --- the verifier: every curve against plain torch ------------------------------------


def mismatches(made: Explorer) -> list[str]:
    """Each curve whose x is not the range's grid, or whose f, f′ or f″ differs from
    plain torch's at those x (exactly: see the module's docstring)."""
    problems: list[str] = []
    for entry in made.activations:
        for (position, dtype), curve in entry.curves.items():
            if curve.probe is None:
                continue
            p = curve.probe
            where = f"{entry.name} {dict(curve.params)} {dtype} {position}"
            if not (np.all(np.diff(p.x) > 0) and p.x[0] == made.plan.start):
                problems.append(f"{where}: x is not an increasing grid from the start")
            smooth = not entry.activation.piecewise_linear
            y, g, g2 = torch_values(entry.name, curve.params, p.x, dtype, second=smooth)
            for what, mine, truth in (("f", p.y, y), ("f′", p.grad, g), ("f″", p.grad2, g2)):
                if what == "f″" and entry.activation.piecewise_linear:
                    continue  # not drawn: 0 off the kinks
                assert mine is not None
                bad = np.flatnonzero(~((mine == truth) | (np.isnan(mine) & np.isnan(truth))))
                if len(bad):
                    i = bad[0]
                    problems.append(
                        f"{where}: {what}({p.x[i]}) = {mine[i]!r}, torch says {truth[i]!r} "
                        f"({len(bad)} samples differ)"
                    )
    return problems


def page_mismatches(made: Explorer, page: str) -> list[str]:
    """Each curve whose numbers in the page differ from the explorer's (which
    :func:`mismatches` holds to torch), decoded independently of the encoder."""
    manifest, floats, codes = decode(page_payload(page))
    problems: list[str] = []
    assert [a["name"] for a in manifest["activations"]] == made.names
    for entry, shown in zip(made.activations, manifest["activations"], strict=True):
        assert [s["name"] for s in shown["sliders"]] == [s.name for s in entry.sliders]
        for (position, dtype), curve in entry.curves.items():
            found = shown["curves"][f"{','.join(map(str, position))}|{dtype}"]
            where = f"{entry.name} {position} {dtype}"
            if curve.probe is None:
                if found["refused"] != curve.refused:
                    problems.append(f"{where}: refusal {found['refused']!r}")
                continue
            arrays = curve_arrays(found, floats, codes)
            p = curve.probe
            for key, mine in (("x", p.x), ("y", p.y), ("g", p.grad)):
                if not np.array_equal(np.asarray(arrays[key]), mine, equal_nan=True):
                    problems.append(f"{where}: the page's {key} is not the probe's")
            smooth = not entry.activation.piecewise_linear
            if smooth and not np.array_equal(
                np.asarray(arrays["g2"]), np.asarray(p.grad2), equal_nan=True
            ):
                problems.append(f"{where}: the page's f″ is not the probe's")
            s = curve.saturation
            assert s is not None
            if [tuple(r) for r in found["facts"]] != s.summary_rows():
                problems.append(f"{where}: the page's summary is not the analysis's")
            regimes = np.array(manifest["regimeCodes"])[arrays["r"]]
            expected = np.where(regimes == "dead (rounded)", "dead", regimes)
            if not np.array_equal(expected, s.regime.astype(str)):
                problems.append(f"{where}: the page's regimes are not the analysis's")
    return problems


def test_the_truth_covers_every_activation() -> None:
    assert sorted(FUNCTIONS) == sorted(names())


def test_every_curve_is_torchs(small: Explorer) -> None:
    assert mismatches(small) == []
    assert page_mismatches(small, small.html()) == []


def _injected(made: Explorer, name: str, field: str, delta: float) -> Explorer:
    """``made`` with one sample of one curve changed by ``delta``."""
    entries = []
    for entry in made.activations:
        if entry.name != name:
            entries.append(entry)
            continue
        curves = dict(entry.curves)
        key, curve = next((k, c) for k, c in curves.items() if c.probe is not None)
        assert curve.probe is not None
        values = np.array(getattr(curve.probe, field))
        values[len(values) // 3] += delta
        from dataclasses import replace

        changed: dict[str, Any] = {field: values}
        probe = replace(curve.probe, **changed)
        curves[key] = Curve(curve.params, curve.dtype, probe, curve.saturation, None, curve.shown)
        entries.append(ExploredActivation(entry.activation, entry.fixed, entry.sliders, curves))
    return Explorer(tuple(entries), made.plan, made.environment, made.theme)


@pytest.mark.parametrize("field", ["y", "grad", "grad2"])
def test_the_verifier_catches_a_wrong_number(small: Explorer, field: str) -> None:
    wrong = _injected(small, "sigmoid", field, 1e-3)
    found = mismatches(wrong)
    assert len(found) == 1 and found[0].startswith("sigmoid"), found
    # a page written from the wrong numbers no longer matches the right ones
    assert page_mismatches(small, wrong.html()) != []


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_random_curves_are_torchs(everything: Explorer, data: st.DataObject) -> None:
    """Any activation, any slider position, any dtype: plain torch's numbers."""
    entry = data.draw(st.sampled_from(everything.activations))
    position, dtype = data.draw(st.sampled_from(sorted(entry.curves)))
    curve = entry.curves[(position, dtype)]
    if curve.probe is None:
        assert curve.refused and entry.name == "rrelu"  # lower above upper
        return
    smooth = not entry.activation.piecewise_linear
    y, g, g2 = torch_values(entry.name, curve.params, curve.probe.x, dtype, second=smooth)
    # NaN where torch gives NaN (mish's f″ in float16 far left)
    assert np.array_equal(curve.probe.y, y, equal_nan=True)
    assert np.array_equal(curve.probe.grad, g, equal_nan=True)
    if smooth:
        assert np.array_equal(np.asarray(curve.probe.grad2), g2, equal_nan=True)


@pytest.mark.slow
def test_every_activation_every_position(everything: Explorer) -> None:
    assert mismatches(everything) == []


@pytest.mark.slow
def test_the_page_of_every_activation_fits_the_budget(everything: Explorer, tmp_path: Path) -> None:
    path = everything.write(tmp_path / "explore.html")
    size = path.stat().st_size
    print(f"explore --all: {size:,} bytes ({size / SIZE_BUDGET:.0%} of the budget)")
    assert size <= SIZE_BUDGET
    assert page_mismatches(everything, path.read_text()) == []
    # every slider position of every activation is in it, in every dtype
    count = sum(math.prod(len(s.values) for s in a.sliders) for a in everything.activations)
    assert sum(len(a.curves) for a in everything.activations) == 3 * count


def test_edges_are_where_torch_rounds_f_prime_to_zero(small: Explorer) -> None:
    """sigmoid's float16 and bfloat16 edges, against every representable value."""
    entry = small["sigmoid"]
    for dtype in ("float16", "bfloat16"):
        underflow = entry.curve(dtype).saturation.underflow[dtype]  # type: ignore[union-attr]
        for side, sign in (("left", -1.0), ("right", 1.0)):
            truth = routes.edge("sigmoid", dtype, sign, "batched", routes.LOW)
            assert underflow.side(side, "underflow") == truth, (dtype, side)


def test_regimes_say_what_the_samples_say(small: Explorer) -> None:
    """Dead means torch's f′ is exactly 0 (and a 0 is dead, or a sign change of f′)."""
    for entry in small.activations:
        for curve in entry.curves.values():
            if curve.probe is None or curve.saturation is None:
                continue
            zero = curve.probe.grad == 0
            dead = curve.saturation.regime == "dead"
            assert not (dead & ~zero).any(), entry.name
            assert set(curve.saturation.regime[zero]) <= {"dead", "active"}, entry.name


# --- sliders --------------------------------------------------------------------------


def test_every_registered_parameter_has_a_slider() -> None:
    for act in ACTIVATIONS:
        table = SLIDER_VALUES.get(act.name, {})
        assert set(table) == {p.name for p in act.params}, act.name
        for param in act.params:
            values = table[param.name]
            assert param.default in values, (act.name, param.name)
            assert len(set(values)) == len(values) >= 2
            assert sorted(values) == list(values) or param.choices, (act.name, param.name)
            for v in values:
                param.coerce(v, act.name)
    assert set(SLIDER_VALUES) <= set(names())


def test_two_sliders_make_every_combination(small: Explorer) -> None:
    entry = small["hardtanh"]
    assert [s.name for s in entry.sliders] == ["min_val", "max_val"]
    count = len(entry.sliders[0].values) * len(entry.sliders[1].values)
    assert len({p for p, _ in entry.curves}) == count
    curve = entry.curve("float32", min_val=-2.0, max_val=3.0)
    assert curve.probe is not None
    assert curve.probe.params == {"min_val": -2.0, "max_val": 3.0}
    assert curve.probe.y.min() == -2.0 and curve.probe.y.max() == 3.0


def test_a_combination_the_registry_refuses_keeps_its_reason() -> None:
    made = explorer("rrelu", dtypes=["float32"], jobs=1)
    curve = made["rrelu"].curve("float32", lower=0.5, upper=0.2)
    assert curve.probe is None
    assert curve.refused == "rrelu: lower (0.5) must not exceed upper (0.2)"


def test_sweeps_choose_the_stops_and_params_remove_the_slider() -> None:
    made = explorer(
        [sweep("leaky_relu", {"negative_slope": [0.0, 0.3]}), spec("elu", {"alpha": 0.5})],
        dtypes=["float32"],
        jobs=1,
    )
    assert [(s.name, s.values) for s in made["leaky_relu"].sliders] == [
        ("negative_slope", (0.0, 0.3))
    ]
    elu = made["elu(alpha=0.5)"]
    assert elu.sliders == () and elu.fixed == {"alpha": 0.5}
    assert mismatches(made) == []
    with pytest.raises(InvalidParameterError, match="stops at 0, 0.3"):
        made["leaky_relu"].curve("float32", negative_slope=0.1)


def test_an_activation_of_your_own(user_modules: Any) -> None:
    user_modules(
        myacts="import torch\n"
        "def swish(x):\n    return x * torch.sigmoid(x)\n"
        "class Scaled(torch.nn.Module):\n"
        "    def __init__(self, scale=2.0):\n"
        "        super().__init__()\n        self.scale = scale\n"
        "    def forward(self, x):\n        return self.scale * torch.tanh(x)\n"
    )
    made = explorer(["myacts:swish", "myacts:Scaled"], dtypes=["float32"], jobs=1)
    fn, module = made.activations
    assert fn.sliders == ()  # a function declares no parameters
    assert [(s.name, s.values, s.default) for s in module.sliders] == [
        ("scale", (0.5, 1.0, 2.0, 4.0, 8.0), 2.0)
    ]
    probe = fn.curve("float32").probe
    assert probe is not None
    import torch

    x = torch.from_numpy(probe.x.copy()).float()
    assert np.array_equal(probe.y, (x * torch.sigmoid(x)).double().numpy())
    assert "myacts:swish" in made.html()


# --- the page ---------------------------------------------------------------------------


def test_the_page_fetches_nothing(small: Explorer) -> None:
    page = small.html()
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page, re.IGNORECASE)
    assert not re.search(r"""(src|href)\s*=""", page, re.IGNORECASE)
    for word in ("@import", "url(", "fetch(", "XMLHttpRequest", "import(", "<link", "<iframe"):
        assert word not in page, word


def test_the_notebook_view_is_the_pages_body_scoped(small: Explorer) -> None:
    fragment = small._repr_html_()
    assert fragment in small.html()
    assert fragment.startswith('<div class="actviz-explore"')
    assert " id=" not in fragment  # two explorers in one notebook cannot clash
    style = re.search(r"<style>(.*?)</style>", fragment, re.DOTALL)
    assert style
    rules = re.sub(r"/\*.*?\*/", "", style.group(1), flags=re.DOTALL)
    for selector in re.findall(r"([^{}]+)\{", rules):
        if selector.strip().startswith("@media"):
            continue
        for part in selector.split(","):
            assert part.strip().startswith(".actviz-explore"), part


def test_same_numbers_same_bytes(small: Explorer) -> None:
    again = explorer(SMALL, jobs=1)
    assert again.html() == small.html()


def test_hover_numbers_are_the_one_format(small: Explorer) -> None:
    """The page's summaries are display.number's (its hover is explore.js's port,
    held to display.number in tests/test_explore_browser.py)."""
    s = small["sigmoid"].curve("float16").saturation
    assert s is not None
    rows = dict(s.summary_rows())
    assert rows["f(0), f′(0)"] == f"{number(0.5, 'float16')}, {number(0.25, 'float16')}"


def test_forked_workers_give_the_same_page(tmp_path: Path) -> None:
    """jobs=2 in a fresh process (forked workers) writes what jobs=1 here writes."""
    out = tmp_path / "forked.html"
    code = (
        "from actviz.explore import explorer\n"
        f"explorer(['elu', 'sigmoid'], jobs=2).write({str(out)!r})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text() == explorer(["elu", "sigmoid"], jobs=1).html()


def test_a_worker_that_dies_is_an_error_not_a_hang(tmp_path: Path) -> None:
    """A worker killed mid-work (here: it exits as soon as it computes) is a
    RuntimeFailure saying so, not a hang or a half-written page."""
    code = (
        "import os\n"
        "import actviz.explore.data as data\n"
        "from actviz.errors import RuntimeFailure\n"
        "from actviz.explore import explorer\n"
        "parent, real = os.getpid(), data._curve\n"
        "def dying(*args, **kwargs):\n"
        "    if os.getpid() != parent:\n"
        "        os._exit(3)\n"
        "    return real(*args, **kwargs)\n"
        "data._curve = dying\n"
        "try:\n"
        "    explorer(['relu', 'sigmoid'], jobs=2)\n"
        "except RuntimeFailure as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "a worker process died while computing the explorer's curves; "
        "run again with jobs=1 to see why"
    )


def test_points_follow_the_dtype() -> None:
    assert points_for(-20, 20, "float32") == POINTS
    assert points_for(-20, 20, "float16") == POINTS
    # bfloat16 holds values 0.125 apart at |x| = 20: 321 samples, each a distinct value
    assert points_for(-20, 20, "bfloat16") == 321


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: explorer([]), UsageError, "activations must be"),
        (lambda: explorer("nope"), UnknownActivationError, "unknown activation 'nope'"),
        (lambda: explorer("relu", dtypes=["float64"]), InvalidParameterError, "dtypes"),
        (lambda: explorer("relu", jobs=0), UsageError, "jobs must be"),
        (lambda: explorer("relu", theme="blue"), UnknownFormatError, "theme must be"),
        (lambda: explorer("relu", start=5, stop=1), InvalidGridError, "start"),
        (lambda: explorer("relu", start=-1e5, stop=1e5), InvalidGridError, "float16"),
        (
            lambda: explorer(sweep("hardtanh", {"min_val": list(range(-13, 0))})),
            InvalidParameterError,
            f"above the cap of {MAX_POSITIONS}",
        ),
    ],
)
def test_library_errors_name_the_parameter(call: Any, error: type, words: str) -> None:
    with pytest.raises(error, match=re.escape(words)):
        call()


def test_write_refuses_other_files(small: Explorer, tmp_path: Path) -> None:
    with pytest.raises(UnknownFormatError, match="path: the explorer is an HTML page"):
        small.write(tmp_path / "x.png")


# --- the command line -------------------------------------------------------------------


def test_cli_writes_the_page(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "explore.html"
    done = runner.invoke(
        app, ["explore", "leaky_relu", "--sweep", "negative_slope=0,0.2", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert done.output.startswith(f"wrote {out} (")
    assert "1 activation(s), 6 curves in float32, bfloat16, float16" in done.output
    manifest, _, _ = decode(page_payload(out.read_text()))
    (only,) = manifest["activations"]
    assert only["sliders"] == [{"name": "negative_slope", "values": ["0", "0.2"], "start": 0}]


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        ([], 2, "Error: name activations or give --all"),
        (["relu", "--all"], 2, "Error: name activations or give --all, not both"),
        (["glu"], 2, "Error: glu takes two inputs"),
        (["relu", "--out", "x.png"], 2, "Error: --out: the explorer is an HTML page"),
        (
            ["relu", "--out", "."],
            2,
            "Error: --out: the explorer is an HTML page; name it .html (got '.')",
        ),
        (["relu", "--param", "x=1"], 2, "Error: relu has no parameter 'x'"),
        (["relu", "--range", "3", "1"], 2, "Error: start (3) must be less than stop (1)"),
        (["relu", "--theme", "blue"], 2, "Invalid value"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, args: list[str], code: int, words: str) -> None:
    out = [] if "--out" in args else ["--out", str(tmp_path / "e.html")]
    done = runner.invoke(app, ["explore", *args, *out])
    assert done.exit_code == code, done.output
    lines = [line for line in done.output.splitlines() if line.strip()]
    assert any(words in line for line in lines), done.output
    assert "Traceback" not in done.output
    assert not (tmp_path / "e.html").exists()


def test_the_gallery_links_to_the_page_beside_it(tmp_path: Path) -> None:
    from actviz.export import export
    from actviz.params import targets_from_cli

    export(targets_from_cli(["relu"]), tmp_path, jobs=1)
    assert "explore.html" not in (tmp_path / "index.html").read_text()
    explorer("relu", dtypes=["float32"], jobs=1).write(tmp_path / "explore.html")
    export(targets_from_cli(["relu"]), tmp_path, jobs=1)
    assert '<a href="explore.html">explore.html</a>' in (tmp_path / "index.html").read_text()


# --- an activation of your own with int, bool and text arguments (issue 24's page) -----

POW = (
    "import torch\n"
    "class Pow(torch.nn.Module):\n"
    "    def __init__(self, k: int = 2, flag: bool = False, mode: str = 'a'):\n"
    "        super().__init__()\n"
    "        if type(k) is not int or type(flag) is not bool or mode not in ('a', 'b'):\n"
    "            raise ValueError(f'k={k!r} flag={flag!r} mode={mode!r}')\n"
    "        self.k, self.flag = k, flag\n"
    "    def forward(self, x):\n"
    "        return torch.tanh(x) ** self.k + (0.5 * x if self.flag else 0.0)\n"
    "class Needs(torch.nn.Module):\n"
    "    def __init__(self, k):\n"
    "        super().__init__()\n        self.k = k\n"
    "    def forward(self, x):\n        return torch.tanh(x) * self.k\n"
)


def _pow(x: Any, k: float, flag: str) -> Any:
    """Pow's f in plain torch, for the page's x (int k, bool flag)."""
    import torch

    return torch.tanh(x) ** int(k) + (0.5 * x if flag == "True" else 0.0)


def custom_mismatches(made: Explorer) -> list[str]:
    """Every float32 curve of myacts:Pow against :func:`_pow` at its own parameters."""
    import torch

    (entry,) = made.activations
    found = []
    for curve in entry.curves.values():
        if curve.probe is None:
            continue
        x = torch.from_numpy(curve.probe.x.copy()).float()
        want = _pow(x, float(curve.params["k"]), str(curve.params["flag"])).double().numpy()
        if not np.array_equal(curve.probe.y, want):  # the same float32 ops: bit for bit
            found.append(f"{entry.name} {dict(curve.params)}")
    return found


def test_int_bool_and_text_arguments_get_their_sliders(user_modules: Any) -> None:
    user_modules(myacts=POW)
    made = explorer("myacts:Pow", dtypes=["float32"], jobs=1)
    (entry,) = made.activations
    sliders = {s.name: s for s in entry.sliders}
    assert set(sliders) == {"k", "flag"}  # text (mode): no slider, its default
    assert all(float(v).is_integer() for v in sliders["k"].values)
    assert sliders["k"].default == 2.0 and len(sliders["k"].values) >= 3
    assert sliders["flag"].values == ("False", "True")
    assert all(c.refused is None for c in entry.curves.values())  # the module got an int k
    assert custom_mismatches(made) == []
    wrong = _injected(made, "myacts:Pow", "y", 1e-3)
    assert len(custom_mismatches(wrong)) == 1


@pytest.mark.parametrize("value", ["1.5", "two"])
def test_an_int_argument_takes_whole_numbers_only(user_modules: Any, value: str) -> None:
    user_modules(myacts=POW)
    for command in (["plot", "myacts:Pow", "--out", "x.png"], ["explore", "myacts:Pow"]):
        done = runner.invoke(app, [*command, "--param", f"k={value}"])
        assert done.exit_code == 2, done.output
        assert done.output.strip().splitlines() == [
            f"Error: myacts:Pow: k is an int argument; give a whole number (got '{value}')"
        ]
    assert not Path("x.png").exists()


def test_an_int_argument_given_whole_is_an_int(user_modules: Any) -> None:
    import torch

    user_modules(myacts=POW)
    from actviz.probing import probe

    found = probe(spec("myacts:Pow", {"k": "3"}), dtype="float32")
    x = torch.from_numpy(found.x.copy()).float()
    assert np.array_equal(found.y, (torch.tanh(x) ** 3).double().numpy())


@pytest.mark.parametrize(
    ("swept", "values"), [("flag", ("True", "False")), ("mode", ("a", "b")), ("k", (1.0, 3.0))]
)
def test_sweeps_of_every_kind_of_argument(
    user_modules: Any, swept: str, values: tuple[object, ...]
) -> None:
    user_modules(myacts=POW)
    made = explorer(sweep("myacts:Pow", {swept: list(values)}), dtypes=["float32"], jobs=1)
    (entry,) = made.activations
    assert [s.values for s in entry.sliders if s.name == swept] == [values]
    assert all(c.refused is None for c in entry.curves.values())
    assert custom_mismatches(made) == []


def test_a_required_argument_may_be_swept(user_modules: Any, tmp_path: Path) -> None:
    import torch

    user_modules(myacts=POW)
    done = runner.invoke(
        app, ["explore", "myacts:Needs", "--sweep", "k=1,2", "--out", str(tmp_path / "n.html")]
    )
    assert done.exit_code == 0, done.output
    made = explorer(sweep("myacts:Needs", {"k": [1, 2]}), dtypes=["float32"], jobs=1)
    (entry,) = made.activations
    assert [s.values for s in entry.sliders] == [(1.0, 2.0)]
    for k in (1.0, 2.0):
        found = entry.curve("float32", k=k).probe
        assert found is not None
        x = torch.from_numpy(found.x.copy()).float()
        assert np.array_equal(found.y, (torch.tanh(x) * k).double().numpy())


def test_a_failing_position_of_your_own_is_no_curve_there(user_modules: Any) -> None:
    user_modules(myacts=POW)
    made = explorer(sweep("myacts:Pow", {"mode": ["a", "c"]}), dtypes=["float32"], jobs=1)
    (entry,) = made.activations
    for curve in entry.curves.values():
        if curve.params["mode"] == "c":
            assert curve.refused is not None and "mode='c'" in curve.refused
            assert "\n" not in curve.refused
        else:
            assert curve.refused is None
    assert custom_mismatches(made) == []
    manifest, _, _ = decode(page_payload(made.html()))
    refused = [c for c in manifest["activations"][0]["curves"].values() if c["refused"]]
    assert len(refused) == len(entry.curves) // 2
    # every position failing: one line, as plot says
    with pytest.raises(CustomActivationError, match="mode='c'"):
        explorer(sweep("myacts:Pow", {"mode": ["c", "d"]}), dtypes=["float32"], jobs=1)


# --- where the page goes, and the same activation twice ------------------------------


def test_out_follows_a_link_and_refuses_a_device(tmp_path: Path) -> None:
    real = tmp_path / "real.html"
    real.write_text("old")
    link = tmp_path / "link.html"
    link.symlink_to(real)
    done = runner.invoke(app, ["explore", "relu", "--out", str(link)])
    assert done.exit_code == 0, done.output
    assert link.is_symlink() and real.read_text().startswith("<!doctype html>")
    device = tmp_path / "full.html"
    device.symlink_to("/dev/full")
    done = runner.invoke(app, ["explore", "relu", "--out", str(device)])
    assert done.exit_code == 1, done.output
    assert done.output.strip().splitlines() == [
        "Error: cannot write /dev/full: it is not a regular file; choose another --out"
    ]
    assert device.is_symlink()  # not replaced
    # the library's write() too: a link is a file you named
    relu = explorer("relu", dtypes=["float32"], jobs=1)
    real.write_text("old")
    relu.write(link)
    assert link.is_symlink() and real.read_text().startswith("<!doctype html>")


def test_the_default_name_replaces_a_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    elsewhere = tmp_path / "elsewhere.html"
    elsewhere.write_text("keep")
    (tmp_path / "outputs" / "explore.html").symlink_to(elsewhere)
    done = runner.invoke(app, ["explore", "relu"])
    assert done.exit_code == 0, done.output
    assert elsewhere.read_text() == "keep"
    assert not (tmp_path / "outputs" / "explore.html").is_symlink()


def test_the_same_activation_twice_is_explored_once(tmp_path: Path) -> None:
    made = explorer(["sigmoid", "sigmoid", "relu"], dtypes=["float32"], jobs=1)
    assert made.names == ["sigmoid", "relu"]
    done = runner.invoke(app, ["explore", "sigmoid", "sigmoid", "--out", str(tmp_path / "s.html")])
    assert done.exit_code == 0, done.output
    assert "1 activation(s)" in done.output
    manifest, _, _ = decode(page_payload((tmp_path / "s.html").read_text()))
    assert [a["name"] for a in manifest["activations"]] == ["sigmoid"]
    # the same activation at other fixed values is another entry
    two = explorer(
        [spec("elu", {"alpha": 0.5}), spec("elu", {"alpha": 2.0})], dtypes=["float32"], jobs=1
    )
    assert len(two.activations) == 2


# --- the kink line of each curve: torch's f′ at the kinks for that curve's parameters ---

# Where each one's kinks are, from torch's documentation (not actviz's registry).
KINKS: dict[str, Any] = {
    "leaky_relu": lambda p: [0.0],
    "prelu": lambda p: [0.0],
    "threshold": lambda p: [p["threshold"]],
    "hardtanh": lambda p: [p["min_val"], p["max_val"]],
}


def kink_mismatches(made: Explorer) -> list[str]:
    """Every curve's kink line (in the object and in the page) against plain torch's f′
    at the kinks, rounded to the curve's dtype, for the curve's own parameters."""
    import torch

    manifest, _, _ = decode(page_payload(made.html()))
    pages = {a["name"]: a["curves"] for a in manifest["activations"]}
    found = []
    for entry in made.activations:
        for (position, dtype), curve in entry.curves.items():
            if curve.shown is None:
                continue
            kinks = KINKS[entry.name](curve.params)
            x = torch.tensor(kinks, dtype=torch.float64).to(getattr(torch, dtype)).double()
            _, grad, _ = torch_values(entry.name, curve.params, x.numpy(), dtype, second=False)
            want = ", ".join(
                f"f′({number(k, dtype)}) = {number(g, dtype)}"
                for k, g in zip(x.tolist(), grad.tolist(), strict=True)
            )
            text = curve.shown.description["derivative"]
            on_page = pages[entry.name][f"{','.join(map(str, position))}|{dtype}"]["derivative"]
            if not text.endswith(f": {want}") or on_page != text:
                found.append(f"{entry.name} {dict(curve.params)} {dtype}: {text!r}, want {want}")
    return found


@pytest.fixture(scope="module")
def kinked() -> Explorer:
    return explorer(list(KINKS), jobs=1)


def test_the_kink_line_is_each_curves(kinked: Explorer) -> None:
    assert kink_mismatches(kinked) == []
    # the line moves with the slider: leaky_relu at 0 says 0, at 0.3 says 0.3
    leaky = kinked["leaky_relu"]
    for slope in (0.0, 0.3):
        shown = leaky.curve("float32", negative_slope=slope).shown
        assert shown is not None
        assert shown.description["derivative"].endswith(
            f"f′(0) = {number(float(np.float32(slope)), 'float32')}"
        )
    texts = {
        c.shown.description["derivative"]
        for c in kinked["hardtanh"].curves.values()
        if c.shown is not None and c.dtype == "float32"
    }
    assert len(texts) == len(SLIDER_VALUES["hardtanh"]["min_val"]) * len(
        SLIDER_VALUES["hardtanh"]["max_val"]
    )


def test_the_kink_verifier_catches_a_wrong_line(kinked: Explorer) -> None:
    entries = []
    for entry in kinked.activations:
        curves = dict(entry.curves)
        if entry.name == "threshold":
            key = next(k for k, c in curves.items() if c.params["threshold"] == 2.0)
            curve = curves[key]
            assert curve.shown is not None
            # the default parameters' line, as the page said before
            wrong = {**curve.shown.description, "derivative": entry.activation.derivative_text()}
            from actviz.explore.shown import Shown

            shown = Shown(curve.shown.codes, curve.shown.smooth, wrong)
            curves[key] = Curve(
                curve.params, curve.dtype, curve.probe, curve.saturation, None, shown
            )
        entries.append(ExploredActivation(entry.activation, entry.fixed, entry.sliders, curves))
    made = Explorer(tuple(entries), kinked.plan, kinked.environment, kinked.theme)
    found = kink_mismatches(made)
    assert len(found) == 1 and found[0].startswith("threshold"), found


@pytest.mark.parametrize(
    "range_", [(70000.0, 70001.0), (-1e300, 1e300), (-0.001, 0.001), (-1e-300, 1e-300)]
)
def test_range_errors_offer_only_what_explore_takes(range_: tuple[float, float]) -> None:
    """explore has no --dtype and no --points: its range errors must not suggest them
    (an outsider was told "use a wider range or --dtype float64")."""
    from actviz.errors import ActvizError

    with pytest.raises(ActvizError) as error:
        explorer(["sigmoid"], start=range_[0], stop=range_[1])
    assert "range" in str(error.value)
    assert not re.search(r"dtype|points", str(error.value).split(";")[-1]), str(error.value)
    words = ["explore", "sigmoid", "--range", repr(range_[0]), repr(range_[1]), "--out", "x.html"]
    result = CliRunner().invoke(app, words)
    assert result.exit_code == 2 and "--dtype" not in result.stderr
    assert "points" not in result.stderr.split(";")[-1]


def test_an_empty_out_is_quoted_as_given() -> None:
    """``--out ''`` was read as Path('') and reported as '.' (the outsider's finding)."""
    result = CliRunner().invoke(app, ["explore", "sigmoid", "--out", ""])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "(got '')" in result.stderr
