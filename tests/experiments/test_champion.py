"""Promotion: only a better model on the same origins and data becomes champion."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from cli import app
from experiments import tracking
from experiments.champion import champion, champion_model_name, promote
from experiments.runs import log_backtest
from riskcast.errors import RiskcastError
from tests.experiments import install_store, small_backtest


@pytest.fixture(autouse=True)
def store(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RISKCAST_CONFIG", install_store(isolated_home, top_regions=0))
    return tracking.tracking_uri()


def _model_runs(store: str, parent_id: str) -> dict[str, str]:
    client = MlflowClient(store)
    parent = client.get_run(parent_id)
    runs = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    return {run.data.params["model"]: run.info.run_id for run in runs}


@pytest.mark.slow
def test_promotion_refuses_worse_accepts_better_and_force(store, panel, registry) -> None:
    assert champion_model_name("negbin_glm") == ("negbin_glm", None)
    result = small_backtest(panel, registry, models=["zero", "conflictology"])
    runs = _model_runs(store, log_backtest(result, panel=panel, registry=registry))
    scores = result.summary().set_index("model")["crps_log"]
    assert scores["conflictology"] < scores["zero"]

    first = promote(runs["zero"])  # no champion yet: the first candidate wins
    assert first.previous_run_id is None
    assert champion_model_name("negbin_glm") == ("zero", runs["zero"])

    better = promote(runs["conflictology"])
    assert better.previous_run_id == runs["zero"]
    assert better.candidate_score == pytest.approx(scores["conflictology"])
    assert champion_model_name("x") == ("conflictology", runs["conflictology"])

    with pytest.raises(RiskcastError, match="does not beat the champion"):
        promote(runs["zero"])
    assert champion().run_id == runs["conflictology"]  # unchanged

    with pytest.raises(RiskcastError, match="--reason"):
        promote(runs["zero"], force=True)
    forced = promote(runs["zero"], force=True, reason="analysts asked for a naive baseline")
    client = MlflowClient(store)
    assert client.get_run(runs["zero"]).data.tags["promotion_reason"].startswith("analysts")
    version = client.get_model_version("riskcast", forced.version)
    assert version.tags["forced"] == "true"
    assert version.tags["promotion_reason"] == "analysts asked for a naive baseline"
    assert str(client.get_model_version_by_alias("riskcast", "champion").version) == forced.version


@pytest.mark.slow
def test_promotion_refuses_other_origins_and_cli_reports(store, panel, registry) -> None:
    base = small_backtest(panel, registry, models=["zero"])
    zero = _model_runs(store, log_backtest(base, panel=panel, registry=registry))["zero"]
    promote(zero)
    other = small_backtest(
        panel, registry, models=["conflictology"], origins=[pd.Period("2020-06", "M")]
    )
    candidate = _model_runs(store, log_backtest(other, panel=panel, registry=registry))
    runner = CliRunner()
    refused = runner.invoke(app, ["experiments", "promote", candidate["conflictology"]])
    assert refused.exit_code != 0
    assert isinstance(refused.exception, RiskcastError)
    assert "different origins" in str(refused.exception)
    forced = runner.invoke(
        app,
        ["experiments", "promote", candidate["conflictology"], "--force", "--reason", "new window"],
    )
    assert forced.exit_code == 0, forced.output
    assert "forced: new window" in forced.output
    shown = runner.invoke(app, ["experiments", "champion"])
    assert "conflictology" in shown.output


@pytest.mark.slow
def test_champion_pyfunc_predicts_from_a_panel(store, panel, registry, tmp_path) -> None:
    result = small_backtest(panel, registry, models=["conflictology"])
    run_id = _model_runs(store, log_backtest(result, panel=panel, registry=registry))[
        "conflictology"
    ]
    promote(run_id)
    model = mlflow.pyfunc.load_model("models:/riskcast@champion")
    as_text = panel.assign(month=panel["month"].dt.strftime("%Y-%m"))
    frame = model.predict(as_text, params={"horizon": 3, "n_draws": 200})
    assert set(frame["region"]) == set(panel.loc[panel["series"] == "fatalities", "region"])
    assert set(frame["horizon"]) == {1, 2, 3}
    assert (frame["origin"] == "2021-12").all() and (frame["model"] == "conflictology").all()
    quantiles = frame[["q0.05", "q0.25", "q0.50", "q0.75", "q0.95"]].to_numpy()
    assert (quantiles[:, 1:] >= quantiles[:, :-1]).all()
    assert frame["p_escalation"].between(0, 1).all()
    # a panel read back from CSV, as `riskcast export` writes it: integer counts (int64)
    exported = tmp_path / "panel.csv"
    as_text.assign(value=as_text["value"].round().astype("int64")).to_csv(exported, index=False)
    from_csv = pd.read_csv(exported)
    assert from_csv["value"].dtype == "int64"
    assert len(model.predict(from_csv, params={"horizon": 1, "n_draws": 100})) == len(
        frame[frame["horizon"] == 1]
    )
    earlier = model.predict(as_text, params={"horizon": 2, "origin": "2020-12", "n_draws": 200})
    assert set(earlier["month"]) == {"2021-01", "2021-02"}
    with pytest.raises(Exception, match="month"):
        model.predict(as_text.assign(month="2021-13"))
