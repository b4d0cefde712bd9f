"""Code the multi-process scheduler tests run in child processes (``python -m``).

Each child opens the same database, schedules the ``tick`` job on the same trigger and
runs it through the production path (:func:`jobs.scheduler.scheduled_run`: lease, record).
The body appends ``run <pid>`` to a shared file; with ``--memory`` each child keeps its own
in-memory job store, so every process certainly fires every time and only the database
lease stands between them and a double run — skips are written as ``skip <fire time>``.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

OUT_ENV = "RISKCAST_TEST_TICK_FILE"


def _append(line: str) -> None:
    with open(os.environ[OUT_ENV], "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def tick_body(
    store: Any, *, trigger: str, run_id: str | None = None, config: Any = None
) -> dict[str, Any]:
    """The job body: note who ran, and hold the run a little so the processes overlap."""
    _append(f"run {os.getpid()}")
    time.sleep(0.3)
    return {"pid": os.getpid()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--go", required=True, help="file whose text is the ISO first fire")
    parser.add_argument("--fires", type=int, default=4)
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()

    from apscheduler.events import EVENT_JOB_EXECUTED
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    from data.store import open_store
    from jobs.scheduler import (
        FireTimeExecutor,
        ScheduledJob,
        build_scheduler,
        reconcile,
        scheduled_run,
    )

    store = open_store()
    if args.memory:  # each process its own job store: only the lease prevents doubles
        scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": FireTimeExecutor(max_workers=2)},
            timezone="UTC",
        )

        def note_skip(event: Any) -> None:
            if event.retval is None:
                _append(f"skip {event.scheduled_run_time.isoformat()}")

        scheduler.add_listener(note_skip, EVENT_JOB_EXECUTED)
    else:
        scheduler = build_scheduler(store.engine)
    scheduler.start(paused=True)  # up, but nothing fires until the parent says go
    _append(f"ready {os.getpid()}")
    go = Path(args.go)
    while not go.exists() or not go.read_text().strip():  # the parent starts the clock
        time.sleep(0.02)
    start = datetime.fromisoformat(go.read_text().strip())
    end = start + timedelta(seconds=args.fires - 1, milliseconds=500)
    trigger = IntervalTrigger(seconds=1, start_date=start, end_date=end, timezone="UTC")
    job = ScheduledJob("tick", trigger, 30, target="tests.service.workers:tick_body")
    if args.memory:
        scheduler.add_job(
            scheduled_run,
            trigger=trigger,
            args=("tick", job.target),
            id=job.job_id,
            name="tick",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=30,
        )
    else:
        reconcile(scheduler, [job])
    scheduler.resume()
    time.sleep(max(0.0, (end - datetime.now(start.tzinfo)).total_seconds()) + 0.8)
    scheduler.shutdown(wait=True)
    store.close()
    Path(os.environ[OUT_ENV]).touch()


if __name__ == "__main__":
    main()
