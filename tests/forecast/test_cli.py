"""`riskcast forecast` and `riskcast backtest` on a small CSV panel."""

from __future__ import annotations

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import forecast.cli
from forecast.output import FORECAST_COLUMNS
from riskcast.errors import InputError
from riskcast.months import format_month


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    forecast.cli.register(application)
    return application


@pytest.fixture
def panel_csv(tmp_path, panel):
    frame = panel[panel["series"] != "peacekeeper_casualties"].drop(columns="source")
    frame = frame.assign(month=frame["month"].map(format_month))
    path = tmp_path / "panel.csv"
    frame.to_csv(path, index=False)
    return path


def test_forecast_writes_contract_csv_and_samples(app, panel_csv, tmp_path) -> None:
    out, samples = tmp_path / "out" / "f.csv", tmp_path / "s.parquet"
    args = ["forecast", "--panel", str(panel_csv), "--origin", "2020-12", "--horizon", "3",
            "--model", "poisson_mean", "--draws", "100", "--out", str(out),
            "--samples", str(samples)]  # fmt: skip
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0, run.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == list(FORECAST_COLUMNS)
    assert set(frame["month"]) == {"2021-01", "2021-02", "2021-03"}
    assert set(frame["model"]) == {"poisson_mean"}
    assert len(pd.read_parquet(samples)) == len(frame) * 100
    assert "p_any_3" in run.output


def test_backtest_prints_table_and_writes_scores(app, panel_csv, tmp_path) -> None:
    out = tmp_path / "b.csv"
    args = ["backtest", "--panel", str(panel_csv), "--model", "conflictology", "--model",
            "poisson_mean", "--origins", "2019-12:2020-12:12", "--horizon", "12",
            "--draws", "100", "--out", str(out), "--no-progress", "--no-track"]  # fmt: skip
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0, run.output
    assert "conflictology" in run.output and "poisson_mean" in run.output
    scores = pd.read_csv(out)
    assert set(scores["origin"]) == {"2019-12", "2020-12"} and scores["horizon"].max() == 12
    summary = pd.read_csv(out.with_suffix(".summary.csv"))
    assert list(summary["model"]) == ["conflictology", "poisson_mean"]
    assert len(pd.read_csv(out.with_suffix(".by_horizon.csv"))) == 24


def test_cli_rejects_bad_horizon_and_bad_panel(app, panel_csv, tmp_path) -> None:
    runner = CliRunner()
    run = runner.invoke(app, ["forecast", "--panel", str(panel_csv), "--horizon", "40",
                              "--out", str(tmp_path / "f.csv")])  # fmt: skip
    assert run.exit_code != 0
    bad = tmp_path / "bad.csv"
    bad.write_text("region,month,series,value\nAA01,2020-01,fatalities,-3\n")
    run = runner.invoke(app, ["forecast", "--panel", str(bad), "--out", str(tmp_path / "f.csv")])
    assert isinstance(run.exception, InputError)
    assert "bad.csv" in str(run.exception) and "row 2" in str(run.exception)
    run = runner.invoke(app, ["backtest", "--panel", str(panel_csv), "--origins", "2021-06:2021-12",
                              "--out", str(tmp_path / "b.csv")])  # fmt: skip
    assert isinstance(run.exception, InputError) and "reach past" in str(run.exception)


def test_forecast_reads_the_store_when_no_panel_is_given(app, panel, tmp_path) -> None:
    from data.store import open_store

    store = open_store()
    try:
        store.ingest(panel, file="test-panel", file_hash="0" * 64, kind="csv")
    finally:
        store.close()
    out = tmp_path / "f.csv"
    run = CliRunner().invoke(app, ["forecast", "--horizon", "2", "--draws", "50", "--model",
                                   "conflictology", "--out", str(out)])  # fmt: skip
    assert run.exit_code == 0, run.output
    frame = pd.read_csv(out)
    assert set(frame["origin"]) == {"2021-12"} and set(frame["month"]) == {"2022-01", "2022-02"}


def test_empty_store_says_what_to_do(app, tmp_path) -> None:
    run = CliRunner().invoke(app, ["forecast", "--out", str(tmp_path / "f.csv")])
    assert isinstance(run.exception, InputError) and "--panel" in str(run.exception)


def test_ensemble_weighted_by_a_previous_backtest(app, panel_csv, tmp_path) -> None:
    runner = CliRunner()
    scores = tmp_path / "b.csv"
    run = runner.invoke(app, ["backtest", "--panel", str(panel_csv), "--model", "conflictology",
                              "--model", "poisson_mean", "--origins", "2018-12:2019-12:12",
                              "--horizon", "6", "--draws", "100", "--out", str(scores),
                              "--no-progress", "--no-track"])  # fmt: skip
    assert run.exit_code == 0, run.output
    out = tmp_path / "f.csv"
    args = ["forecast", "--panel", str(panel_csv), "--origin", "2020-12", "--horizon", "3",
            "--model", "ensemble", "--draws", "100", "--out", str(out),
            "--weights-from", str(scores.with_suffix(".summary.csv"))]  # fmt: skip
    run = runner.invoke(app, args)
    assert run.exit_code == 0, run.output
    assert set(pd.read_csv(out)["model"]) == {"ensemble"}
    args[args.index("ensemble")] = "zero"
    assert isinstance(runner.invoke(app, args).exception, InputError)


@pytest.mark.parametrize("command", ["forecast", "backtest"])
def test_help_shows_the_config_sections_rich_would_eat(app, command: str) -> None:
    """`[forecast]` in help text is rich markup unless escaped: it printed as "from )."."""
    shown = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    assert "default from [forecast])" in shown.output
    assert "from )" not in shown.output
    if command == "backtest":
        assert "default from [executor])" in shown.output and "--no-track" in shown.output


def test_backtest_nested_chooses_on_early_origins_and_reports_later_ones(app, panel_csv, tmp_path):
    out = tmp_path / "n.csv"
    args = ["backtest-nested", "--panel", str(panel_csv), "--model", "conflictology",
            "--model", "zero", "--select", "2017-12:2018-12:12", "--origins",
            "2019-12:2020-12:12", "--horizon", "12", "--draws", "100", "--out", str(out),
            "--no-progress"]  # fmt: skip
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0, run.output
    assert "chosen on 2017-12:2018-12:12: conflictology" in run.output
    scores = pd.read_csv(out)
    assert set(scores["origin"]) == {"2019-12", "2020-12"}
    selection = pd.read_csv(out.with_suffix(".selection.csv")).set_index("model")
    assert selection.loc["zero", "criterion"] > selection.loc["conflictology", "criterion"]
    late = args.copy()
    late[late.index("2017-12:2018-12:12")] = "2018-12:2019-06:6"  # 2019-06 + 12 > 2019-12
    run = CliRunner().invoke(app, late)
    assert run.exit_code != 0 and "reaches past the first scoring origin" in str(run.exception)
