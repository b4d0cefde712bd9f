"""``GET /bulletin`` after a refit: the stored page vs rendering it per request (the old way).

Sets up a throw-away home (the synthetic demo panel, the weekly job run once with the
default model at ``--draws`` draws), starts the real app on uvicorn on 127.0.0.1, then times
``--requests`` sequential requests of each kind, side by side:

* ``stored`` — ``GET /bulletin``: the page the weekly job rendered, read from the
  ``bulletins`` table (what the service does now);
* ``rendered`` — the baseline: :func:`jobs.bulletin_context.render_bulletin_html` on the
  same store, the work ``GET /bulletin`` did on every request before it was stored (panel,
  every published series, the alert store, MLflow's precision table).

Times are wall-clock ``time.perf_counter`` around each request (client side, so HTTP is
included for ``stored``; ``rendered`` is the bare function, which flatters the baseline).
Printed: median and 90th percentile in ms, and ``× stored`` = rendered median / stored median.

Usage::

    .venv/bin/python bench/bulletin.py --help
    .venv/bin/python bench/bulletin.py --requests 30
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30, help="requests of each kind")
    parser.add_argument("--draws", type=int, default=200, help="draws of the weekly refit")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        _prepare_home(Path(home), args.draws)
        stored, rendered = _measure(args.requests)
    _report(stored, rendered)
    return 0


def _prepare_home(home: Path, draws: int) -> None:
    config = home / "riskcast.toml"
    config.write_text(f"[schedule]\nenabled = false\n\n[forecast]\nn_draws = {draws}\n")
    os.environ.update(RISKCAST_HOME=str(home), RISKCAST_CONFIG=str(config))
    os.environ.pop("RISKCAST_DATABASE_URL", None)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    sys.path.insert(0, str(ROOT))
    from data.demo import demo_panel
    from data.schema import validate_panel
    from data.store import open_store
    from jobs.config import load_config
    from jobs.weekly import run_weekly

    loaded = load_config()
    store = open_store(config=loaded.data)
    panel = validate_panel(demo_panel(), file="synthetic-demo", row_offset=None)
    store.ingest(panel, file="synthetic-demo", file_hash="demo", kind="panel_csv")
    outcome = run_weekly("cli", store=store, config=loaded)
    if not outcome.ok:
        raise SystemExit(f"weekly job failed: {outcome.error}")


def _measure(requests: int) -> tuple[list[float], list[float]]:
    import httpx
    import uvicorn

    import service
    from jobs.bulletin_context import render_bulletin_html

    app = service.create_app(run_scheduler=False)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/bulletin"
    try:
        with httpx.Client(timeout=60) as client:
            assert client.get(url).status_code == 200  # warm: the store is opened once
            stored = _times(requests, lambda: client.get(url).raise_for_status())
        state = app.state.riskcast
        rendered = _times(requests, lambda: render_bulletin_html(state.store(), state.config))
    finally:
        server.should_exit = True
        thread.join(timeout=20)
    return stored, rendered


def _times(n: int, call: Callable[[], object]) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _report(stored: list[float], rendered: list[float]) -> None:
    def p90(values: list[float]) -> float:
        return statistics.quantiles(values, n=10)[-1]

    base = statistics.median(stored)
    print(f"{'GET /bulletin':<26}{'median ms':>10}{'p90 ms':>10}{'× stored':>10}{'n':>5}")
    for name, values in (("stored (now)", stored), ("rendered per request", rendered)):
        median = statistics.median(values)
        print(
            f"{name:<26}{median:>10.1f}{p90(values):>10.1f}{median / base:>10.1f}{len(values):>5}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
