"""The store's core guarantees against a real PostgreSQL server.

Reads RISKCAST_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:55432/postgres)
and skips with a reason when it is unset or the server does not answer. Each test works in
a schema of its own (created, then dropped), chosen through the connection's search_path.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pandas as pd
import pytest
import sqlalchemy as sa

from data.demo import demo_panel
from data.schema import validate_panel
from data.store import Store, open_store
from riskcast.errors import StoreUnavailableError
from tests.pg import fresh_schema, schema_url, server_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose connections use a fresh schema; the schema is dropped afterwards."""
    with fresh_schema("rc_test") as (schema, _):
        yield schema_url(server_url(), schema)


@pytest.fixture
def store(pg_url: str) -> Store:
    opened = open_store(pg_url)
    yield opened
    opened.close()


def make_panel(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["region", "month", "series", "value"]).assign(source="t")
    return validate_panel(frame, file="test")


def test_tables_live_in_the_test_schema(store: Store) -> None:
    with store.engine.connect() as conn:
        schema = conn.execute(sa.text("select current_schema()")).scalar()
        tables = set(sa.inspect(conn).get_table_names(schema=schema))
    assert schema.startswith("rc_test_")
    assert {"observations", "observation_revisions", "ingests", "regions"} <= tables


def test_bulk_round_trip_and_idempotence(store: Store) -> None:
    panel = validate_panel(demo_panel(0), file="demo", row_offset=None)
    first = store.ingest(panel, file="demo", file_hash="h", kind="demo")
    assert first.rows_added == len(panel) == 3600
    pd.testing.assert_frame_equal(store.load_panel(), panel)
    again = store.ingest(panel, file="demo", file_hash="h", kind="demo")
    assert (again.rows_added, again.rows_changed, again.rows_unchanged) == (0, 0, 3600)
    assert store.is_synthetic()
    assert store.ingests()["rows_added"].tolist() == [3600, 0]


def test_revisions_and_custom_regions(store: Store) -> None:
    store.ingest(
        make_panel([("ML05", "2020-01", "fatalities", 10)]), file="a", file_hash="1", kind="k"
    )
    report = store.ingest(
        make_panel([("ML05", "2020-01", "fatalities", 12), ("Z1", "2020-01", "fatalities", 1)]),
        file="b",
        file_hash="2",
        kind="k",
    )
    assert (report.rows_added, report.rows_changed, report.new_regions) == (1, 1, ("Z1",))
    revisions = store.revisions()
    assert revisions[["old_value", "new_value"]].iloc[0].tolist() == [10.0, 12.0]
    assert store.registry().get("Z1").level == "custom"
    got = store.load_panel(
        regions=["ML05"], since=pd.Period("2020-01", "M"), until=pd.Period("2020-01", "M")
    )
    assert got["value"].tolist() == [12.0]


def test_failure_half_way_rolls_back(store: Store) -> None:
    before = make_panel([("ML05", "2020-01", "fatalities", 10)])
    store.ingest(before, file="a", file_hash="1", kind="k")

    def fail_on_update(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("UPDATE OBSERVATIONS"):
            raise RuntimeError("server went away mid-ingest")

    sa.event.listen(store.engine, "before_cursor_execute", fail_on_update)
    try:
        with pytest.raises(RuntimeError):
            store.ingest(
                make_panel(
                    [("ML05", "2020-01", "fatalities", 99), ("N1", "2020-02", "fatalities", 1)]
                ),
                file="b",
                file_hash="2",
                kind="k",
            )
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", fail_on_update)
    pd.testing.assert_frame_equal(store.load_panel(), before)
    assert len(store.ingests()) == 1 and store.revisions().empty and "N1" not in store.registry()


def test_concurrent_ingests_of_the_same_rows_end_consistent(pg_url: str) -> None:
    """Two writers racing on the same keys: each either succeeds or fails cleanly."""
    panel = make_panel([("ML05", f"2020-{m:02d}", "fatalities", m) for m in range(1, 13)])
    outcomes: list[object] = []

    def ingest() -> None:
        store = open_store(pg_url)
        try:
            outcomes.append(store.ingest(panel, file="p", file_hash="h", kind="k"))
        except StoreUnavailableError as exc:
            outcomes.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=ingest) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store = open_store(pg_url)
    pd.testing.assert_frame_equal(store.load_panel(), panel)
    assert len(outcomes) == 2
    store.close()


def test_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(StoreUnavailableError, match="cannot be reached.*Nothing was written"):
        open_store("postgresql+psycopg://postgres@127.0.0.1:1/postgres", connect_timeout_s=2)
