"""Issue 20, CI use: ``actviz check --write-baseline FILE`` records a run's failures and
``--accept FILE`` reports them as known, so that ``check --all`` can gate CI on stock
torch: known failures pass, new ones fail (naming only them), and listed ones that no
longer fail are reported as fixed.

Which failures stock torch has depends on its version and kernel route, so every
expected list here is derived from one real ``check --all`` run (shared by the module),
never written out.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

import actviz
from actviz import registry
from actviz.check import baseline, verify
from actviz.check.baseline import Baseline, Gate, Verdict, dtype_of, judge
from actviz.cli import app
from actviz.environment import environment
from actviz.errors import BaselineError, OutputError, UsageError
from actviz.registry import Spec
from tests.conftest import UserModules

runner = CliRunner()
ROOT = str(Path(actviz.__file__).parents[1])


@pytest.fixture(scope="module")
def stock() -> list[verify.Check]:
    """One real ``check --all`` on this machine's torch (about 10 s)."""
    return verify.verify_all([registry.spec(n) for n in registry.names()])


@pytest.fixture()
def fake_all(
    stock: list[verify.Check], monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[verify.Check]]:
    """The CLI's ``check --all`` answered with the shared run; a test may change the
    list it gets to inject a failure."""
    checks = list(stock)

    def shared(specs: list[Spec], dtypes: Any, formula: str | None = None) -> list[verify.Check]:
        assert [s.label for s in specs] == [c.label for c in stock] and dtypes is None
        assert formula is None
        return checks

    monkeypatch.setattr(verify, "verify_all", shared)
    yield checks


@pytest.fixture()
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any check run fails the test: what is refused must be refused before the work."""

    def refused(specs: list[Spec], dtypes: Any, **_: Any) -> list[verify.Check]:
        raise AssertionError("the check ran")

    monkeypatch.setattr(verify, "verify_all", refused)


def _failing(checks: list[verify.Check]) -> dict[str, list[str]]:
    """label → its failures, in the run's order, for the labels that have any."""
    return {c.label: c.failures() for c in checks if c.failures()}


def _listing(found: dict[str, list[str]]) -> str:
    return "; ".join(f"{label} ({', '.join(items)})" for label, items in found.items())


def _strict(text: str) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in JSON output")

    return json.loads(text, parse_constant=refuse)


def test_stock_torch_fails_check_all_so_the_baseline_is_not_empty(
    stock: list[verify.Check],
) -> None:
    # the premise of the issue: without failures every test below would pass vacuously
    assert _failing(stock)
    assert len(stock) == len(registry.names())


def test_write_baseline_records_the_runs_failures_sorted_and_exits_0(
    fake_all: list[verify.Check], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", "--all", "--write-baseline", "known.json"])
    failing = _failing(fake_all)
    count = sum(len(items) for items in failing.values())
    labels = sorted(failing)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines()[-1] == (
        f"wrote known.json: {count} failures of {len(labels)} activations ({', '.join(labels)})"
    )
    env = environment().as_dict()
    expected = {
        "actviz": actviz.__version__,
        "baseline": 1,
        "environment": env,
        "failures": {label: sorted(failing[label]) for label in labels},
        "torch": str(torch.__version__),
    }
    text = (tmp_path / "known.json").read_text(encoding="utf-8")
    assert text == json.dumps(expected, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert "f′" in text or "gradcheck" in text  # the failures' own words, unescaped
    # stable: the same run writes the same bytes
    again = runner.invoke(app, ["check", "--all", "--write-baseline", "known.json", "--json"])
    assert again.exit_code == 0 and (tmp_path / "known.json").read_text() == text
    # with --json, stdout is the JSON alone and the note goes to stderr
    assert len(_strict(again.stdout)) == len(fake_all)
    assert again.stderr == result.stdout.splitlines()[-1] + "\n"


def test_accepting_the_runs_own_baseline_passes_and_reports_the_known(
    fake_all: list[verify.Check], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Baseline.from_checks(fake_all).write("known.json")
    result = runner.invoke(app, ["check", "--all", "--accept", "known.json"])
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    # rich wraps a long line at the terminal's width: compared with its spaces joined up
    assert _words(result.stdout).endswith(
        _words(f"known failures, accepted in known.json: {_listing(_failing(fake_all))}")
    )
    assert not any(line.startswith("no longer fails") for line in lines)
    # each failing row reads "known", none FAIL
    failing_rows = sum(
        not d.passed or (i == 0 and not (c.gradcheck and c.gradgradcheck is not False))
        for c in fake_all
        for i, d in enumerate(c.dtypes)
    )
    assert failing_rows > 0
    assert result.stdout.count("known │") == failing_rows
    assert "FAIL" not in result.stdout


def test_accept_json_marks_known_new_and_fixed_per_activation(
    fake_all: list[verify.Check], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Baseline.from_checks(fake_all).write("known.json")
    result = runner.invoke(app, ["check", "--all", "--accept", "known.json", "--json"])
    assert (result.exit_code, result.stderr) == (0, "")
    data = _strict(result.stdout)
    assert [d["label"] for d in data] == [c.label for c in fake_all]
    for raw, c in zip(data, fake_all, strict=True):
        assert (raw["known"], raw["new"], raw["fixed"]) == (c.failures(), [], []), c.label
        assert raw["passed"] is c.passed  # the check's own verdict is kept
    plain = _strict(runner.invoke(app, ["check", "--all", "--json"]).stdout)
    assert all("known" not in raw for raw in plain)  # only with --accept


def test_a_new_failure_fails_naming_only_it(
    fake_all: list[verify.Check], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Baseline.from_checks(fake_all).write("known.json")
    known = _failing(fake_all)
    # inject: a passing activation's gradcheck now fails
    at = next(i for i, c in enumerate(fake_all) if c.passed and c.has_reference)
    fake_all[at] = dataclasses.replace(fake_all[at], gradcheck=False)
    label = fake_all[at].label
    result = runner.invoke(app, ["check", "--all", "--accept", "known.json"])
    count = sum(len(items) for items in known.values())
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: derivative check failed for {label} (gradcheck) "
        f"(not in known.json; {count} known accepted)\n",
    )
    row = next(line for line in result.stdout.splitlines() if line.startswith(f"│ {label} "))
    assert row.rstrip().endswith("FAIL │")
    assert result.stdout.count("FAIL") == 2  # the gradcheck cell and the result
    assert _words(f"known failures, accepted in known.json: {_listing(known)}") in _words(
        result.stdout
    )


def test_an_entry_dropped_from_the_baseline_is_new(
    fake_all: list[verify.Check], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    failing = _failing(fake_all)
    label, items = next(iter(failing.items()))
    dropped = items[0]
    kept = {k: [i for i in v if (k, i) != (label, dropped)] for k, v in failing.items()}
    data = json.loads(Baseline.from_checks(fake_all).text())
    data["failures"] = {k: v for k, v in kept.items() if v}
    (tmp_path / "known.json").write_text(json.dumps(data))
    result = runner.invoke(app, ["check", "--all", "--accept", "known.json"])
    count = sum(len(v) for v in kept.values())
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: derivative check failed for {label} ({dropped}) "
        f"(not in known.json; {count} known accepted)\n",
    )


def test_a_stale_entry_is_reported_as_fixed_and_does_not_fail(
    fake_all: list[verify.Check], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    passing = [c for c in fake_all if c.passed and c.has_reference][:2]
    first, second = passing[0].label, passing[1].label
    data = json.loads(Baseline.from_checks(fake_all).text())
    data["failures"] |= {first: ["float32 f′", "gradcheck"], second: ["kink 0 (float16)"]}
    (tmp_path / "known.json").write_text(json.dumps(data))
    result = runner.invoke(app, ["check", "--all", "--accept", "known.json"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines()[-1] == (
        f"no longer fails: {first} (float32 f′, gradcheck); {second} (kink 0 (float16)); "
        "remove from known.json or rewrite it with --write-baseline"
    )
    raw = _strict(runner.invoke(app, ["check", "--all", "--accept", "known.json", "--json"]).stdout)
    fixed = {d["label"]: d["fixed"] for d in raw if d["fixed"]}
    assert fixed == {first: ["float32 f′", "gradcheck"], second: ["kink 0 (float16)"]}


def test_entries_this_run_did_not_check_are_neither_known_nor_fixed(
    stock: list[verify.Check],
) -> None:
    full = Baseline.from_checks(stock)
    # the run checked float32 alone, and not every activation
    only32 = [
        dataclasses.replace(c, dtypes=[d for d in c.dtypes if d.dtype == "float32"])
        for c in stock[: len(stock) // 2]
    ]
    listed = dict(full.failures) | {"not-checked": ("gradcheck",)}
    verdict = judge(only32, Baseline(listed))
    expected_known = {c.label: tuple(c.failures()) for c in only32 if c.failures()}
    assert verdict == Verdict(new={}, known=expected_known, fixed={})
    assert verdict.passed
    # a label checked in float64 with its float64 entry gone is fixed; its float32 is not
    fake = {"relu": ("float32 f′", "float64 f′")}
    relu = [c for c in stock if c.label == "relu"]
    only64 = [dataclasses.replace(relu[0], dtypes=[d for d in relu[0].dtypes
                                                   if d.dtype == "float64"])]  # fmt: skip
    assert judge(only64, Baseline(fake)) == Verdict({}, {}, {"relu": ("float64 f′",)})


def test_judge_sorts_each_failure_into_new_or_known(stock: list[verify.Check]) -> None:
    failing = _failing(stock)
    label = next(iter(failing))
    broken = [dataclasses.replace(c, gradcheck=False) if c.label == "relu" else c for c in stock]
    verdict = judge(broken, Baseline.from_checks(stock))
    assert verdict.new == {"relu": ("gradcheck",)} and not verdict.passed
    assert verdict.known == {k: tuple(v) for k, v in failing.items()}
    assert verdict.fixed == {}
    assert verdict.of(label) == {"known": failing[label], "new": [], "fixed": []}
    assert verdict.of("relu") == {"known": [], "new": ["gradcheck"], "fixed": []}
    # nothing accepted: every failure is new, and the message names them all
    bare = judge(stock, Baseline())
    assert bare.new == {k: tuple(v) for k, v in failing.items()} and bare.known == {}
    assert bare.failure_message("b.json") == (
        f"derivative check failed for {_listing(failing)} (not in b.json)"
    )
    assert judge(stock, Baseline.from_checks(stock)).failure_message("b.json") is None


def test_dtype_of_reads_the_dtype_a_failure_names() -> None:
    assert [dtype_of(i) for i in ("float64 f′", "kink 0 (bfloat16)", "gradcheck",
                                  "gradgradcheck", "float16 f″")] == [
        "float64", "bfloat16", None, None, "float16"
    ]  # fmt: skip


def test_a_baseline_round_trips_through_its_file(stock: list[verify.Check], tmp_path: Path) -> None:
    made = Baseline.from_checks(stock)
    path = made.write(tmp_path / "b.json")
    assert path == tmp_path / "b.json"
    assert Baseline.load(path) == made
    assert made.count() == sum(len(v) for v in _failing(stock).values())
    # duplicates and order in a hand-edited file do not matter
    parsed = Baseline.parse('{"baseline": 1, "failures": {"b": ["y", "x", "y"], "a": ["z"]}}')
    assert parsed.failures == {"a": ("z",), "b": ("x", "y")}
    assert parsed.torch is None and parsed.environment is None
    assert Baseline.parse('{"baseline": 1, "failures": {"a": []}}').failures == {}


def test_the_baseline_is_exported_with_the_public_api() -> None:
    assert actviz.Baseline is Baseline and actviz.Verdict is Verdict and actviz.judge is judge
    assert actviz.BaselineError is BaselineError and issubclass(BaselineError, UsageError)


MALFORMED = [
    (b"\xff\xfe", "it is not UTF-8 text"),
    (
        b"{",
        "it is not JSON (Expecting property name enclosed in double quotes: line 1 column 2 "
        "(char 1))",
    ),
    (b"[1]", "it holds a JSON array, not an object"),
    (b'"x"', "it holds a JSON string, not an object"),
    (b"{}", 'its "baseline" is none, not 1'),
    (b'{"baseline": true, "failures": {}}', 'its "baseline" is true, not 1'),
    (b'{"baseline": 2, "failures": {}}', 'its "baseline" is 2, not 1'),
    (b'{"baseline": {"version": "one and only"}}', 'its "baseline" is a JSON object, not 1'),
    (b"null", "it holds a JSON null, not an object"),
    (b"false", "it holds a JSON boolean, not an object"),
    (b'{"baseline": 1}', '"failures" must map each activation to a list of failures'),
    (
        b'{"baseline": 1, "failures": []}',
        '"failures" must map each activation to a list of failures',
    ),
    (
        b'{"baseline": 1, "failures": {"relu": "gradcheck"}}',
        "\"failures\" of 'relu' must be a list of non-empty strings",
    ),
    (
        b'{"baseline": 1, "failures": {"relu": [1]}}',
        "\"failures\" of 'relu' must be a list of non-empty strings",
    ),
    (
        b'{"baseline": 1, "failures": {"relu": [" "]}}',
        "\"failures\" of 'relu' must be a list of non-empty strings",
    ),
    (
        b'{"baseline": 1, "failures": {"": ["gradcheck"]}}',
        '"failures" has an empty activation label',
    ),
    (b'{"baseline": 1, "failures": {}, "extra": 1}', "unknown key 'extra'"),
    (b'{"baseline": 1, "failures": {}, "torch": 2}', '"torch" must be a string'),
    (b'{"baseline": 1, "failures": {}, "environment": []}', '"environment" must be an object'),
    (b'{"baseline": 1, "failures": {"relu": [NaN]}}', "it is not JSON (NaN is not JSON)"),
]


@pytest.mark.parametrize(("content", "why"), MALFORMED)
def test_a_malformed_baseline_is_one_usage_error_before_the_work(
    content: bytes, why: str, no_work: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.json").write_bytes(content)
    result = runner.invoke(app, ["check", "relu", "--accept", "bad.json"])
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        f"Error: bad.json is not an actviz check baseline: {why}; write one with "
        "actviz check --all --write-baseline bad.json\n",
    )
    with pytest.raises(BaselineError):
        Baseline.load(tmp_path / "bad.json")


def test_a_missing_folder_or_fifo_baseline_is_one_usage_error(
    no_work: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")  # opened without blocking: the command must not hang
    for name, why in (
        ("nope.json", "no such file; write one with actviz check --all --write-baseline nope.json"),
        ("folder", "it is a folder"),
        ("fifo", "it is not a regular file"),
    ):
        result = runner.invoke(app, ["check", "relu", "--accept", name])
        assert (result.exit_code, result.stderr) == (
            2,
            f"Error: cannot read the baseline {name}: {why}\n",
        ), name


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_baseline_is_one_usage_error(
    no_work: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b.json").write_text('{"baseline": 1, "failures": {}}')
    (tmp_path / "b.json").chmod(0)
    result = runner.invoke(app, ["check", "relu", "--accept", "b.json"])
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: cannot read the baseline b.json: Permission denied\n",
    )


def test_accept_and_write_baseline_together_are_refused(
    no_work: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", "relu", "--accept", "a", "--write-baseline", "b"])
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: give --accept or --write-baseline, not both\n",
    )


def test_where_a_baseline_cannot_be_written_is_refused_before_the_work(
    no_work: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    (tmp_path / "plain").write_text("")
    os.mkfifo(tmp_path / "fifo")
    for name, code, message in (
        (
            "missing/b.json",
            1,
            "cannot write the baseline missing/b.json: the folder missing does not exist",
        ),
        (
            "plain/b.json",
            1,
            "cannot write the baseline plain/b.json: the folder plain is a file, not a folder",
        ),
        ("folder", 2, "the baseline folder is a folder; give a file name such as known.json"),
        (
            "fifo",
            1,
            "cannot write the baseline fifo: it is not a regular file; choose another name",
        ),
        ("", 2, "the baseline '.' is not a file name; give one such as known.json"),
    ):
        result = runner.invoke(app, ["check", "relu", "--write-baseline", name])
        assert (result.exit_code, result.stderr) == (code, f"Error: {message}\n"), name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "folder", "plain"]


def test_a_baseline_is_written_through_a_link_the_user_named(
    stock: list[verify.Check], tmp_path: Path
) -> None:
    (tmp_path / "real.json").write_text("old")
    (tmp_path / "link.json").symlink_to("real.json")
    Baseline.from_checks(stock).write(tmp_path / "link.json")
    assert (tmp_path / "link.json").is_symlink()
    assert Baseline.load(tmp_path / "real.json") == Baseline.from_checks(stock)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_a_failed_write_is_an_output_error_leaving_the_old_file(
    stock: list[verify.Check], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "b.json").write_text("old")

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OutputError) as caught:
        Baseline.from_checks(stock).write(tmp_path / "b.json")
    assert str(caught.value) == (
        f"cannot write the baseline {tmp_path / 'b.json'}: No space left on device"
    )
    assert (tmp_path / "b.json").read_text() == "old"


def test_gate_without_a_baseline_fails_on_every_failure(stock: list[verify.Check]) -> None:
    gate = Gate.open(None, None)
    assert gate.judge(stock) is None
    assert gate.failure_message(stock, None) == verify.failure_message(stock)
    assert gate.finish(stock) is None
    assert gate.data(stock, None) == [c.as_dict() for c in stock]


# --- end to end, in a process of its own --------------------------------------------

WRONG = """
import torch


class _Tanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1 - y * y) * 1.1  # 10% off: a failure no baseline lists


def act(x):
    return _Tanh.apply(x)
"""


def _actviz(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": ROOT, "MPLBACKEND": "Agg", "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "actviz", *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip


@pytest.mark.slow
def test_check_all_is_green_with_its_baseline_and_red_on_an_injected_error(
    stock: list[verify.Check], user_modules: UserModules
) -> None:
    """The issue's "done means": a baseline makes ``check --all`` green on stock torch
    and red on an injected error. Two real ``check --all`` processes."""
    folder = user_modules(wrongmod=WRONG)
    plain = _actviz(folder, "check", "--all")
    assert plain.returncode == 1  # without a baseline, stock torch fails
    wrote = _actviz(folder, "check", "--all", "--write-baseline", "known.json")
    assert (wrote.returncode, wrote.stderr) == (0, "")
    made = Baseline.load(folder / "known.json")
    assert made.failures == Baseline.from_checks(stock).failures  # this process's run agrees
    assert wrote.stdout.splitlines()[-1] == baseline.summary(made, "known.json")
    green = _actviz(folder, "check", "--all", "--accept", "known.json")
    assert (green.returncode, green.stderr) == (0, "")
    listing = "; ".join(f"{k} ({', '.join(v)})" for k, v in judge(stock, made).known.items())
    assert _words(green.stdout).endswith(
        _words(f"known failures, accepted in known.json: {listing}")
    )
    # an injected error: a custom backward 10% off, checked beside an accepted activation
    known = next(iter(made.failures))
    red = _actviz(folder, "check", known, "wrongmod:act", "--accept", "known.json", "--json")
    assert red.returncode == 1
    found = {d["label"]: d for d in _strict(red.stdout)}
    new = found["wrongmod:act"]["new"]
    assert "gradcheck" in new and found["wrongmod:act"]["known"] == []
    assert found[known]["new"] == [] and sorted(found[known]["known"]) == list(made.failures[known])
    count = len(made.failures[known])
    assert red.stderr == (
        f"Error: derivative check failed for wrongmod:act ({', '.join(new)}) "
        f"(not in known.json; {count} known accepted)\n"
    )


def _words(text: str) -> str:
    """``text`` with every run of whitespace one space: a line rich wrapped, unwrapped."""
    return " ".join(text.split())
