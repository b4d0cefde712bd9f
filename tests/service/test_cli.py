"""``riskcast run``, ``riskcast report`` and ``riskcast serve`` as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cli import app
from forecast.pipeline import ForecastConfig
from jobs import records
from tests.service.conftest import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_run_then_report(store, tmp_path: Path, isolated_home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 0, result.output
    default = ForecastConfig().default_model  # the production default runs through the job
    assert f"weekly job succeeded: model {default} at origin 2021-12" in result.output
    assert f"bulletin: {isolated_home / 'bulletin.html'}" in result.output
    assert "MLflow store: sqlite:///" in result.output
    assert "  fatalities: from 2021-12, MLflow run " in result.output
    assert "  aid_diversion: from 2021-12, MLflow run " in result.output
    fired = sum(
        len(s.get("alerts", {}).get("transitions", []))
        for s in records.runs(store.engine)[0].details["series"].values()
    )
    assert f"alerts: {fired} transition(s)" in result.output and fired > 0

    [run] = records.runs(store.engine, name="weekly")
    assert run.trigger == "cli" and run.outcome == "succeeded" and run.mlflow_run_id

    out = tmp_path / "static.html"
    report = runner.invoke(app, ["report", "--out", str(out)])
    assert report.exit_code == 0, report.output
    assert run.mlflow_run_id in out.read_text(encoding="utf-8")


def test_run_without_data_fails_with_a_clear_message(config_file) -> None:
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 1
    assert "no 'fatalities' observations" in result.output


def test_report_before_any_refit_says_so(config_file, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--out", str(tmp_path / "b.html")])
    assert result.exit_code != 0
    assert "no refit published yet" in str(result.exception)


@pytest.mark.slow
def test_serve_answers_on_the_given_port(store, isolated_home: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-c", "from cli import run; run()", "serve",
         "--host", "127.0.0.1", "--port", str(port), "--no-scheduler"],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read().decode()
                assert time.monotonic() < deadline, "riskcast serve did not start"
                time.sleep(0.2)
        assert answer.status_code == 200
        assert answer.json()["scheduler"]["state"] == "off"
    finally:
        process.terminate()
        process.wait(timeout=20)
