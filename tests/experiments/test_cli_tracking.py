"""`riskcast backtest` is tracked by default into the experiment that `compare` reads, and
`experiments promote --best` applies the promotion rule to the newest winner."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from cli import app
from experiments import tracking
from experiments.champion import champion, promote_best
from experiments.config import experiments_config
from experiments.runs import runs_of
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
    assert runs_of(experiments_config().backtest_experiment).empty

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


def test_tables_fit_100_columns_without_cutting_ids_or_numbers() -> None:
    from rich.console import Console

    from experiments.cli import _leaderboard_columns, _rich_table

    run_ids = ["ceb3ad61e84e4a6dbbd53e0fa993e3fe", "fff4d4a1bab24b31b9f09580bc1a7e02"]
    board = pd.DataFrame(
        {
            "rank": [1, 2],
            "model": ["negbin_glm", "conflictology"],
            "feature_set_hash": ["8918409a", "8918409a"],
            "options": ["{}", "{}"],
            "crps_log": [0.711734, 0.766912],
            "skill": [0.0719234, 0.0],
            "crps_log_h1": [0.59, 0.67],
            "crps": [14.8675, 14.7073],
            "interval_score_90": [1160.95, 114.2],
            "coverage_90": [0.9254, 0.8217],
            "run_id": run_ids,
            "parent_run_id": ["290081bd8eb74558bee7033e70260627"] * 2,
        }
    )
    board.attrs["metric"] = "crps_log"
    runs = pd.DataFrame(
        {
            "run_id": run_ids,
            "kind": ["backtest", "refit"],
            "started": ["2026-12-03 09:33", "2026-12-03 09:32"],
            "trigger": ["cli", "schedule"],
            "models": ["zero,no_change,conflictology,poisson_mean,ets,ensemble", "ets"],
        }
    )
    texts = []
    for frame, columns in ((board, _leaderboard_columns(board)), (runs, list(runs.columns))):
        console = Console(width=100, record=True)
        console.print(_rich_table(frame, "t", columns))
        texts.append(console.export_text())
        assert max(len(line) for line in texts[-1].splitlines()) <= 100
        assert all(run_id in texts[-1] for run_id in run_ids)  # whole: they are copied
    assert "0.7117" in texts[0] and "0.07192" in texts[0] and "conflictology" in texts[0]
    assert "2026-12-03 09:33" in texts[1] and "schedule" in texts[1]
    assert "zero,no_change" in texts[1] and "ensemble" not in texts[1]
    assert "…" in texts[1]  # the long model list is cut with an ellipsis, not folded
    wide = _leaderboard_columns(board, wide=True)
    assert {"crps_log_h1", "interval_score_90", "parent_run_id"} <= set(wide)
    console = Console(width=400, record=True)
    console.print(_rich_table(board, "t", wide))
    assert "1,161" in console.export_text()  # thousands whole, never "116…"
