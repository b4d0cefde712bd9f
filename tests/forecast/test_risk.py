"""Escalation thresholds, probabilities and tiers, checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.draws import Draws
from forecast.risk import (
    EscalationRule,
    RiskTiers,
    climatological_base_rate,
    escalation_references,
    escalation_thresholds,
    prob_any,
    risk_table,
    tier,
)
from jobs.config import load_config
from riskcast.errors import ConfigError

ORIGIN = pd.Period("2020-12", "M")


def _panel(values: dict[str, dict[str, float]]) -> pd.DataFrame:
    rows = [
        (region, pd.Period(month, "M"), "fatalities", float(v), "test")
        for region, series in values.items()
        for month, v in series.items()
    ]
    frame = pd.DataFrame(rows, columns=["region", "month", "series", "value", "source"])
    frame["month"] = frame["month"].astype("period[M]")
    return frame


def _months(start: str, n: int) -> list[str]:
    return [str(m) for m in pd.period_range(start, periods=n, freq="M")]


def test_thresholds_by_hand() -> None:
    year = _months("2020-01", 12)
    panel = _panel(
        {
            "steady": dict.fromkeys(year, 20.0),  # mean 20 → 1.5 × 20 = 30
            "quiet": dict.fromkeys(year, 0.0),  # floor 25
            "late": dict(zip(_months("2020-10", 3), [100.0, 200.0, 300.0], strict=True)),
            "old": {"2018-01": 500.0, **dict.fromkeys(year, 10.0)},  # 2018 is outside the window
        }
    )
    # Months after the origin must not count: poison them.
    poison = _panel({r: {"2021-01": 1e6} for r in ("steady", "quiet", "late", "old")})
    full = pd.concat([panel, poison], ignore_index=True)
    got = escalation_thresholds(full, ["steady", "quiet", "late", "old"], origin=ORIGIN)
    np.testing.assert_allclose(got, [30.0, 25.0, 300.0, 25.0])
    rule = EscalationRule(floor=5, multiplier=2, window=3)
    got = escalation_thresholds(full, ["steady", "late"], rule, origin=ORIGIN)
    np.testing.assert_allclose(got, [40.0, 400.0])


def test_unknown_region_gets_the_floor() -> None:
    panel = _panel({"a": {"2020-12": 100.0}})
    np.testing.assert_allclose(escalation_thresholds(panel, ["a", "b"], origin=ORIGIN), [150, 25])


def test_probabilities_come_from_the_joint_draws() -> None:
    # Region 0: each path escalates in exactly one of months 1..3 → p_h = 1/3, p_any_3 = 1.
    # Region 1: the same path escalates in all three months → p_h = p_any_3 = 1/3.
    values = np.zeros((2, 4, 3), dtype=np.float32)
    for k in range(3):
        values[0, k, k] = 30.0
        values[1, :3, 0] = 30.0
    draws = Draws("m", "fatalities", ORIGIN, ("a", "b"), values)
    thresholds = np.array([25.0, 25.0])
    np.testing.assert_allclose(draws.prob_at_least(thresholds)[:, :3], [[1 / 3] * 3, [1 / 3] * 3])
    np.testing.assert_allclose(prob_any(draws, thresholds, 3), [1.0, 1 / 3])
    table = risk_table(draws, thresholds).set_index("region")
    assert table.loc["a", "p_any_3"] == pytest.approx(1.0)
    assert table.loc["a", "tier"] == "critical" and table.loc["b", "tier"] == "elevated"
    assert list(table.columns[-6:]) == ["p_h1", "p_h2", "p_h3", "p_h4", "p_any_3", "tier"]


def test_threshold_is_reached_at_equality() -> None:
    draws = Draws("m", "fatalities", ORIGIN, ("a",), np.array([[[25.0, 24.0]]]))
    assert draws.prob_at_least(np.array([25.0]))[0, 0] == pytest.approx(0.5)


def test_tiers_cut_points_and_validation(tmp_path) -> None:
    assert [tier(p) for p in (0.0, 0.19, 0.2, 0.4, 0.69, 0.7, 1.0)] == [
        "low",
        "low",
        "elevated",
        "high",
        "high",
        "critical",
        "critical",
    ]
    with pytest.raises(ValueError, match="must rise"):
        RiskTiers(elevated=0.5, high=0.4, critical=0.7)
    path = tmp_path / "riskcast.toml"
    path.write_text("[escalation]\nflor = 10\n")
    with pytest.raises(ConfigError, match="did you mean 'floor'"):
        load_config(path)
    path.write_text("[risk]\nelevated = 0.1\nhigh = 0.3\ncritical = 0.5\n")
    assert load_config(path).risk.tier(0.35) == "high"


def test_climatological_base_rate_by_hand() -> None:
    # One region, window 1, multiplier 2, floor 0: event at t+1 when value doubles.
    values = [1.0, 2.0, 1.0, 5.0, 10.0]
    panel = _panel({"a": dict(zip(_months("2020-08", 5), values, strict=True))})
    rule = EscalationRule(floor=0, multiplier=2, window=1)
    rates = climatological_base_rate(panel, ["a"], 2, rule, origin=ORIGIN)
    # h=1 pairs: 1→2 yes, 2→1 no, 1→5 yes, 5→10 yes = 3/4; h=2: 1→1, 2→5 yes, 1→10 yes = 2/3
    np.testing.assert_allclose(rates, [3 / 4, 2 / 3])


def test_references_from_one_pivot_equal_those_of_each_cut() -> None:
    # the backtest computes thresholds and base rates of every origin from one pivot; they
    # must be the numbers of the panel cut at each origin (late starts, gaps, fractions)
    rng = np.random.default_rng(4)
    months = _months("2018-01", 48)
    values = {
        "steady": {m: float(v) for m, v in zip(months, rng.gamma(2.0, 9.7, 48), strict=True)},
        "late": {m: float(rng.poisson(30)) for m in months[20:]},
        "gappy": {m: float(rng.poisson(3)) * 1.1 for i, m in enumerate(months) if i % 5},
        "after": dict.fromkeys(months[40:], 40.0),
    }
    panel = _panel(values)
    rule = EscalationRule(window=6, floor=10.0, multiplier=1.3)
    origins = [pd.Period(m, "M") for m in (months[15], months[25], months[38])]
    regions_at = {
        origin: [r for r in values if min(values[r]) <= str(origin)] for origin in origins
    }
    got = escalation_references(panel, regions_at, 12, rule)
    for origin, regions in regions_at.items():
        cut = panel[panel["month"] <= origin]
        thresholds, base = got[origin]
        np.testing.assert_array_equal(
            thresholds, escalation_thresholds(cut, regions, rule, origin=origin)
        )
        np.testing.assert_array_equal(
            base, climatological_base_rate(cut, regions, 12, rule, origin=origin)
        )
    assert regions_at[origins[0]] == ["steady", "gappy"]
