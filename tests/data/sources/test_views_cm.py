"""VIEWS country-month files: the real challenge files ingest with their known totals, and
bad ids or a missing key are refused naming the file, row and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from data.sources import detect_kind
from data.sources.views_cm import CountryKey, month_id_of, month_of, parse
from riskcast.errors import InputError
from tests.conftest import shared_file

KEY = "id,name,gwcode,isoname,isoab,isonum,in_africa,in_middle_east\n"
KEY_ROWS = (
    "50,Mali,432,Mali,MLI,466,1,0\n59,Sudan,625,Sudan,SDN,736,1,0\n"
    "245,Sudan,625,Sudan,SDN,729,1,0\n232,Kosovo,347,,,0,0,0\n"
)


def _write_key(folder: Path) -> Path:
    path = folder / "country_key.csv"
    path.write_text(KEY + KEY_ROWS)
    return path


def test_month_ids_count_from_january_1980() -> None:
    months = pd.Series(["1980-01", "2021-01", "2021-12", "2024-12"])
    ids = month_id_of(months)
    assert ids.tolist() == [1, 493, 504, 540]  # as in the challenge's month_key.csv
    assert month_of(ids).dt.strftime("%Y-%m").tolist() == months.tolist()


def test_real_actuals_and_features_give_the_known_totals() -> None:
    actuals = shared_file("views_cm/cm_actuals_2021.parquet")
    features = shared_file("views_cm/cm_features_2021.csv")
    assert detect_kind(actuals) == "views_cm" and detect_kind(features) == "views_cm"
    by_features = parse(features)
    mali = by_features[by_features["region"] == "MLI"]
    assert mali["value"].sum() == 726  # Mali ged_sb 2021 (shared data README)
    assert set(mali["month"].dt.strftime("%Y-%m")) == {f"2021-{m:02d}" for m in range(1, 13)}
    by_actuals = parse(actuals)
    assert by_actuals["value"].sum() == 200_181  # all countries 2021 (Kosovo had none)
    assert by_actuals.loc[by_actuals["region"] == "MLI", "value"].sum() == 726
    merged = by_actuals.merge(by_features, on=["region", "month"])
    assert len(merged) == len(by_actuals) and (merged["value_x"] == merged["value_y"]).all()
    assert by_actuals["region"].nunique() == 190  # 191 countries less Kosovo (no ISO3)
    assert (by_actuals["source"] == "views_cm:cm_actuals_2021.parquet").all()
    mali_2020 = parse(shared_file("views_cm/cm_actuals_2020.parquet"))
    assert mali_2020.loc[mali_2020["region"] == "MLI", "value"].sum() == 580


def test_ingest_cli_stores_a_views_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli import app
    from data.store import open_store

    actuals = shared_file("views_cm/cm_actuals_2021.parquet")
    result = CliRunner().invoke(app, ["ingest", str(actuals)])
    assert result.exit_code == 0, result.output
    store = open_store()
    try:
        panel = store.load_panel()
    finally:
        store.close()
    assert panel.loc[panel["region"] == "MLI", "value"].sum() == 726
    again = CliRunner().invoke(app, ["ingest", str(actuals)])
    assert "0 rows added, 0 changed" in again.output


def _views_file(folder: Path, rows: str, name: str = "cm_actuals.csv") -> Path:
    path = folder / name
    path.write_text("month_id,country_id,outcome\n" + rows)
    return path


def test_small_file_maps_ids_and_drops_unplaced_kosovo(tmp_path: Path, caplog) -> None:
    _write_key(tmp_path)
    path = _views_file(tmp_path, "493,50,3\n494,50,0\n493,232,1\n493,245,4\n")
    frame = parse(path)
    months = frame["month"].dt.strftime("%Y-%m")
    assert sorted(zip(frame["region"], months, frame["value"], strict=True)) == [
        ("MLI", "2021-01", 3.0),
        ("MLI", "2021-02", 0.0),
        ("SDN", "2021-01", 4.0),
    ]
    assert "dropped 1 row(s) of countries without an ISO3 code" in caplog.text
    assert frame["_row"].tolist() == [2, 3, 5]


@pytest.mark.parametrize(
    ("rows", "row", "field", "message"),
    [
        ("493,50,3\n493,999,1\n", 3, "country_id", "country_id 999 is not in"),
        ("493,50,3\n0,50,1\n", 3, "month_id", "not a VIEWS id"),
        ("493,50,3\nx,50,1\n", 3, "month_id", "not a VIEWS id"),
        ("493,50,-2\n", 2, "outcome or ged_sb", "negative"),
        ("493,50,\n", 2, "outcome or ged_sb", "not a number"),
    ],
)
def test_bad_rows_name_file_row_and_field(tmp_path, rows, row, field, message) -> None:
    _write_key(tmp_path)
    path = _views_file(tmp_path, rows)
    with pytest.raises(InputError, match=message) as caught:
        parse(path)
    assert (caught.value.file, caught.value.row, caught.value.field) == (str(path), row, field)


def test_missing_key_and_ambiguous_iso3_are_clear_errors(tmp_path: Path) -> None:
    path = _views_file(tmp_path, "493,50,3\n")
    with pytest.raises(InputError, match="country_key.csv in the same folder"):
        parse(path)
    key = CountryKey.load(_write_key(tmp_path))
    assert key.country_ids(["MLI"]) == {"MLI": 50}
    with pytest.raises(InputError, match=r"ids \[59, 245\].*--active-ids"):
        key.country_ids(["SDN"])
    assert key.country_ids(["SDN"], active={50, 245}) == {"SDN": 245}
    with pytest.raises(InputError, match="'XXX' has no VIEWS country id"):
        key.country_ids(["XXX"])


def test_real_key_resolves_current_states_with_active_ids(tmp_path: Path) -> None:
    key_file = shared_file("views_cm/country_key.csv")
    actuals = shared_file("views_cm/cm_actuals_2021.parquet")
    from forecast.views import active_ids

    key = CountryKey.load(key_file)
    ids = key.country_ids(["MLI", "SDN", "ETH", "YEM"], active=active_ids(actuals))
    assert ids == {"MLI": 50, "SDN": 245, "ETH": 57, "YEM": 124}
    copy = tmp_path / "cm_actuals_2021.parquet"  # a file without its key beside it
    shutil.copy(actuals, copy)
    with pytest.raises(InputError, match="country_key.csv"):
        parse(copy)
