"""Done-when: the weekly job triggered through the API produces a new MLflow run, new
forecasts, risk, alert transitions and a webhook delivery, all visible over HTTP."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from forecast.draws import QUANTILES, quantile_column
from forecast.pipeline import ForecastConfig
from tests.service.conftest import AUTH, write_config

CONTRACT = [
    "region", "series", "origin", "month", "horizon", "model", "mean",
    *(quantile_column(level) for level in QUANTILES), "p_escalation", "threshold",
]  # fmt: skip


def _alerts_config(url: str, threshold: float, resolve_below: float) -> str:
    return f"""
[alerts]
threshold = {threshold}
resolve_below = {resolve_below}

[alerts.webhook]
url = "{url}"
max_attempts = 3
backoff_s = 0.05
timeout_s = 2
"""


def _wait_for_run(api: str, run_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = httpx.get(f"{api}/jobs/runs/{run_id}").json()
        if run["outcome"] != "running":
            return run
        time.sleep(0.2)
    raise AssertionError(f"job run {run_id} still running after {timeout} s")


@pytest.mark.slow
def test_weekly_job_through_the_api_end_to_end(
    store, serve, receiver, config_file: Path, isolated_home: Path
) -> None:
    write_config(config_file, _alerts_config(receiver.url, threshold=0.3, resolve_below=0.2))
    api = serve(run_scheduler=False)

    # 1. trigger, wait for it
    answer = httpx.post(f"{api}/jobs/weekly/run", params={"wait": True}, headers=AUTH, timeout=180)
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert run["outcome"] == "succeeded", run["error"]
    assert run["trigger"] == "api"
    run_id = run["mlflow_run_id"]
    assert run_id

    # 2. a new MLflow run in the refit experiment
    from experiments.tracking import client

    mlflow_run = client().get_run(run_id)
    experiment = client().get_experiment(mlflow_run.info.experiment_id)
    assert experiment.name == "riskcast-refits"
    assert mlflow_run.info.status == "FINISHED"

    # 3. forecasts in the output contract, JSON and CSV, traced to the run
    forecasts = httpx.get(f"{api}/forecasts")
    assert forecasts.status_code == 200
    assert forecasts.headers["x-riskcast-refit"] == run_id
    rows = forecasts.json()
    assert list(rows[0]) == CONTRACT
    frame = pd.DataFrame(rows)
    assert set(frame["region"]) == {"AA01", "AA02", "AA03", "AA04"}
    assert sorted(frame["horizon"].unique()) == [1, 2, 3, 4, 5, 6]
    assert (frame["origin"] == "2021-12").all() and (
        frame["model"] == ForecastConfig().default_model
    ).all()
    assert (frame["q0.05"] <= frame["q0.95"]).all()
    csv = httpx.get(f"{api}/forecasts", params={"region": "AA02", "format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].split(",") == CONTRACT and len(lines) == 1 + 6

    # 4. risk per region, ranked, with tiers
    risk = httpx.get(f"{api}/risk").json()
    assert risk["refit"]["refit_id"] == run_id and risk["previous_refit"] is None
    assert risk["refit"]["job_run_id"] == run["run_id"]  # refit ↔ job run ↔ MLflow run
    probabilities = [region["p_any_3"] for region in risk["regions"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(region["tier"] for region in risk["regions"])
    expected_firing = {r["region"] for r in risk["regions"] if r["p_any_3"] >= 0.3}
    assert expected_firing, "the synthetic panel should put some region over 0.3"

    # 5. alert transitions, and the webhook delivered after a failed first attempt
    firing = httpx.get(f"{api}/alerts", params={"state": "firing"}).json()["alerts"]
    firing = [alert for alert in firing if alert["series"] == "fatalities"]  # /risk's series
    assert {alert["region"] for alert in firing} == expected_firing
    transitions = httpx.get(f"{api}/alerts/transitions").json()["transitions"]
    assert {t["to_state"] for t in transitions} == {"firing"}
    assert all(t["delivery_status"] == "delivered" for t in transitions)
    outcomes = [d["outcome"] for t in transitions for d in t["deliveries"]]
    assert "retry" in outcomes and "delivered" in outcomes
    owed = [row for t in transitions for row in t["outbox"]]
    assert {row["notifier"] for row in owed} == {"log", "webhook"}
    assert {row["status"] for row in owed} == {"delivered"}  # nothing left owed
    delivered = [
        a
        for payload in receiver.payloads
        for a in payload["alerts"]
        if a["labels"]["series"] == "fatalities"
    ]
    assert {a["labels"]["region"] for a in delivered} == expected_firing
    assert {a["status"] for a in delivered} == {"firing"}

    # 6. the bulletin (served, and written by the job) shows the run and the regions
    page = httpx.get(f"{api}/bulletin")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert run_id in page.text and "AA04" in page.text
    assert (isolated_home / "bulletin.html").read_text(encoding="utf-8").count(run_id) >= 1

    # 7. the run is recorded with its MLflow run id
    jobs = httpx.get(f"{api}/jobs").json()
    assert jobs["runs"][0]["mlflow_run_id"] == run_id
    assert jobs["runs"][0]["outcome"] == "succeeded"

    # 8. a second refit (no wait → 202, poll): raise the bar so firing alerts resolve
    write_config(config_file, _alerts_config(receiver.url, threshold=0.99, resolve_below=0.98))
    second = httpx.post(f"{api}/jobs/weekly/run", headers=AUTH)
    assert second.status_code in (200, 202)
    body = second.json()
    finished = body if second.status_code == 200 else _wait_for_run(api, body["run_id"])
    assert finished["outcome"] == "succeeded", finished["error"]
    assert finished["mlflow_run_id"] != run_id
    risk = httpx.get(f"{api}/risk").json()
    assert risk["previous_refit"]["refit_id"] == run_id
    # same data, same seed: the week-on-week change is measured and is zero
    assert all(region["change"] == pytest.approx(0.0) for region in risk["regions"])
    resolved = httpx.get(f"{api}/alerts", params={"state": "resolved"}).json()["alerts"]
    assert {a["region"] for a in resolved if a["series"] == "fatalities"} == expected_firing
    statuses = [
        a["status"]
        for payload in receiver.payloads
        for a in payload["alerts"]
        if a["labels"]["series"] == "fatalities"
    ]
    assert statuses.count("resolved") == len(expected_firing)
    assert httpx.get(f"{api}/forecasts").headers["x-riskcast-refit"] == finished["mlflow_run_id"]


@pytest.mark.slow
@pytest.mark.postgres
def test_weekly_job_publishes_on_postgresql(config_file, postgres_url, monkeypatch) -> None:
    """The refit, risk, alert and run tables work on PostgreSQL too."""
    from data.store import open_store
    from jobs import records, results
    from jobs.weekly import run_weekly
    from tests.service.conftest import seed_store

    monkeypatch.setenv("RISKCAST_DATABASE_URL", postgres_url)
    store = open_store()
    try:
        seed_store(store)
        outcome = run_weekly("cli")
        assert outcome.ok, outcome.error
        latest = results.latest_risk(store.engine, series="fatalities")
        assert latest["refit"]["refit_id"] == outcome.mlflow_run_id
        assert {row["region"] for row in latest["regions"]} == {"AA01", "AA02", "AA03", "AA04"}
        frame = results.load_forecasts(store.engine, refit_id=outcome.mlflow_run_id)
        assert list(frame.columns) == CONTRACT and len(frame) == 4 * 6
        assert records.runs(store.engine, name="weekly")[0].mlflow_run_id == outcome.mlflow_run_id
    finally:
        store.close()
