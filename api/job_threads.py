"""Start a job from a request: in a thread, answering when it ends or once it is running."""

from __future__ import annotations

import threading
from typing import Any

from api.deps import ServiceState
from jobs.records import JobOutcome
from jobs.runner import execute


def start_job(state: ServiceState, name: str, wait_seconds: float) -> tuple[int, dict[str, Any]]:
    """Run job ``name`` in a thread; 200 with its outcome if it ends within ``wait_seconds``,
    else 202 with the run id to poll.

    The run takes the job's lock itself (:mod:`jobs.lease`), so a second trigger anywhere
    on the database gets :class:`jobs.runner.JobBusyError` (409) — raised here when the
    thread finds the job busy before it could start.
    """
    started = threading.Event()
    box: dict[str, Any] = {}
    state.store()  # the database must answer before a thread is started for the run

    def on_start(outcome: JobOutcome) -> None:
        box["run"] = outcome
        started.set()

    def target() -> None:
        try:
            # A run is an entry point of its own, as a scheduled one is: it reads the config
            # as it is now (an edit applies from the next run) and opens its own store
            # (jobs keep [data]'s longer lock wait, not the API's).
            box["done"] = execute(name, trigger="api", on_start=on_start)
        except Exception as exc:  # busy, or the database down before the run was recorded
            box["error"] = exc
            started.set()

    worker = threading.Thread(target=target, name=f"riskcast-job-{name}", daemon=True)
    worker.start()
    state.job_threads = [t for t in state.job_threads if t.is_alive()] + [worker]
    started.wait(timeout=30)
    if "error" in box:
        raise box["error"]
    worker.join(timeout=wait_seconds)
    if box.get("done") is not None:
        return 200, box["done"].to_json()
    run = box.get("run")
    return 202, {
        "job_name": name,
        "outcome": "running",
        "run_id": run.run_id if run else None,
        "poll": f"/jobs/runs/{run.run_id}" if run else "/jobs",
    }
