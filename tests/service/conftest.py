"""Fixtures of the service tests: a config with a fast model, a seeded database, a real
uvicorn server on 127.0.0.1 and a real webhook receiver."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.panels import chain_registry, synthetic_panel

API_KEY = "test-key-0123456789"
OTHER_KEY = "second-key-abcdef"
AUTH = {"Authorization": f"Bearer {API_KEY}"}

FAST_CONFIG = """
[schedule]
enabled = false

[forecast]
n_draws = 200
horizon = 6
"""


def write_config(path: Path, extra: str = "") -> Path:
    """A riskcast.toml with a small weekly refit (the default model, 200 draws) + ``extra``."""
    path.write_text(FAST_CONFIG + extra, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def shared_mlflow_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One MLflow store for the service tests: creating its schema takes ~10 s, paid once.

    Every test still has its own service database and home; MLflow runs accumulate here,
    and tests identify their runs by id.
    """
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_mlflow_uri: str) -> Path:
    """The active config (RISKCAST_CONFIG), API keys and the shared MLflow store."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", shared_mlflow_uri)
    path = write_config(tmp_path / "riskcast.toml")
    monkeypatch.setenv("RISKCAST_CONFIG", str(path))
    monkeypatch.setenv("RISKCAST_API_KEYS", f"{API_KEY}, {OTHER_KEY}")
    monkeypatch.delenv("RISKCAST_NO_SCHEDULER", raising=False)
    return path


def seed_store(store: Any) -> None:
    """Ingest the small synthetic panel (4 regions of country AAA, 2015-01 … 2021-12)."""
    from data.schema import validate_panel

    panel = synthetic_panel(
        chain_registry(), series=("fatalities", "aid_diversion", "peacekeeper_casualties")
    )
    store.ingest(validate_panel(panel, file="tests"), file="tests", file_hash="seed", kind="test")


@pytest.fixture
def store(config_file: Path):  # noqa: ANN201
    """The service database of this test's home, seeded with the synthetic panel."""
    from data.store import open_store

    opened = open_store()
    seed_store(opened)
    yield opened
    opened.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (dropped after), or skip when there is no server."""
    import os
    import uuid

    import sqlalchemy as sa

    base = os.environ.get("RISKCAST_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("RISKCAST_TEST_POSTGRES_URL is not set")
    admin = sa.create_engine(
        base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    name = f"riskcast_service_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL at {base} is unreachable: {exc.orig}")
    yield sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with a real uvicorn on 127.0.0.1 (thread); yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """Start real servers: ``serve(run_scheduler=False) -> base URL``; all stopped after."""
    import service

    stack: list[Any] = []

    def start(**options: Any) -> str:
        context = running_server(service.create_app(**options))
        url = context.__enter__()
        stack.append(context)
        return url

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that answers 503 to the first ``fail_first`` POSTs."""

    fail_first: int = 1
    url: str = ""
    attempts: int = 0
    payloads: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP webhook receiver (fails the first attempt, then records payloads)."""
    state = Receiver()
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                state.attempts += 1
                failing = state.attempts <= state.fail_first
                if not failing:
                    state.payloads.append(json.loads(body))
            self.send_response(503 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
