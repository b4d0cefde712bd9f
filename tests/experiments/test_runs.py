"""Backtests and refits are MLflow runs whose params, tags, metrics and artifacts read back."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

import experiments.config
from experiments import tracking
from experiments.fingerprint import data_fingerprint
from experiments.runs import log_backtest, log_refit
from forecast.pipeline import forecast_from_panel
from jobs.config import load_config
from riskcast.errors import InputError, StoreUnavailableError
from tests.experiments import (
    HORIZON,
    MODELS,
    ORIGINS,
    install_store,
    small_backtest,
    template_store,
)


@pytest.fixture(autouse=True)
def store(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RISKCAST_CONFIG", install_store(isolated_home))
    return tracking.tracking_uri()


def test_default_store_is_sqlite_in_home_with_wal(store: str, isolated_home: Path) -> None:
    assert store == f"sqlite:///{isolated_home.resolve() / 'mlflow.db'}"
    with sqlite3.connect(isolated_home / "mlflow.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    experiment_id = tracking.ensure_experiment("demo")
    assert tracking.ensure_experiment("demo") == experiment_id  # idempotent
    location = MlflowClient(store).get_experiment(experiment_id).artifact_location
    assert location == (isolated_home.resolve() / "mlartifacts" / "demo").as_uri()


def test_env_tracking_uri_overrides_home(tmp_path: Path, monkeypatch) -> None:
    shutil.copy(template_store(), tmp_path / "elsewhere.db")
    other = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", other)
    assert tracking.tracking_uri() == other
    assert (tmp_path / "elsewhere.db").exists()
    assert "elsewhere.db" in tracking.ui_command()


def test_config_tracking_uri_and_env_precedence(tmp_path: Path, isolated_home, monkeypatch) -> None:
    shutil.copy(template_store(), tmp_path / "configured.db")
    configured = f"sqlite:///{tmp_path / 'configured.db'}"
    config = isolated_home / "riskcast.toml"
    config.write_text(f'[experiments]\ntracking_uri = "{configured}"\n')
    monkeypatch.setenv("RISKCAST_CONFIG", str(config))
    experiments.config.configure(load_config().experiments)  # as an entry point does
    assert tracking.tracking_uri() == configured
    assert tracking.tracking_uri() == configured  # MLflow's env echo does not confuse it
    shutil.copy(template_store(), tmp_path / "env.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'env.db'}")
    assert tracking.tracking_uri().endswith("env.db")  # the environment wins over the file


def test_unusable_store_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{blocker / 'mlflow.db'}")
    with pytest.raises(StoreUnavailableError, match="not-a-folder"):
        tracking.tracking_uri()


@pytest.mark.slow
def test_backtest_run_reads_back_through_mlflow_client(store: str, panel, registry) -> None:
    result = small_backtest(panel, registry)
    parent_id = log_backtest(
        result, panel=panel, registry=registry, trigger="cli", n_draws=200, seed=0
    )
    client = MlflowClient(store)
    parent = client.get_run(parent_id)
    assert parent.data.tags["kind"] == "backtest"
    assert parent.data.params["origins"] == "2019-12,2020-06"
    assert parent.data.params["horizon"] == str(HORIZON)
    assert parent.data.params["n_draws"] == "200"
    assert json.loads(parent.data.params["escalation_rule"])["floor"] == 25.0

    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    assert sorted(run.data.params["model"] for run in children) == sorted(MODELS)
    used = panel[panel["month"] <= ORIGINS[-1] + HORIZON]
    summary = result.summary()
    for run in children:
        data = run.data
        model = data.params["model"]
        assert data.tags["data_fingerprint"] == data_fingerprint(used)
        assert data.tags["trigger"] == "cli" and data.tags["synthetic"] == "false"
        assert data.tags["code_version"]
        assert len(data.params["feature_set_hash"]) == 16
        expected = summary.loc[summary["model"] == model].iloc[0]
        assert data.metrics["crps_log"] == pytest.approx(expected["crps_log"])
        assert data.metrics["coverage_90"] == pytest.approx(expected["coverage_90"])
        assert data.metrics["mae"] == pytest.approx(expected["ae_median"])
        assert "brier_skill" in data.metrics
        by_h = result.summary(by_horizon=True)
        h3 = by_h[(by_h["model"] == model) & (by_h["horizon"] == 3)].iloc[0]
        assert data.metrics["crps_log_h3"] == pytest.approx(h3["crps_log"])
        assert f"crps_log_h{HORIZON}" in data.metrics and "crps_log_h7" not in data.metrics

        paths = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"forecasts.csv", "scores.csv", "features.json", "reliability.png"} <= paths
        fans = client.list_artifacts(run.info.run_id, "fan_charts")
        assert len(fans) == 1 and fans[0].path.endswith(".png")
        local = client.download_artifacts(run.info.run_id, "forecasts.csv")
        logged = pd.read_csv(local)
        assert len(logged) == len(result.forecasts[result.forecasts["model"] == model])
        assert {"q0.05", "q0.95", "p_escalation"} <= set(logged.columns)
        assert data.tags["model_uri"].startswith("models:/")


@pytest.mark.slow
def test_refit_run_records_forecast_and_rejects_unknown_trigger(store, panel, registry) -> None:
    origin = pd.Period("2021-12", "M")
    result = forecast_from_panel(
        panel, registry, model="conflictology", origin=origin, horizon=3, n_draws=200
    )
    demo = panel.assign(source="synthetic-demo")
    run_id = log_refit(result, trigger="schedule", panel=demo, seed=0, log_model=False)
    run = MlflowClient(store).get_run(run_id)
    assert run.data.tags["kind"] == "refit" and run.data.tags["trigger"] == "schedule"
    assert run.data.tags["synthetic"] == "true"
    assert run.data.params["model"] == "conflictology"
    assert run.data.params["origin"] == "2021-12"
    assert run.data.tags["data_fingerprint"] == data_fingerprint(demo)
    assert 0 <= run.data.metrics["p_escalation_max"] <= 1
    experiment = MlflowClient(store).get_experiment(run.info.experiment_id)
    assert experiment.name == "riskcast-refits"
    paths = {a.path for a in MlflowClient(store).list_artifacts(run_id)}
    assert {"forecast.csv", "notes.json", "fan_charts"} <= paths
    with pytest.raises(InputError, match="trigger"):
        log_refit(result, trigger="cron", panel=panel)
    assert mlflow.active_run() is None  # nothing left open


def test_backtest_without_scores_is_an_error(store, panel) -> None:
    class Empty:
        scores = pd.DataFrame(columns=["model", "origin", "horizon", "region"])
        forecasts = pd.DataFrame()

    with pytest.raises(InputError, match="no scores"):
        log_backtest(Empty(), panel=panel)
