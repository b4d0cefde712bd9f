"""`riskcast backtest` is tracked by default into the experiment that `compare` reads, and
`experiments promote --best` applies the promotion rule to the newest winner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from experiments import tracking
from experiments.champion import champion, promote_best
from experiments.runs import runs_of
from riskcast.cli import app
from tests.experiments import install_store


@pytest.fixture(autouse=True)
def store(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RISKCAST_CONFIG", install_store(isolated_home, top_regions=0))
    return tracking.tracking_uri()


@pytest.fixture
def panel_csv(tmp_path: Path, panel) -> Path:
    path = tmp_path / "panel.csv"
    panel.assign(month=panel["month"].dt.strftime("%Y-%m")).to_csv(path, index=False)
    return path


def _backtest(panel_csv: Path, out: Path, *extra: str, models=("zero", "conflictology")):
    args = ["backtest", "--panel", str(panel_csv), "--out", str(out), "--no-progress"]
    args += ["--origins", "2020-06:2020-12:6", "--horizon", "3", "--draws", "100"]
    for model in models:
        args += ["--model", model]
    result = CliRunner().invoke(app, [*args, *extra])
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.slow
def test_backtest_is_tracked_unless_no_track_and_compare_ranks_it(
    store, panel_csv, tmp_path
) -> None:
    _backtest(panel_csv, tmp_path / "untracked.csv", "--no-track")
    assert runs_of(tracking.experiments_config().backtest_experiment).empty

    shown = _backtest(panel_csv, tmp_path / "b.csv")
    assert "logged to MLflow experiment 'riskcast-backtests'" in shown.output
    backtests = runs_of("riskcast-backtests", kinds=["backtest"])
    children = runs_of("riskcast-backtests", kinds=["backtest-model"])
    assert len(backtests) == 1
    assert set(children["params.model"]) == {"zero", "conflictology"}
    assert (children["tags.mlflow.parentRunId"] == backtests["run_id"].iloc[0]).all()
    assert (children["params.n_draws"] == "100").all()

    # a second backtest on other origins: compare (no args) ranks the newest set, says which
    _backtest(panel_csv, tmp_path / "b2.csv", models=("conflictology", "poisson_mean"))
    compared = CliRunner().invoke(app, ["experiments", "compare"])
    assert compared.exit_code == 0, compared.output
    newest = runs_of("riskcast-backtests", kinds=["backtest"]).sort_values("start_time")
    assert "the newest of 2 comparable set(s)" not in compared.output  # same origins & data
    assert newest["run_id"].iloc[-1] in compared.output
    payload = json.loads(CliRunner().invoke(app, ["experiments", "compare", "--json"]).output)
    assert {row["model"] for row in payload["rows"]} == {"zero", "conflictology", "poisson_mean"}
    strict = CliRunner().invoke(app, ["experiments", "compare", "--strict"])
    assert strict.exit_code == 0  # one comparable set: nothing to refuse


@pytest.mark.slow
def test_promote_best_promotes_the_winner_once_then_keeps_it(store, panel_csv, tmp_path) -> None:
    _backtest(panel_csv, tmp_path / "b.csv", models=("zero", "conflictology", "poisson_mean"))
    compared = json.loads(CliRunner().invoke(app, ["experiments", "compare", "--json"]).output)
    winner = compared["rows"][0]
    line = promote_best()
    assert "is now champion" in line
    current = champion()
    assert current is not None and current.run_id == winner["run_id"]
    assert current.model == winner["model"]
    # the same backtest again: same score, so the champion stays and nothing fails
    _backtest(panel_csv, tmp_path / "again.csv", models=("zero", "conflictology", "poisson_mean"))
    kept = CliRunner().invoke(app, ["experiments", "promote", "--best"])
    assert kept.exit_code == 0, kept.output
    assert "champion kept" in kept.output
    assert champion().run_id == winner["run_id"]
    version = MlflowClient(store).get_model_version_by_alias("riskcast", "champion")
    assert version.run_id == winner["run_id"]
    neither = CliRunner().invoke(app, ["experiments", "promote"])
    assert neither.exit_code != 0
