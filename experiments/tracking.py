"""Where MLflow records live, and making the SQLite store safe for two writers.

The tracking store is, in order of precedence: ``MLFLOW_TRACKING_URI`` (e.g. a real
``mlflow server`` at ``http://127.0.0.1:5000`` or a PostgreSQL URL), the ``tracking_uri`` key of
``[experiments]`` in ``riskcast.toml``, else ``sqlite:///<RISKCAST_HOME>/mlflow.db`` with
artifacts in ``<RISKCAST_HOME>/mlartifacts``. Recent MLflow rejects a plain ``./mlruns`` file
store, and a relative artifact root would scatter files wherever the command ran, so every
experiment riskcast creates gets an absolute artifact location.

Two processes (the scheduled refit and a data scientist's backtest) may log at once. SQLite
serialises writers; in its default rollback-journal mode a reader blocks a writer and vice
versa, and a writer that finds the file busy fails at once unless a busy timeout is set. So the
file is switched to WAL (persistent, readers never block the writer) before MLflow first
opens it, and MLflow itself sets ``PRAGMA busy_timeout = 20000`` on every session
(``mlflow/store/db/utils.py``, PR mlflow#6490), which makes a second writer wait instead of
failing. Schema creation on a fresh file is guarded by a file lock because two processes
migrating the same new database at once race (``duplicate column name``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from experiments.config import (
    experiments_config,
)
from riskcast.config import get_settings
from riskcast.errors import StoreUnavailableError

log = logging.getLogger(__name__)

# Conflict data and who looks at it are sensitive: MLflow 3's usage telemetry stays off unless
# the operator turns it on explicitly, and artifact progress bars stay out of logs.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

SQLITE_BUSY_TIMEOUT_MS = 30_000

_prepared: set[str] = set()
_uri_we_set: str | None = None
_prepare_lock = threading.Lock()


def artifact_root() -> Path:
    """``<RISKCAST_HOME>/mlartifacts``: where runs of the local SQLite store keep their files."""
    root = get_settings().resolved_home() / "mlartifacts"
    root.mkdir(parents=True, exist_ok=True)
    return root


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///path`` URI, or None for any other store."""
    if not uri.startswith("sqlite:///") or ":memory:" in uri:
        return None
    return Path(uri.removeprefix("sqlite:///").split("?", 1)[0])


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (POSIX ``flock``; no-op where unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def enable_wal(path: Path) -> str:
    """Switch a SQLite file to WAL journaling (persistent in the file) and return the mode.

    Raises:
        StoreUnavailableError: when the file cannot be opened or stays locked.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(
            sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        ) as conn:
            conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    except (sqlite3.Error, OSError) as exc:
        raise StoreUnavailableError(f"MLflow store {path} cannot be opened: {exc}") from exc
    return str(mode)


def _prepare_sqlite(uri: str, path: Path) -> None:
    """WAL on, then let MLflow create its schema under a file lock (once per process)."""
    with _prepare_lock:
        if uri in _prepared:
            return
        try:
            with _file_lock(path.with_name(path.name + ".lock")):
                mode = enable_wal(path)
                if mode.lower() != "wal":
                    log.warning("MLflow store %s is in %s mode, not WAL", path, mode)
                MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
        except (OSError, MlflowException) as exc:
            raise StoreUnavailableError(f"MLflow store {uri} is unusable: {exc}") from exc
        _prepared.add(uri)


def tracking_uri() -> str:
    """The MLflow tracking URI in force, made ready and set as MLflow's default.

    Returns:
        ``MLFLOW_TRACKING_URI`` if set, else ``[experiments] tracking_uri``, else
        ``sqlite:///<home>/mlflow.db`` (switched to WAL, schema created).
    """
    global _uri_we_set
    settings = get_settings()
    from_env = settings.mlflow_tracking_uri
    if from_env is not None and from_env == _uri_we_set:
        from_env = None  # MLflow's own echo of our last choice, not an operator's override
    uri = from_env or experiments_config().tracking_uri
    uri = uri or settings.model_copy(update={"mlflow_tracking_uri": None}).resolved_mlflow_uri()
    echo = None if from_env else uri
    path = sqlite_path(uri)
    if path is not None:
        _prepare_sqlite(uri, path)
    # set_tracking_uri also exports MLFLOW_TRACKING_URI so subprocesses log to the same store
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    _uri_we_set = echo
    return uri


def client() -> MlflowClient:
    """An MLflow client on :func:`tracking_uri` (tracking and model registry)."""
    uri = tracking_uri()
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_experiment(name: str) -> str:
    """The id of experiment ``name``, created (with an absolute artifact location) if missing.

    Safe when two processes create it at once: the loser of the race reads the winner's id.
    A deleted experiment of that name is restored rather than shadowed.
    """
    mlflow_client = client()
    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is None:
        location = None
        if sqlite_path(tracking_uri()) is not None:
            location = (artifact_root() / name).as_uri()
        try:
            return mlflow_client.create_experiment(name, artifact_location=location)
        except MlflowException:
            experiment = mlflow_client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage == "deleted":
        mlflow_client.restore_experiment(experiment.experiment_id)
    return experiment.experiment_id


def ui_command() -> str:
    """The shell command that opens the MLflow UI on this store (printed by ``make run``)."""
    uri = tracking_uri()
    if uri.startswith(("http://", "https://")):
        return f"open {uri} in a browser"
    return f"mlflow ui --backend-store-uri '{uri}' --port 5000"
