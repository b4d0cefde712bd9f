"""validate_panel: the one validation every entry point uses (happy, boundary, adversarial)."""

from __future__ import annotations

import pandas as pd
import pytest

from data.schema import validate_panel
from riskcast.errors import InputError

NOW = pd.Period("2024-06", "M")


def frame(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["region", "month", "series", "value", "source"])


def check_error(panel: pd.DataFrame, *, row: int | None, field: str, match: str) -> InputError:
    with pytest.raises(InputError, match=match) as info:
        validate_panel(panel, file="panel.csv", now=NOW)
    error = info.value
    assert (error.file, error.row, error.field) == ("panel.csv", row, field)
    assert "panel.csv" in str(error)
    return error


def test_clean_panel_comes_back_typed_sorted_and_stripped() -> None:
    panel = frame(
        ("ML05 ", "2020-02", "fatalities", "3", "acled"),
        ("ML01", pd.Period("2020-01", "M"), "fatalities", 2, "acled"),
        ("ML05", "2020-01", "fatalities", 0.5, "acled"),
    )
    clean = validate_panel(panel, file="x", now=NOW)
    assert str(clean["month"].dtype) == "period[M]"
    assert clean["value"].dtype == "float64"
    assert clean["region"].tolist() == ["ML01", "ML05", "ML05"]
    assert [str(m) for m in clean["month"]] == ["2020-01", "2020-01", "2020-02"]
    assert clean["value"].tolist() == [2.0, 0.5, 3.0]


def test_exact_duplicates_collapse_to_one_row() -> None:
    panel = frame(
        ("ML01", "2020-01", "fatalities", "2", "a"), ("ML01", "2020-01", "fatalities", 2.0, "a")
    )
    assert len(validate_panel(panel, file="x", now=NOW)) == 1


@pytest.mark.parametrize(
    ("bad", "field", "match"),
    [
        ({"value": "three"}, "value", "'three' is not a number"),
        ({"value": ""}, "value", "value is missing"),
        ({"value": -1}, "value", "negative"),
        ({"value": float("inf")}, "value", "not a finite number"),
        ({"month": "2020-13"}, "month", "'2020-13' is not a month written YYYY-MM"),
        ({"month": "March 2020"}, "month", "not a month"),
        ({"month": "2024-07"}, "month", "in the future"),
        ({"series": "Fatalities"}, "series", "snake_case"),
        ({"series": "aid diversion"}, "series", "snake_case"),
        ({"region": ""}, "region", "region is missing"),
        ({"source": None}, "source", "source is missing"),
    ],
)
def test_each_bad_cell_is_named_by_file_row_and_field(bad: dict, field: str, match: str) -> None:
    good = {"region": "ML01", "month": "2020-01", "series": "fatalities", "value": 1, "source": "s"}
    rows = [dict(good, month="2019-12"), dict(good, **bad)]
    check_error(pd.DataFrame(rows), row=3, field=field, match=match)


def test_current_month_is_not_the_future() -> None:
    panel = frame(("ML01", "2024-06", "fatalities", 1, "s"))
    assert len(validate_panel(panel, file="x", now=NOW)) == 1


def test_disagreeing_duplicates_name_both_rows() -> None:
    panel = frame(
        ("ML01", "2020-01", "fatalities", 1, "s"),
        ("ML02", "2020-01", "fatalities", 5, "s"),
        ("ML02", "2020-01", "fatalities", 6, "s"),
    )
    error = check_error(panel, row=4, field="value", match="duplicate rows disagree")
    assert "rows 3, 4" in error.message and "5, 6" in error.message


def test_first_problem_reported_with_count_of_the_rest() -> None:
    panel = frame(
        ("ML01", "2020-01", "fatalities", 1, "s"),
        ("ML01", "2020-02", "fatalities", -4, "s"),
        ("ML01", "bad", "fatalities", "x", "s"),
    )
    error = check_error(panel, row=3, field="value", match="negative")
    assert "2 more problem(s)" in error.message


def test_missing_or_misnamed_column_suggests_the_right_name() -> None:
    panel = frame(("ML01", "2020-01", "fatalities", 1, "s")).rename(columns={"value": "valeu"})
    check_error(
        panel,
        row=1,
        field="value",
        match="missing column 'value' \\(found 'valeu': did you mean 'value'",
    )


def test_empty_frame_is_an_error() -> None:
    with pytest.raises(InputError, match="no data rows") as info:
        validate_panel(frame(), file="empty.csv")
    assert info.value.file == "empty.csv"


def test_row_column_gives_file_rows_and_none_hides_positions() -> None:
    panel = frame(("ML01", "2020-01", "fatalities", -1, "s")).assign(_row=[17])
    check_error(panel, row=17, field="value", match="negative")
    aggregated = frame(("ML01", "2020-01", "fatalities", -1, "s"))
    with pytest.raises(InputError) as info:
        validate_panel(aggregated, file="agg", row_offset=None, now=NOW)
    assert info.value.row is None and info.value.field == "value"
