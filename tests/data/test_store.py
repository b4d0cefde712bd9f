"""The SQLite store: round trip, idempotence (property), revisions, atomicity, locking."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.schema import validate_panel
from data.store import Store, open_store
from riskcast.errors import StoreUnavailableError
from tests.panels import synthetic_panel


def make_panel(rows: list[tuple[str, str, str, float]], source: str = "test") -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["region", "month", "series", "value"])
    return validate_panel(frame.assign(source=source), file="test")


@pytest.fixture
def store() -> Store:
    opened = open_store(busy_timeout_s=0.2)
    yield opened
    opened.close()


def test_round_trip_keeps_the_panel_and_logs_the_ingest(store: Store, panel) -> None:
    clean = validate_panel(panel, file="panel")
    report = store.ingest(clean, file="panel.csv", file_hash="abc", kind="panel_csv")
    assert (report.rows_added, report.rows_changed, report.rows_unchanged) == (len(clean), 0, 0)
    pd.testing.assert_frame_equal(store.load_panel(), clean)
    log = store.ingests()
    assert log[["file", "sha256", "kind", "rows_added"]].iloc[0].tolist() == [
        "panel.csv",
        "abc",
        "panel_csv",
        len(clean),
    ]
    assert not store.is_synthetic()


def test_load_panel_filters_by_region_series_and_months(store: Store, panel) -> None:
    clean = validate_panel(panel, file="panel")
    store.ingest(clean, file="p", file_hash="h", kind="k")
    since, until = pd.Period("2018-01", "M"), pd.Period("2018-06", "M")
    got = store.load_panel(regions=["AA02"], series=["fatalities"], since=since, until=until)
    expected = clean[
        (clean["region"] == "AA02")
        & (clean["series"] == "fatalities")
        & (clean["month"] >= since)
        & (clean["month"] <= until)
    ].reset_index(drop=True)
    assert len(got) == 6
    pd.testing.assert_frame_equal(got, expected)


def test_same_panel_twice_changes_nothing(store: Store, panel) -> None:
    clean = validate_panel(panel, file="panel")
    store.ingest(clean, file="p", file_hash="h", kind="k")
    again = store.ingest(clean, file="p", file_hash="h", kind="k")
    assert (again.rows_added, again.rows_changed, again.rows_unchanged) == (0, 0, len(clean))
    assert not again.changed_anything and again.new_regions == ()
    assert len(store.ingests()) == 2  # every ingest is logged, the second changed nothing
    pd.testing.assert_frame_equal(store.load_panel(), clean)


def test_revised_number_keeps_the_previous_value(store: Store) -> None:
    first = store.ingest(
        make_panel([("ML05", "2020-01", "fatalities", 10), ("ML05", "2020-02", "fatalities", 4)]),
        file="a",
        file_hash="1",
        kind="k",
    )
    second = store.ingest(
        make_panel([("ML05", "2020-01", "fatalities", 12), ("ML05", "2020-03", "fatalities", 1)]),
        file="b",
        file_hash="2",
        kind="k",
    )
    assert (second.rows_added, second.rows_changed, second.rows_unchanged) == (1, 1, 0)
    revisions = store.revisions()
    assert len(revisions) == 1
    rev = revisions.iloc[0]
    assert (rev["region"], rev["month"], rev["old_value"], rev["new_value"]) == (
        "ML05",
        "2020-01",
        10.0,
        12.0,
    )
    assert (rev["old_ingest_id"], rev["new_ingest_id"]) == (first.ingest_id, second.ingest_id)
    assert store.load_panel()["value"].tolist() == [12.0, 4.0, 1.0]


def test_less_trusted_source_does_not_overwrite_a_more_trusted_one(store: Store) -> None:
    row = [("ML05", "2020-01", "fatalities", 10)]
    store.ingest(make_panel(row, "acled_admin2_xlsx:w.xlsx"), file="w", file_hash="1", kind="k")
    lower = store.ingest(
        make_panel([("ML05", "2020-01", "fatalities", 14)], "acled_events:e.csv"),
        file="e",
        file_hash="2",
        kind="acled_events",
    )
    assert (lower.rows_changed, lower.rows_outranked) == (0, 1)
    assert store.load_panel()["value"].tolist() == [10.0]
    higher = store.ingest(
        make_panel([("ML05", "2020-01", "fatalities", 9)], "panel_csv:fix.csv"),
        file="fix",
        file_hash="3",
        kind="panel_csv",
    )
    assert (higher.rows_changed, higher.rows_outranked) == (1, 0)
    assert store.load_panel()["source"].tolist() == ["panel_csv:fix.csv"]


def test_unknown_region_ids_become_custom_regions(store: Store) -> None:
    report = store.ingest(
        make_panel([("my-district-7", "2020-01", "fatalities", 1)]),
        file="a",
        file_hash="1",
        kind="k",
    )
    assert report.new_regions == ("my-district-7",)
    region = store.registry().get("my-district-7")
    assert (region.name, region.level) == ("my-district-7", "custom")
    assert "ML05" in store.registry()  # the default registry is still there
    again = store.ingest(
        make_panel([("my-district-7", "2020-02", "fatalities", 1)]),
        file="b",
        file_hash="2",
        kind="k",
    )
    assert again.new_regions == ()


def test_failure_half_way_leaves_the_store_as_it_was(store: Store) -> None:
    before_panel = make_panel([("ML05", "2020-01", "fatalities", 10)])
    store.ingest(before_panel, file="a", file_hash="1", kind="k")
    incoming = make_panel(
        [
            ("ML05", "2020-01", "fatalities", 99),  # a revision
            ("ML05", "2020-02", "fatalities", 3),  # a new row
            ("NEW01", "2020-01", "fatalities", 3),  # a new region
        ]
    )

    def fail_on_update(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("UPDATE OBSERVATIONS"):
            raise RuntimeError("disk pulled out mid-ingest")

    sa.event.listen(store.engine, "before_cursor_execute", fail_on_update)
    try:
        with pytest.raises(RuntimeError, match="mid-ingest"):
            store.ingest(incoming, file="b", file_hash="2", kind="k")
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", fail_on_update)
    pd.testing.assert_frame_equal(store.load_panel(), before_panel)
    assert len(store.ingests()) == 1
    assert store.revisions().empty
    assert "NEW01" not in store.registry()


def test_locked_database_is_a_clear_error_and_nothing_is_written(store: Store) -> None:
    store.ingest(
        make_panel([("ML05", "2020-01", "fatalities", 10)]), file="a", file_hash="1", kind="k"
    )
    path = store.engine.url.database
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    try:
        with pytest.raises(StoreUnavailableError, match="locked by another writer") as info:
            store.ingest(
                make_panel([("ML05", "2020-02", "fatalities", 1)]),
                file="b",
                file_hash="2",
                kind="k",
            )
        assert "Nothing was written" in str(info.value)
        assert len(store.load_panel()) == 1  # WAL: readers still read while a writer holds it
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert len(store.ingests()) == 1 and len(store.load_panel()) == 1


def test_sqlite_runs_in_wal_mode(store: Store) -> None:
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_unreachable_or_bad_database_url_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError, match="cannot be reached"):
        open_store("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_timeout_s=2)
    with pytest.raises(StoreUnavailableError, match="only sqlite"):
        open_store("mysql://x@localhost/db")
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where a folder should be")
    with pytest.raises(StoreUnavailableError, match="cannot be reached"):
        open_store(f"sqlite:///{blocked}/riskcast.db")


def test_thousands_of_rows_ingest_in_bulk(store: Store) -> None:
    big = validate_panel(
        synthetic_panel(start="2000-01", end="2021-12", seed=3), file="big"
    )  # 4 regions × 264 months × 2 series
    assert len(big) > 1500
    report = store.ingest(big, file="big", file_hash="h", kind="k")
    assert report.rows_added == len(big)
    assert store.count() == len(big)


def test_default_store_lives_under_the_home_folder(isolated_home: Path) -> None:
    store = open_store()
    store.ingest(
        make_panel([("ML05", "2020-01", "fatalities", 1)]), file="a", file_hash="1", kind="k"
    )
    assert (isolated_home / "riskcast.db").exists()
    store.close()


# -- property: ingest twice == ingest once ----------------------------------------------------

keys = st.tuples(
    st.sampled_from(["ML01", "ML05", "X1"]),
    st.sampled_from(["2019-11", "2019-12", "2020-01", "2020-02"]),
    st.sampled_from(["fatalities", "aid_diversion"]),
)
panels = st.dictionaries(
    keys, st.integers(0, 500) | st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=20
)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=panels, second=panels)
def test_property_ingest_twice_equals_ingest_once(first: dict, second: dict) -> None:
    """After any history, ingesting a panel again changes nothing; revisions match changes."""
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/p.db", busy_timeout_s=1)
        try:
            a = make_panel([(*k, v) for k, v in first.items()])
            b = make_panel([(*k, v) for k, v in second.items()])
            store.ingest(a, file="a", file_hash="a", kind="k")
            once = store.ingest(b, file="b", file_hash="b", kind="k")
            after_once = store.load_panel()
            twice = store.ingest(b, file="b", file_hash="b", kind="k")
            pd.testing.assert_frame_equal(store.load_panel(), after_once)
            assert (twice.rows_added, twice.rows_changed, twice.rows_unchanged) == (0, 0, len(b))
            assert len(store.revisions()) == once.rows_changed
            expected = {**first, **second}
            assert len(after_once) == len(expected)
        finally:
            store.close()


def test_readers_open_and_read_while_a_writer_holds_the_lock(store: Store) -> None:
    store.ingest(
        make_panel([("ML05", "2020-01", "fatalities", 1)]), file="a", file_hash="1", kind="k"
    )
    other = sqlite3.connect(store.engine.url.database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        reader = open_store(str(store.engine.url), busy_timeout_s=0.2)
        assert len(reader.load_panel()) == 1 and len(reader.ingests()) == 1
        reader.close()
    finally:
        other.execute("ROLLBACK")
        other.close()
