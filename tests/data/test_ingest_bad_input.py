"""Bad files: each gets one clear error naming file, row and field; the store is unchanged."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from data.demo import demo_panel
from data.ingest import ingest_file
from data.schema import validate_panel
from data.sources import detect_kind, has_hxl_row
from data.store import Store, open_store
from riskcast.errors import InputError

HEADER = "region,month,series,value,source\n"


@pytest.fixture
def store() -> Store:
    """A store already holding data, so 'unchanged' is a real claim."""
    opened = open_store(busy_timeout_s=0.5)
    seed = validate_panel(demo_panel(0).head(300), file="seed", row_offset=None)
    opened.ingest(seed, file="seed", file_hash="seed", kind="demo")
    yield opened
    opened.close()


def snapshot(store: Store) -> tuple[pd.DataFrame, int, int]:
    return store.load_panel(), len(store.ingests()), len(store.registry())


def assert_rejected(
    store: Store, path: Path, *, row: int | None, field: str | None, match: str, **kwargs
) -> InputError:
    before = snapshot(store)
    with pytest.raises(InputError, match=match) as info:
        ingest_file(path, store=store, **kwargs)
    error = info.value
    assert error.file == str(path) and str(path) in str(error)
    assert (error.row, error.field) == (row, field)
    after = snapshot(store)
    pd.testing.assert_frame_equal(after[0], before[0])
    assert after[1:] == before[1:]
    return error


def write(tmp_path: Path, text: str, name: str = "panel.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_panel_csv_ingests_and_reports_new_regions(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path, "region,month,series,value\nML05,2020-01,fatalities,3\nX9,2020-01,fatalities,2\n"
    )
    with pytest.raises(InputError, match="unknown region.*'X9' .row 3") as refused:
        ingest_file(path, store=store)
    assert (refused.value.row, refused.value.field) == (3, "region")
    report = ingest_file(path, store=store, allow_new_regions=True)
    assert (report.kind, report.rows_added, report.new_regions) == ("panel_csv", 2, ("X9",))
    stored = store.load_panel(regions=["X9"])
    assert stored["source"].tolist() == ["file:panel.csv"]
    assert ingest_file(path, store=store).rows_unchanged == 2  # X9 is known now


def test_until_drops_later_months(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "ML05,2020-01,fatalities,3,s\nML05,2020-02,fatalities,4,s\n")
    report = ingest_file(path, store=store, until=pd.Period("2020-01", "M"))
    assert (report.rows_added, report.rows_dropped_after_until) == (1, 1)
    assert store.load_panel(
        regions=["ML05"], series=["fatalities"], since=pd.Period("2020-02", "M")
    ).empty
    with pytest.raises(InputError, match="no rows at or before --until"):
        ingest_file(path, store=store, until=pd.Period("2019-01", "M"))


def test_hxl_row_is_skipped_and_rows_still_counted_as_in_the_file(
    store: Store, tmp_path: Path
) -> None:
    text = (
        HEADER
        + "#adm1,#date,#x,#value,#meta\nML05,2020-01,fatalities,3,s\nML05,2020-02,fatalities,-1,s\n"
    )
    path = write(tmp_path, text)
    assert has_hxl_row(path)
    assert_rejected(store, path, row=4, field="value", match="negative")


@pytest.mark.parametrize(
    ("body", "row", "field", "match"),
    [
        ("ML05,2020-01,fatalities,three,s\n", 2, "value", "'three' is not a number"),
        ("ML05,2020-01,fatalities,3,s\nML05,2020-02,fatalities,-2,s\n", 3, "value", "negative"),
        ("ML05,01/2020,fatalities,3,s\n", 2, "month", "'01/2020' is not a month"),
        ("ML05,2099-01,fatalities,3,s\n", 2, "month", "in the future"),
        (
            "ML05,2020-01,fatalities,3,s\nML05,2020-01,fatalities,4,s\n",
            3,
            "value",
            "duplicate rows disagree",
        ),
        ("ML05,2020-01,Fatalities,3,s\n", 2, "series", "snake_case"),
        ("ML05,2020-01,fatalities,3,s\nML05,2020-02,fatali", 3, "value", "value is missing"),
    ],
    ids=[
        "non-numeric",
        "negative",
        "bad-date",
        "future",
        "duplicates",
        "series-name",
        "truncated-row",
    ],
)
def test_bad_cells(
    store: Store, tmp_path: Path, body: str, row: int, field: str, match: str
) -> None:
    assert_rejected(store, write(tmp_path, HEADER + body), row=row, field=field, match=match)


def test_exact_duplicate_rows_are_collapsed(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "ML05,2020-01,fatalities,3,s\nML05,2020-01,fatalities,3.0,s\n")
    assert ingest_file(path, store=store).rows_added == 1


def test_misnamed_column_with_explicit_kind_names_the_field(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "region,month,series,valeu\nML05,2020-01,fatalities,3\n")
    assert_rejected(
        store,
        path,
        row=1,
        field="value",
        match="found 'valeu': did you mean 'value'",
        source_kind="panel_csv",
    )


def test_missing_column_cannot_be_detected_and_says_what_is_missing(
    store: Store, tmp_path: Path
) -> None:
    path = write(tmp_path, "region,month,series,valeu\nML05,2020-01,fatalities,3\n")
    error = assert_rejected(store, path, row=1, field="value", match="could not tell what kind")
    assert "found 'valeu': did you mean 'value'" in error.message
    path = write(tmp_path, "region,month,value\nML05,2020-01,3\n", name="two.csv")
    assert_rejected(store, path, row=1, field="series", match="missing 'series'")


def test_unknown_source_kind_suggests_one(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "ML05,2020-01,fatalities,3,s\n")
    assert_rejected(
        store,
        path,
        row=None,
        field="--source",
        match="did you mean 'panel_csv'",
        source_kind="panel_cvs",
    )


def test_empty_file(store: Store, tmp_path: Path) -> None:
    assert_rejected(store, write(tmp_path, ""), row=None, field=None, match="empty")


def test_header_only_file(store: Store, tmp_path: Path) -> None:
    assert_rejected(store, write(tmp_path, HEADER), row=None, field=None, match="no data rows")


def test_truncated_quoted_field(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + 'ML05,2020-01,fatalities,3,"ACLED, cut off\n')
    assert_rejected(store, path, row=None, field=None, match="not a well-formed CSV")


def test_row_with_too_many_fields_names_its_line(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path, HEADER + "ML05,2020-01,fatalities,3,s\nML05,2020-02,fatalities,3,s,x,y\n"
    )
    assert_rejected(store, path, row=3, field=None, match="Expected 5 fields in line 3")


def test_binary_file(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "image.csv"
    path.write_bytes(bytes(range(256)) * 40)
    assert_rejected(store, path, row=None, field=None, match="binary file")


def test_truncated_workbook(store: Store, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    pd.DataFrame({"Admin1": ["Mopti"], "Fatalities": [3]}).to_excel(
        buffer, sheet_name="Data", index=False
    )
    path = tmp_path / "acled.xlsx"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(path)
    assert_rejected(store, path, row=None, field=None, match="not a readable .xlsx")


def test_missing_file(store: Store, tmp_path: Path) -> None:
    assert_rejected(store, tmp_path / "nope.csv", row=None, field=None, match="no such file")


def test_unknown_region_name_names_row_and_closest_names(store: Store, tmp_path: Path) -> None:
    """Kinds that resolve names (here UCDP GED) reject an unknown admin1 with suggestions."""
    text = (
        "id,date_start,date_end,country,adm_1,best\n"
        "1,2020-01-03,2020-01-03,Mali,Mopti region,4\n"
        "2,2020-01-09,2020-01-09,Mali,Mopty-Nord,2\n"
    )
    path = write(tmp_path, text, name="ged.csv")
    assert detect_kind(path) == "ucdp_ged"
    before = snapshot(store)
    with pytest.raises(InputError, match="unknown region 'Mopty-Nord'.*Mopti") as info:
        ingest_file(path, store=store)
    assert (info.value.row, info.value.field) == (3, "adm_1")
    assert "ged.csv" in str(info.value)
    pd.testing.assert_frame_equal(store.load_panel(), before[0])
