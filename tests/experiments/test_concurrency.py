"""Two real processes logging to the same SQLite store at once lose nothing."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from experiments import tracking
from tests.experiments import install_store, log_metrics_worker

N_METRICS = 60


@pytest.mark.slow
def test_two_processes_log_concurrently_without_loss(isolated_home: Path, monkeypatch) -> None:
    monkeypatch.setenv("RISKCAST_CONFIG", install_store(isolated_home))
    uri = tracking.tracking_uri()
    tracking.ensure_experiment("concurrent")
    context = multiprocessing.get_context("spawn")  # fresh interpreters, as two CLIs would be
    barrier, results = context.Barrier(2), context.Queue()
    workers = [
        context.Process(
            target=log_metrics_worker, args=(name, "concurrent", N_METRICS, barrier, results)
        )
        for name in "ab"
    ]
    for worker in workers:
        worker.start()
    try:
        run_ids = dict(results.get(timeout=180) for _ in workers)
    finally:
        for worker in workers:
            worker.join(timeout=30)
    assert [worker.exitcode for worker in workers] == [0, 0]
    client = MlflowClient(uri)
    for name, run_id in run_ids.items():
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED"
        own = {k for k in run.data.metrics if k.startswith(f"{name}_m")}
        assert len(own) == N_METRICS
        history = client.get_metric_history(run_id, "shared_history")
        assert sorted(m.step for m in history) == list(range(N_METRICS))
    # the two runs really overlapped in time (otherwise the test proves nothing)
    runs = [client.get_run(r).info for r in run_ids.values()]
    assert max(r.start_time for r in runs) < min(r.end_time for r in runs)
