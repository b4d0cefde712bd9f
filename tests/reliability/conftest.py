"""Fixtures of the reliability tests: one seeded home per module, real ``riskcast``
subprocesses and a real uvicorn server (a child process) on 127.0.0.1.

Every process gets its environment explicitly (home, config, API keys), so the CLI, the
server and the test's own look at the database all see the same SQLite file.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
RISKCAST = Path(sys.executable).parent / "riskcast"
API_KEY = "reliability-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}

CONFIG = """
[data]
max_xlsx_unpacked_mb = 1

[schedule]
enabled = false

[forecast]
default_model = "conflictology"
n_draws = 100
horizon = 3
"""

STORE_TABLES = ("observations", "observation_revisions", "ingests", "regions")


@dataclass
class Home:
    """A riskcast home: its folder, config, environment for child processes and database."""

    path: Path
    env: dict[str, str]
    database: Path

    def riskcast(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run the real ``riskcast`` command (from the venv) in this home."""
        return subprocess.run(
            [str(RISKCAST), *args],
            env=self.env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            cwd=self.path,
        )

    def snapshot(self) -> tuple[dict[str, int], str]:
        """Row counts of the store's tables and a sha256 over all their rows, in key order."""
        engine = sa.create_engine(f"sqlite:///{self.database}")
        counts: dict[str, int] = {}
        digest = hashlib.sha256()
        try:
            with engine.connect() as connection:
                for table in STORE_TABLES:
                    rows = connection.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1")).all()
                    counts[table] = len(rows)
                    for row in rows:
                        digest.update(repr(tuple(row)).encode())
        finally:
            engine.dispose()
        return counts, digest.hexdigest()


def make_home(root: Path, extra_config: str = "") -> Home:
    """A home seeded with 300 rows of the synthetic demo panel (ML regions)."""
    root.mkdir(parents=True, exist_ok=True)
    config = root / "riskcast.toml"
    config.write_text(CONFIG + extra_config, encoding="utf-8")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("RISKCAST_", "MLFLOW_"))
    }
    env.update(
        RISKCAST_HOME=str(root / "home"),
        RISKCAST_CONFIG=str(config),
        RISKCAST_API_KEYS=API_KEY,
        RISKCAST_NO_SCHEDULER="1",
        MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}",
        PYTHONPATH=str(REPO),
    )
    seed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from data.demo import demo_panel; from data.schema import validate_panel;"
            "from data.store import open_store;"
            "p = validate_panel(demo_panel(0).head(300), file='seed', row_offset=None);"
            "open_store().ingest(p, file='seed', file_hash='seed', kind='demo')",
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert seed.returncode == 0, seed.stderr
    return Home(root, env, root / "home" / "riskcast.db")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A real ``uvicorn service:create_app`` child process."""

    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_server(home: Home, name: str = "server") -> Server:
    """Start uvicorn on a free port of 127.0.0.1 and wait until /health answers."""
    port = free_port()
    log = home.path / f"{name}-{port}.log"
    handle = log.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "service:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=home.env,
        cwd=REPO,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    handle.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            httpx.get(f"{url}/health", timeout=2)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("server did not start within 60 s") from None
            time.sleep(0.1)
    return Server(url, process, log)


def stop_server(server: Server) -> None:
    """SIGTERM, then wait (kill after 30 s so a hung server cannot hang the suite)."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """One seeded home for the whole module."""
    return make_home(tmp_path_factory.mktemp("reliability"))


@pytest.fixture(scope="module")
def server(home: Home) -> Iterator[Server]:
    """One real server per module (not per case) on the module's home."""
    started = start_server(home)
    yield started
    stop_server(started)
