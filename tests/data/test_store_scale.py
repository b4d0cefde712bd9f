"""The store's bulk paths (COPY / executemany, streamed reads), its indexes and bench/store.py.

Every store test runs on SQLite and, when RISKCAST_TEST_POSTGRES_URL answers, on PostgreSQL
(a fresh schema per test). Nothing here times anything: speed is bench/store.py's job; the
test of the benchmark only checks that it runs and that its correctness checks pass.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import data.db
from data.db import bulk_insert, ensure_tables, read_frame
from data.schema import validate_panel
from data.store import Store, open_store
from data.tables import observations
from riskcast.errors import StoreUnavailableError
from tests.pg import URL_VARIABLE, fresh_schema, schema_url, server_url

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "store.py"

# Text a CSV or COPY path could mangle: separators, quotes, escapes, line breaks, non-ASCII.
AWKWARD = ["plain", "a,b", 'say "hi"', "tab\there", "back\\slash", "line\nbreak", "Ménaka ✓", " "]
# Floats a text round trip could round: 0.1 + 0.2, extremes, a big integer, a tiny one.
FLOATS = [0.1 + 0.2, 1e-300, 1e300, 2.0**53, 123456789.123456789, 5e-324, 0.0, 7.0]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'scale.db'}"
        return
    with fresh_schema("rc_scale") as (schema, _):
        yield schema_url(server_url(), schema)


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    opened = open_store(url)
    yield opened
    opened.close()


def grid_panel(n_regions: int, n_months: int, *, seed: int = 0, prefix: str = "G") -> pd.DataFrame:
    """A validated panel of ``n_regions`` custom regions × ``n_months`` months of counts."""
    rng = np.random.default_rng(seed)
    months = pd.period_range(end="2021-12", periods=n_months, freq="M")
    frame = pd.DataFrame(
        {
            "region": np.repeat([f"{prefix}{i:04d}" for i in range(n_regions)], n_months),
            "month": np.tile(months.strftime("%Y-%m"), n_regions),
            "series": "fatalities",
            "value": rng.poisson(3.0, n_regions * n_months).astype(float),
            "source": "grid",
        }
    )
    return validate_panel(frame, file="grid", row_offset=None)


# -- bulk insert and streamed read ----------------------------------------------------------

probe = sa.Table(
    "bulk_probe",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("label", sa.String(64), nullable=False),
    sa.Column("value", sa.Double, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("batch", sa.Integer, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)


def test_bulk_insert_and_read_frame_keep_awkward_text_and_exact_floats(store: Store) -> None:
    ensure_tables(store.engine, probe.metadata)
    n = len(AWKWARD) * len(FLOATS)
    rows = pd.DataFrame(
        {
            "label": np.resize(np.asarray(AWKWARD, dtype=object), n),
            "value": np.tile(FLOATS, len(AWKWARD)),
            "count": np.arange(n, dtype=np.int64) * 1_000_003,
        }
    )
    with store.engine.begin() as conn:
        written = bulk_insert(
            conn, probe, rows, constants={"batch": 7, "at": datetime.now(UTC)},
            chunk_rows=5,  # several chunks: the chunk boundaries must not drop or repeat rows
        )  # fmt: skip
    assert written == n
    query = sa.select(probe.c.label, probe.c.value, probe.c.count, probe.c.batch).order_by(
        probe.c.id
    )
    with store.engine.connect() as conn:
        back = read_frame(conn, query, chunk_rows=7)
    assert back["label"].tolist() == rows["label"].tolist()
    assert back["value"].tolist() == rows["value"].tolist()  # bit for bit, not approximately
    assert back["count"].tolist() == rows["count"].tolist()
    assert set(back["batch"]) == {7}


def test_read_frame_of_nothing_has_the_columns_and_dtypes(store: Store) -> None:
    empty = store.load_panel()
    assert empty.empty
    assert list(empty.columns) == ["region", "month", "series", "value", "source"]
    assert isinstance(empty["month"].dtype, pd.PeriodDtype) and empty["value"].dtype == "float64"


def test_a_duplicate_key_in_a_bulk_insert_fails_as_integrity_error_and_writes_nothing(
    store: Store,
) -> None:
    row = pd.DataFrame(
        {"region": ["A"], "month": ["2020-01"], "series": ["s"], "value": [1.0], "source": ["x"]}
    )
    store.ingest(grid_panel(1, 1), file="a", file_hash="a", kind="k")
    before = store.count()
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        constants = {"ingest_id": 1, "updated_at": datetime.now(UTC)}
        bulk_insert(conn, observations, pd.concat([row, row]), constants=constants)
    assert store.count() == before


# -- ingest through the bulk paths ----------------------------------------------------------


def test_large_ingest_revise_and_reingest_keep_every_number(store: Store) -> None:
    """More rows than one bulk chunk: first ingest, a revising one, then the same again."""
    panel = grid_panel(220, 300)  # 66,000 rows: two COPY / executemany chunks
    first = store.ingest(panel, file="grid", file_hash="1", kind="panel_csv")
    assert (first.rows_added, first.rows_changed) == (len(panel), 0)
    pd.testing.assert_frame_equal(store.load_panel(), panel)

    rng = np.random.default_rng(1)
    revised = panel.copy()
    hit = rng.choice(len(panel), size=6_000, replace=False)
    revised.loc[hit, "value"] += 1.5
    report = store.ingest(revised, file="grid2", file_hash="2", kind="panel_csv")
    assert (report.rows_added, report.rows_changed, report.rows_unchanged) == (
        0,
        6_000,
        len(panel) - 6_000,
    )
    pd.testing.assert_frame_equal(store.load_panel(), revised)
    revisions = store.revisions()
    assert len(revisions) == 6_000
    assert np.allclose(revisions["new_value"] - revisions["old_value"], 1.5)
    assert set(revisions["new_ingest_id"]) == {report.ingest_id}

    again = store.ingest(revised, file="grid2", file_hash="2", kind="panel_csv")
    assert (again.rows_added, again.rows_changed, again.rows_unchanged) == (0, 0, len(panel))
    assert len(store.revisions()) == 6_000


def test_a_revision_failing_half_way_leaves_nothing_behind_and_the_retry_works(
    store: Store,
) -> None:
    """The staging table goes with the rolled-back transaction: a retry can create it again."""
    panel = grid_panel(3, 10)
    store.ingest(panel, file="a", file_hash="a", kind="k")
    revised = panel.assign(value=panel["value"] + 1)
    failures = []

    def fail_once(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("UPDATE OBSERVATIONS") and not failures:
            failures.append(statement)
            raise RuntimeError("connection dropped mid-ingest")

    sa.event.listen(store.engine, "before_cursor_execute", fail_once)
    try:
        with pytest.raises(RuntimeError):
            store.ingest(revised, file="b", file_hash="b", kind="k")
        pd.testing.assert_frame_equal(store.load_panel(), panel)
        assert store.revisions().empty and len(store.ingests()) == 1
        report = store.ingest(revised, file="b", file_hash="b", kind="k")  # same connection
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", fail_once)
    assert report.rows_changed == len(panel) and len(failures) == 1
    pd.testing.assert_frame_equal(store.load_panel(), revised)


def test_regions_with_data_lists_distinct_regions(store: Store) -> None:
    assert store.regions_with_data() == []
    store.ingest(grid_panel(3, 4), file="g", file_hash="g", kind="k")
    store.ingest(grid_panel(2, 4, prefix="B"), file="b", file_hash="b", kind="k")
    assert store.regions_with_data() == ["B0000", "B0001", "G0000", "G0001", "G0002"]
    assert store.regions_with_data() == sorted(store.load_panel()["region"].unique())


# -- PostgreSQL specifics -------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_server_gone_during_copy_is_a_clear_error_and_nothing_is_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with fresh_schema("rc_scale") as (schema, admin):
        name = f"rc_dying_{uuid.uuid4().hex[:8]}"
        url = schema_url(server_url(), schema, application_name=name)
        store = open_store(url)
        store.ingest(grid_panel(2, 3), file="a", file_hash="a", kind="k")
        original = data.db._row_chunks

        def dying(*args, **kwargs):
            with admin.begin() as conn:  # the server ends the ingest's session mid-COPY
                conn.execute(
                    sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = :name"),
                    {"name": name},
                )  # fmt: skip
            yield from original(*args, **kwargs)

        monkeypatch.setattr(data.db, "_row_chunks", dying)
        with pytest.raises(StoreUnavailableError, match="Nothing was written"):
            store.ingest(grid_panel(40, 30, prefix="N"), file="b", file_hash="b", kind="k")
        monkeypatch.undo()
        store.close()
        reopened = open_store(url)
        assert reopened.count() == 6 and len(reopened.ingests()) == 1
        assert "N0000" not in reopened.registry()
        reopened.close()


@pytest.mark.postgres
@pytest.mark.parametrize("url", ["postgresql"], indirect=True)
def test_postgres_large_ingest_refreshes_planner_statistics(store: Store) -> None:
    """A large ingest ANALYZEs: the next ingest's lookups are planned on the new rows."""
    store.ingest(grid_panel(40, 300), file="g", file_hash="g", kind="k")  # 12,000 rows
    with store.engine.connect() as conn:
        tuples, options = conn.execute(
            sa.text(
                "SELECT reltuples, reloptions FROM pg_class WHERE oid = 'observations'::regclass"
            )
        ).one()
    assert tuples == 12_000  # ANALYZE read every row of this small table; -1 = never analyzed
    assert "fillfactor=90" in (options or [])


# -- indexes that serve the API's queries ---------------------------------------------------


def sqlite_plan(engine: sa.Engine, query: sa.Select) -> str:
    compiled = query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
    return " | ".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize("url", ["sqlite"], indirect=True)
def test_api_queries_are_served_by_indexes(store: Store) -> None:
    from alerts.state import (
        alert_deliveries,
        alert_transitions,
        create_alert_tables,
    )
    from data.tables import forecasts

    create_alert_tables(store.engine)
    plans = {
        "forecasts of one refit and region": sqlite_plan(
            store.engine,
            sa.select(forecasts).where(forecasts.c.refit_id == "r", forecasts.c.region.in_(["A"])),
        ),
        "deliveries of a transition": sqlite_plan(
            store.engine,
            sa.select(alert_deliveries).where(alert_deliveries.c.transition_id == 1),
        ),
        "transitions still owed to a receiver": sqlite_plan(
            store.engine,
            sa.select(alert_transitions).where(
                alert_transitions.c.delivery_status.in_(["queued", "failed"])
            ),
        ),
        "one region of the panel": sqlite_plan(
            store.engine, sa.select(observations).where(observations.c.region.in_(["A"]))
        ),
    }
    expected = {
        "forecasts of one refit and region": "ix_forecasts_refit_id_region (refit_id=? AND",
        "deliveries of a transition": "ix_alert_deliveries_transition_id",
        "transitions still owed to a receiver": "ix_alert_transitions_delivery_status",
        "one region of the panel": "INDEX sqlite_autoindex_observations_1 (region=?)",  # unique
    }
    for query, index in expected.items():
        assert "SEARCH" in plans[query] and index in plans[query], (query, plans[query])


# -- bench/store.py works (not how fast) ----------------------------------------------------


def run_bench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def test_bench_help_and_bad_names() -> None:
    done = run_bench("--help", timeout=60)
    assert done.returncode == 0, done.stderr
    for option in ("--series", "--backends", "--postgres-url", "--repeats", "--quick"):
        assert option in done.stdout
    refused = run_bench("--quick", "--backends", "sqlite,oracle", timeout=60)
    assert refused.returncode == 2 and "oracle" in refused.stderr


def bench_rows(stdout: str) -> list[list[str]]:
    lines = [line for line in stdout.splitlines() if line.startswith("| ") and "---" not in line]
    header, *rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    assert header[:3] == ["N", "backend", "step"]
    return rows


@pytest.mark.slow
def test_bench_quick_runs_on_sqlite(tmp_path: Path) -> None:
    out = tmp_path / "store.json"
    done = run_bench("--quick", "--backends", "sqlite", "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    rows = bench_rows(done.stdout)
    assert [(row[1], row[2]) for row in rows] == [
        ("sqlite", step) for step in ("first", "again", "revise", "load", "load1")
    ]
    assert all(row[-1] == "" for row in rows)  # no step failed its correctness check
    # a second run compares itself with the first (the before/after columns)
    again = run_bench("--quick", "--backends", "sqlite", "--steps", "first,load", "--baseline",
                      str(out))  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    assert "× baseline" in again.stdout


@pytest.mark.slow
@pytest.mark.postgres
def test_bench_quick_runs_on_postgres() -> None:
    url = server_url()
    done = run_bench("--quick", "--backends", "postgresql", "--postgres-url", url)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = bench_rows(done.stdout)
    assert [row[1] for row in rows] == ["postgresql"] * 5
    assert all(row[-1] == "" for row in rows)


def test_bench_skips_postgres_when_no_url_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    done = run_bench("--quick", "--backends", "postgresql", timeout=60)
    assert done.returncode == 2
    assert "postgresql skipped" in done.stderr and "no backend" in done.stderr
