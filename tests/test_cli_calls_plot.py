"""plot, table, export and list are thin: each parses, makes one library call, prints.

Each test swaps the one library function a command calls for a fake (on the
library module, where the command looks it up when it runs) and checks the
exact arguments it received and that the command printed what it returned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO
from unittest import mock

import pytest
from typer.testing import CliRunner

from actviz import export, figure_files, params, registry, tables, terminal
from actviz.cli import app
from actviz.export import Report
from actviz.figure_files import FigureOptions
from actviz.probing import Grid, ProbeOptions

runner = CliRunner()


def test_plot_calls_write_plot_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = mock.Mock(return_value=Path("figs/pair.svg"))
    monkeypatch.setattr(figure_files, "write_plot", fake)
    args = ["plot", "relu", "leaky_relu", "elu", "--range", "-2", "3", "--points", "11",
            "--param", "leaky_relu.negative_slope=0.2", "--sweep", "elu.alpha=0.5,2",
            "--out", "figs/pair.svg", "--format", "svg", "--dpi", "300", "--dtype", "float64",
            "--second", "--train", "--seed", "7", "--eps", "0.05", "--no-shade", "--no-kinks",
            "--theme", "dark", "--figsize", "12", "5", "--xlim", "-1", "1",
            "--grad2-ylim", "-3", "3"]  # fmt: skip
    result = runner.invoke(app, args)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "wrote figs/pair.svg\n", "")
    # The command parsed the strings: the library gets specs, a Grid and the options.
    specs = params.specs_from_cli(
        ["relu", "leaky_relu", "elu"], ["leaky_relu.negative_slope=0.2"], ["elu.alpha=0.5,2"]
    )
    assert fake.call_args_list == [
        (
            (
                specs,
                Grid(-2.0, 3.0, 11, None),
                ProbeOptions("float64", "cpu", True, True, 7, kinks=False),
                FigureOptions(
                    out="figs/pair.svg",
                    fmt="svg",
                    dpi=300,
                    theme="dark",
                    figsize=(12.0, 5.0),
                    xlim=(-1.0, 1.0),
                    grad2_ylim=(-3.0, 3.0),
                    shade=False,
                ),
            ),
            {"eps": 0.05},
        )
    ]


def test_plot_of_a_lone_glu_passes_its_registry_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = mock.Mock(return_value=Path("outputs/glu.png"))
    monkeypatch.setattr(figure_files, "write_plot", fake)
    assert runner.invoke(app, ["plot", "GLU", "--points", "5"]).exit_code == 0
    ((target, grid, _, _), _) = fake.call_args_list[0]
    assert (target, grid) == (registry.two_input("glu"), Grid(points=5))


def test_plot_term_calls_plot_names_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = mock.Mock(return_value="the curves\nrelu: the summary")
    monkeypatch.setattr(terminal, "plot_names", fake)
    result = runner.invoke(app, ["plot", "relu", "--term", "--step", "0.5"])
    assert (result.exit_code, result.stdout) == (0, "the curves\nrelu: the summary\n")
    assert fake.call_args_list == [
        ((params.specs_from_cli(["relu"]), Grid(step=0.5), ProbeOptions()), {"eps": 0.01})
    ]
    # Image-file options with --term: refused by the command, which knows both flags.
    result = runner.invoke(app, ["plot", "relu", "--term", "--ylim", "0", "1"])
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: --ylim sets image files; --term draws in the terminal\n",
    )
    assert len(fake.call_args_list) == 1


def test_table_calls_write_table_once(monkeypatch: pytest.MonkeyPatch) -> None:
    def write(specs: Any, out: TextIO, *args: Any, **kwargs: Any) -> None:
        out.write("x,f(x)\n0.0,0.5\n")

    fake = mock.Mock(side_effect=write)
    monkeypatch.setattr(tables, "write_table", fake)
    args = ["table", "prelu", "--csv", "--points", "5", "--range", "-1", "1", "--weight-grad",
            "--param", "init=0.3", "--eps", "0.1", "--device", "cpu"]  # fmt: skip
    result = runner.invoke(app, args)
    assert (result.exit_code, result.stdout) == (0, "x,f(x)\n0.0,0.5\n")
    ((spec, _stream, grid, options), kwargs) = fake.call_args_list[0]
    assert len(fake.call_args_list) == 1
    assert spec == params.specs_from_cli(["prelu"], ["init=0.3"])[0]
    assert (grid, options) == (Grid(-1, 1, 5), ProbeOptions())
    assert kwargs == {"fmt": "csv", "eps": 0.1, "weight_grad": True}
    sweep = ["table", "leaky_relu", "--sweep", "negative_slope=0.1,0.2", "--json"]
    assert runner.invoke(app, sweep).exit_code == 0
    assert fake.call_args_list[1][1]["fmt"] == "json"
    assert fake.call_args_list[1][0][0] == params.sweeps_from_cli(["leaky_relu"], [], [sweep[3]])[0]
    assert runner.invoke(app, ["table", "relu"]).exit_code == 0
    assert fake.call_args_list[2][1]["fmt"] == "table"


def test_table_refuses_json_with_csv_before_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = mock.Mock(return_value=None)
    monkeypatch.setattr(tables, "write_table", fake)
    result = runner.invoke(app, ["table", "relu", "--json", "--csv"])
    assert (result.exit_code, result.stderr) == (2, "Error: give --json or --csv, not both\n")
    assert fake.call_args_list == []


def test_export_calls_export_once(monkeypatch: pytest.MonkeyPatch) -> None:
    def deliver(*args: Any, on_total: Any, on_file: Any, **kwargs: Any) -> Report:
        on_total(4)
        on_file(Path("gallery/relu.png"), "written")
        return report

    report = Report(written=[Path("gallery/relu.png")], unchanged=[Path("a"), Path("b")],
                    removed=[Path("gallery/old.png")], seconds=1.25)  # fmt: skip
    fake = mock.Mock(side_effect=deliver)
    monkeypatch.setattr(export, "export", fake)
    args = ["export", "leaky_relu", "--out", "gallery", "--format", "png,svg", "--dpi", "90",
            "--points", "11", "--range", "-2", "2", "--jobs", "1", "--prune", "--eps", "0.02",
            "--ylim", "0", "1", "--param", "negative_slope=0.2"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "written   gallery/relu.png\n1 files written, 2 unchanged, 1 removed in 1.2 s\n"
    )
    ((specs, out), kwargs) = fake.call_args_list[0]
    assert len(fake.call_args_list) == 1
    assert (specs, out) == (
        params.targets_from_cli(["leaky_relu"], ["negative_slope=0.2"], []),
        Path("gallery"),
    )
    assert callable(kwargs.pop("on_file")) and callable(kwargs.pop("on_total"))
    assert kwargs == {
        "formats": "png,svg",  # parsed once, by the library
        "dpi": 90,
        "theme": "light",
        "grid": Grid(-2.0, 2.0, 11, None),
        "eps": 0.02,
        "jobs": 1,
        "check": False,
        "prune": True,
        "figsize": None,
        "xlim": None,
        "ylim": [(0.0, 1.0), None],
    }


def test_export_check_prints_the_reports_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    stale = Report(missing=[Path("o/relu.png")], extra=[Path("o/x.svg")], folder=Path("o"),
                   check=True)  # fmt: skip
    monkeypatch.setattr(export, "export", mock.Mock(return_value=stale))
    result = runner.invoke(app, ["export", "--check", "--out", "o"])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: o is not current: missing o/relu.png; extra o/x.svg; run actviz export --prune\n"
    )
    current = Report(unchanged=[Path("o/relu.png")] * 3, folder=Path("o"), check=True)
    monkeypatch.setattr(export, "export", mock.Mock(return_value=current))
    result = runner.invoke(app, ["export", "--check", "--out", "o"])
    assert (result.exit_code, result.stdout) == (0, "o: all 3 files are current\n")


def test_export_prints_the_jobs_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "usable_cores", lambda: 2)
    monkeypatch.setattr(export, "export", mock.Mock(return_value=Report(seconds=0.04)))
    result = runner.invoke(app, ["export", "relu", "--jobs", "5"])
    assert result.exit_code == 0
    assert result.stderr == "note: --jobs 5 is more than the 2 usable cores; using 2\n"
    assert result.stdout == "0 files written, 0 unchanged in 0.0 s\n"
    assert export.jobs_note(2) is None and export.jobs_note(None) is None


@pytest.mark.parametrize("flags", [[], ["--json"]])
def test_list_calls_registry_listing_once(
    flags: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = mock.Mock(return_value="the listing")
    monkeypatch.setattr(tables, "registry_listing", fake)
    result = runner.invoke(app, ["list", *flags])
    assert (result.exit_code, result.stdout) == (0, "the listing\n")
    assert fake.call_args_list == [((), {"as_json": bool(flags)})]
