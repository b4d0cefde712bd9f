"""``GET /experiments``: the MLflow leaderboard over HTTP."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest


@pytest.mark.slow
def test_leaderboard_is_404_before_a_backtest_then_ranks_models(store, serve, config_file) -> None:
    """Also: the bulletin shows the alert rule's backtest precision/recall."""
    import uuid

    from experiments.tracking import ensure_experiment
    from tests.service.conftest import AUTH, write_config

    name = f"svc-test-{uuid.uuid4().hex[:8]}"  # its own experiment in the shared MLflow store
    write_config(config_file, f'[experiments]\nbacktest_experiment = "{name}"\n')
    api = serve(run_scheduler=False)
    ensure_experiment(name)
    default = httpx.get(f"{api}/experiments")  # [experiments] backtest_experiment
    assert default.status_code == 404
    before = httpx.get(f"{api}/experiments", params={"experiment": name})
    assert before.status_code == 404
    assert "no backtest" in before.json()["detail"]

    from experiments.runs import log_backtest
    from forecast.backtest import run_backtest

    panel = store.load_panel()
    result = run_backtest(
        panel,
        store.registry(),
        models=["zero", "conflictology", "ensemble"],  # ensemble: the weekly job's default
        origins=[pd.Period("2020-12", "M"), pd.Period("2021-03", "M")],
        horizon=3,
        n_draws=100,
        progress=False,
    )
    log_backtest(result, panel=panel, experiment=name, log_models=False, n_draws=100)

    board = httpx.get(f"{api}/experiments", params={"experiment": name})
    assert board.status_code == 200, board.text
    body = board.json()
    assert body["metric"] == "crps_log"
    models = [row["model"] for row in body["rows"]]
    assert sorted(models) == ["conflictology", "ensemble", "zero"]
    unknown = httpx.get(f"{api}/experiments", params={"experiment": name, "metric": "crsp"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "metric"

    run = httpx.post(f"{api}/jobs/weekly/run", params={"wait": True}, headers=AUTH, timeout=120)
    assert run.json()["outcome"] == "succeeded", run.text
    page = httpx.get(f"{api}/bulletin").text
    assert 'id="precision-table"' in page and "<b>ensemble</b>" in page
