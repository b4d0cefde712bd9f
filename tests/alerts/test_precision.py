"""Precision and recall of the alert rule per threshold, on a case worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from alerts.precision import alert_cases, precision_recall_table
from riskcast.errors import InputError


def forecasts() -> pd.DataFrame:
    """Two regions, two origins, window 2 (output-contract columns alerts read)."""
    rows = [
        # region, origin, horizon, month, p_escalation, threshold
        ("A", "2021-01", 1, "2021-02", 0.70, 10.0),
        ("A", "2021-01", 2, "2021-03", 0.40, 10.0),
        ("A", "2021-02", 1, "2021-03", 0.20, 10.0),
        ("A", "2021-02", 2, "2021-04", 0.10, 10.0),
        ("B", "2021-01", 1, "2021-02", 0.60, 5.0),
        ("B", "2021-01", 2, "2021-03", 0.55, 5.0),
        ("B", "2021-02", 1, "2021-03", 0.10, 5.0),
        ("B", "2021-02", 2, "2021-04", 0.05, 5.0),  # 2021-04 of B not observed yet
        ("A", "2021-01", 3, "2021-04", 0.99, 10.0),  # beyond the window: ignored
    ]
    frame = pd.DataFrame(
        rows, columns=["region", "origin", "horizon", "month", "p_escalation", "threshold"]
    )
    return frame.assign(series="fatalities", model="m")


def truth() -> pd.DataFrame:
    rows = [("A", "2021-02", 3.0), ("A", "2021-03", 12.0), ("A", "2021-04", 0.0)]
    rows += [("B", "2021-02", 0.0), ("B", "2021-03", 1.0)]
    frame = pd.DataFrame(rows, columns=["region", "month", "value"]).assign(
        series="fatalities", source="test"
    )
    frame["month"] = pd.PeriodIndex(frame["month"], freq="M")  # Periods, as the panel has
    return frame


def test_cases_score_escalation_and_lead():
    cases = alert_cases(forecasts(), truth(), window=2)
    got = {(r.region, r.origin): (r.score, r.escalated, r.lead_months) for r in cases.itertuples()}
    assert set(got) == {("A", "2021-01"), ("A", "2021-02"), ("B", "2021-01")}  # B 02 unjudged
    assert got[("A", "2021-01")] == (0.70, True, 2.0)
    assert got[("A", "2021-02")] == (0.20, True, 1.0)
    score, escalated, lead = got[("B", "2021-01")]
    assert (score, escalated, math.isnan(lead)) == (0.60, False, True)


def test_precision_recall_per_threshold():
    table = precision_recall_table(forecasts(), truth(), thresholds=[0.1, 0.5, 0.8], window=2)
    rows = table.set_index("threshold")
    low, mid, high = rows.loc[0.1], rows.loc[0.5], rows.loc[0.8]
    assert (low.alerts, low.hits, low.false_alarms, low.misses) == (3, 2, 1, 0)
    assert low.precision == pytest.approx(2 / 3) and low.recall == 1.0
    assert low.mean_lead_months == pytest.approx(1.5)
    assert (mid.alerts, mid.hits, mid.false_alarms, mid.misses) == (2, 1, 1, 1)
    assert (mid.precision, mid.recall, mid.mean_lead_months) == (0.5, 0.5, 2.0)
    assert high.alerts == 0 and math.isnan(high.precision) and high.recall == 0.0
    assert set(table["cases"]) == {3} and set(table["escalations"]) == {2}


def test_union_score_and_given_p_any_column():
    union = precision_recall_table(
        forecasts(), truth(), thresholds=[0.8], window=2, score="union"
    ).iloc[0]
    # 1 − 0.3·0.6 = 0.82 for A 01 and 1 − 0.4·0.45 = 0.82 for B 01.
    assert (union.alerts, union.hits) == (2, 1)
    given = forecasts().assign(p_any_2=lambda f: f["region"].map({"A": 0.9, "B": 0.1}))
    row = precision_recall_table(given, truth(), thresholds=[0.5], window=2).iloc[0]
    assert (row.alerts, row.hits, row.false_alarms) == (2, 2, 0)


def test_missing_columns_and_bad_thresholds_are_named():
    with pytest.raises(InputError, match="p_escalation"):
        precision_recall_table(forecasts().drop(columns="p_escalation"), truth())
    with pytest.raises(InputError, match="thresholds"):
        precision_recall_table(forecasts(), truth(), thresholds=[1.5])
