"""Helpers for the experiments tests: a real MLflow SQLite store per test, small backtests.

Creating MLflow's schema in a fresh SQLite file takes seconds (dozens of migrations), so one
empty store is built per test session and copied into each test's ``RISKCAST_HOME``; every
test still writes to its own real database file.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

import experiments.config
from data.registry import Registry
from experiments import tracking
from experiments.config import ExperimentsConfig

MODELS = ["zero", "conflictology", "poisson_mean"]
ORIGINS = [pd.Period("2019-12", "M"), pd.Period("2020-06", "M")]
HORIZON = 6


@functools.lru_cache(maxsize=1)
def template_store() -> Path:
    """An empty, migrated MLflow SQLite file (WAL on), built once per test session."""
    from experiments.tracking import _prepare_sqlite

    folder = Path(tempfile.mkdtemp(prefix="riskcast-mlflow-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "mlflow.db"
    _prepare_sqlite(f"sqlite:///{path}", path)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def install_store(home: Path, *, top_regions: int = 1) -> str:
    """Copy the template store into ``home`` and point the config at few fan charts."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(template_store(), home / "mlflow.db")
    config = home / "riskcast.toml"
    config.write_text(f"[experiments]\ntop_regions = {top_regions}\n")
    # what an entry point does with the config it loaded (the CLI reads the file itself)
    experiments.config.configure(ExperimentsConfig(top_regions=top_regions))
    return str(config)


def small_backtest(
    panel: pd.DataFrame,
    registry: Registry,
    models: list[str] | None = None,
    origins: list[pd.Period] | None = None,
):
    """A real backtest of cheap baselines: 2 origins × 6 months × 4 regions, 200 draws."""
    from forecast.backtest import run_backtest

    return run_backtest(
        panel,
        registry,
        models=list(models or MODELS),
        origins=list(origins or ORIGINS),
        horizon=HORIZON,
        n_draws=200,
        seed=0,
        progress=False,
    )


def log_metrics_worker(name: str, experiment: str, n: int, barrier: Any, results: Any) -> None:
    """Child-process body of the concurrency test: log ``n`` metrics in many small writes.

    Top level (and in an importable module) so a *spawned* process can run it. Both children
    create their run, then meet at ``barrier`` so their writes really overlap.
    """

    experiment_id = tracking.ensure_experiment(experiment)
    client = tracking.client()
    run = client.create_run(experiment_id, run_name=name)
    barrier.wait(timeout=120)
    for step in range(n):
        # one write per metric: as many chances to collide as possible
        client.log_metric(run.info.run_id, f"{name}_m{step}", float(step), step=step)
        client.log_metric(run.info.run_id, "shared_history", float(step), step=step)
    client.set_terminated(run.info.run_id)
    results.put((name, run.info.run_id))
