"""Data-quality flags: silent sources and zeros after a reporting gap, never calm."""

from __future__ import annotations

import pandas as pd
import pytest

from alerts.quality import assess_data_quality, flags_by_region
from alerts.rules import QualitySettings
from riskcast.errors import InputError


def series_rows(region: str, start: str, values: list[float | None], name="fatalities"):
    """Panel rows; None leaves the month out (a reporting gap)."""
    months = pd.period_range(start, periods=len(values), freq="M")
    return [
        (region, month, name, float(v), "test-source")
        for month, v in zip(months, values, strict=True)
        if v is not None
    ]


def panel(*parts) -> pd.DataFrame:
    rows = [row for part in parts for row in part]
    frame = pd.DataFrame(rows, columns=["region", "month", "series", "value", "source"])
    frame["month"] = frame["month"].astype("period[M]")
    return frame


def test_healthy_quiet_and_busy_series_are_not_flagged():
    data = panel(
        series_rows("QUIET", "2020-01", [0.0] * 24),
        series_rows("BUSY", "2020-01", [5.0, 9.0, 0.0, 12.0] * 6),
    )
    assert assess_data_quality(data) == []


def test_a_series_gone_silent_is_flagged_against_the_newest_month():
    data = panel(
        series_rows("LIVE", "2020-01", [3.0] * 24),  # reaches 2021-12
        series_rows("SILENT", "2020-01", [3.0] * 20),  # stops 2021-08: 4 months behind
        series_rows("LATE", "2020-01", [3.0] * 22),  # 2 months behind: under 3
    )
    flags = assess_data_quality(data, QualitySettings(silent_months=3))
    assert [(f.region, f.kind, f.last_month) for f in flags] == [("SILENT", "silent", "2021-08")]
    assert "4 months behind its source's latest month, 2021-12" in flags[0].detail
    # An explicit reference month (e.g. today) makes every stale series silent.
    later = assess_data_quality(data, as_of=pd.Period("2022-06", freq="M"))
    assert {f.region for f in later} == {"LIVE", "SILENT", "LATE"}


def test_zeros_after_a_reporting_gap_are_flagged():
    active = [8.0, 12.0, 5.0, 9.0, 7.0, 10.0]
    data = panel(
        series_rows("GAP", "2021-01", [*active, None, None, None, 0.0, 0.0, 0.0]),
        series_rows("GAP_OK", "2021-01", [*active, None, None, None, 0.0, 4.0, 0.0]),
        series_rows("NO_GAP", "2021-01", [*active, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        series_rows("QUIET_GAP", "2021-01", [0.0] * 6 + [None] * 3 + [0.0] * 3),
    )
    flags = assess_data_quality(data, QualitySettings(gap_months=2))
    assert [(f.region, f.kind) for f in flags] == [("GAP", "zero_after_gap")]
    assert "3 months missing before 2021-10" in flags[0].detail
    by_region = flags_by_region(flags)
    assert set(by_region) == {"GAP"} and "fatalities zero_after_gap" in by_region["GAP"]


def test_old_gaps_are_not_flagged_once_reporting_has_been_back_a_while():
    values = [8.0] * 6 + [None] * 3 + [0.0] * 10
    data = panel(series_rows("OLD", "2020-01", values))
    assert assess_data_quality(data, QualitySettings(zero_lookback=6)) == []


def test_missing_columns_are_named():
    with pytest.raises(InputError, match="value"):
        assess_data_quality(pd.DataFrame({"region": [], "month": [], "series": []}))


def _with_source(rows, source: str):
    return [(*row[:4], source) for row in rows]


def test_each_source_is_judged_against_its_own_latest_release_never_another():
    acled = _with_source(series_rows("ML05", "2018-01", [3.0] * 48), "acled")  # to 2021-12
    awsd = _with_source(series_rows("ML05", "2018-01", [1.0] * 96, "aid_diversion"), "awsd")
    data = panel(acled, awsd)  # AWSD runs to 2025-12, 48 months past ACLED
    assert assess_data_quality(data) == []
    # One ACLED region that stops early is flagged against ACLED's own 2021-12.
    early = _with_source(series_rows("ML06", "2018-01", [3.0] * 40), "acled")  # to 2021-04
    flags = assess_data_quality(panel(acled, awsd, early))
    assert [(f.region, f.series, f.kind) for f in flags] == [("ML06", "fatalities", "silent")]
    assert "2021-12" in flags[0].detail and "2025" not in flags[0].detail


def test_a_sparse_source_is_judged_by_its_own_cadence():
    quarterly = [
        ("QQ", pd.Period("2018-01", "M") + 3 * i, "fatalities", 4.0, "quarterly") for i in range(12)
    ]
    behind = [
        ("QR", pd.Period("2018-01", "M") + 3 * i, "fatalities", 4.0, "quarterly") for i in range(11)
    ]
    data = panel(quarterly, behind)  # QR is one release (3 months) behind: not silent
    assert assess_data_quality(data, QualitySettings(silent_months=3)) == []
    far = [
        ("QS", pd.Period("2018-01", "M") + 3 * i, "fatalities", 4.0, "quarterly") for i in range(9)
    ]
    flags = assess_data_quality(panel(quarterly, far), QualitySettings(silent_months=3))
    assert [f.region for f in flags] == ["QS"]  # three releases behind


def test_only_the_watch_list_is_checked():
    data = panel(
        series_rows("LIVE", "2020-01", [3.0] * 24),
        series_rows("NAM", "1988-01", [1.0] * 27),  # stops 1990-03: silent for decades
    )
    assert [f.region for f in assess_data_quality(data)] == ["NAM"]
    assert assess_data_quality(data, regions=["LIVE"]) == []
