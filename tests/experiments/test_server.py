"""MLFLOW_TRACKING_URI pointing at a real ``mlflow server`` on 127.0.0.1 is honoured."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from mlflow.tracking import MlflowClient

from experiments import tracking
from experiments.runs import log_backtest
from tests.experiments import install_store, small_backtest, template_store


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mlflow_server(tmp_path: Path):
    """A real MLflow tracking server (SQLite backend, proxied artifacts), stopped after."""
    backend = tmp_path / "server.db"
    backend.write_bytes(template_store().read_bytes())
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{backend}",
            "--artifacts-destination",
            str(tmp_path / "server-artifacts"),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stopping it stops its workers too
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.time() > deadline:
                pytest.fail(f"mlflow server did not start (exit code {process.poll()})")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.mark.slow
def test_backtest_logs_to_a_real_mlflow_server(
    mlflow_server: str, isolated_home: Path, monkeypatch, panel, registry
) -> None:
    monkeypatch.setenv("RISKCAST_CONFIG", install_store(isolated_home, top_regions=1))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    assert tracking.tracking_uri() == mlflow_server
    result = small_backtest(panel, registry, models=["conflictology"])
    parent_id = log_backtest(result, panel=panel, registry=registry, log_models=False)
    client = MlflowClient(mlflow_server)
    children = client.search_runs(
        [client.get_run(parent_id).info.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    assert [run.data.params["model"] for run in children] == ["conflictology"]
    assert "crps_log_h3" in children[0].data.metrics
    paths = {a.path for a in client.list_artifacts(children[0].info.run_id)}
    assert {"forecasts.csv", "reliability.png", "fan_charts"} <= paths
    assert tracking.ui_command().startswith(f"open {mlflow_server}")
