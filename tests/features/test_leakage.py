"""The law of the layer: nothing after the origin changes any feature at the origin.

Hypothesis draws panels with gaps, late starts and a country-level series, an origin, and a
rewrite of everything after the origin (new values, deleted rows, new rows), with every
builder on and each gap policy; the row at the origin must not move, not even in the last bit.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.build import build_features
from features.config import EventsConfig, EventSpec, FeatureConfig
from tests.features import abc_registry

MONTHS = pd.period_range("2019-01", periods=30, freq="M")
KEYS = [
    ("A", "fatalities"),
    ("B", "fatalities"),
    ("C", "fatalities"),
    ("A", "aid_diversion"),
    ("C", "aid_diversion"),
    ("X", "peacekeeper_casualties"),
    ("X", "peacekeeper_casualties_malicious"),
]

cell = st.one_of(st.none(), st.integers(0, 60).map(float))


def config_for(policy: str) -> FeatureConfig:
    return FeatureConfig(
        gaps=policy,
        windows=[2, 3, 6],
        since_thresholds=[1, 10],
        decay_half_lives=[2],
        spatial_quantities=["lag1", "roll3_sum", "decay_hl2", "since_ge1", "growth2_6"],
        cross_quantities=["lag1", "log1p_lag2", "roll3_max"],
        parent_quantities=["lag1", "roll3_std"],
        children_quantities=["lag1", "roll2_mean"],
        events=EventsConfig(
            list=(
                EventSpec(name="flood", region="B", start="2019-06", end="2020-02"),
                EventSpec(name="raid", region="X", start="2020-01", kind="decay", half_life=3),
            )
        ),
    )


def to_panel(cells: dict[tuple[str, str], list[float | None]]) -> pd.DataFrame:
    rows = [
        (region, month, series, value, "test")
        for (region, series), values in cells.items()
        for month, value in zip(MONTHS, values, strict=True)
        if value is not None
    ]
    frame = pd.DataFrame(rows, columns=["region", "month", "series", "value", "source"])
    frame["month"] = frame["month"].astype("period[M]")
    return frame


@st.composite
def panel_and_rewrite(draw: st.DrawFn):
    n = len(MONTHS)
    before = {key: draw(st.lists(cell, min_size=n, max_size=n)) for key in KEYS}
    before[("A", "fatalities")][0] = draw(st.integers(0, 60).map(float))  # the target exists
    origin = draw(st.integers(0, n - 1))
    after = {
        key: values[: origin + 1]
        + draw(st.lists(cell, min_size=n - origin - 1, max_size=n - origin - 1))
        for key, values in before.items()
    }
    policy = draw(st.sampled_from(["nan", "zero", "ffill"]))
    return to_panel(before), to_panel(after), MONTHS[origin], policy


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(panel_and_rewrite())
def test_rewriting_the_future_never_changes_the_origin_row(case) -> None:
    before, after, origin, policy = case
    config = config_for(policy)
    registry = abc_registry()
    # every month is an origin, so the matrices run past ``origin`` as in a backtest
    kwargs = {"origins": list(MONTHS), "regions": ["A", "B", "C", "X"]}

    def row_at_origin(panel: pd.DataFrame) -> pd.DataFrame:
        built = build_features(panel, registry, config, **kwargs)
        return built[built["origin"] == origin].reset_index(drop=True)

    expected = row_at_origin(before)
    pd.testing.assert_frame_equal(row_at_origin(after), expected, check_exact=True)
    pd.testing.assert_frame_equal(
        row_at_origin(before[before["month"] <= origin]), expected, check_exact=True
    )


def test_all_origins_at_once_equal_one_at_a_time(panel, registry) -> None:
    """Building every origin at once gives the rows each single-origin build gives."""
    config = FeatureConfig()
    months = sorted(panel["month"].unique())
    regions = sorted(panel.loc[panel["series"] == "fatalities", "region"].unique())
    everything = build_features(panel, registry, config, regions=regions)
    for origin in months[::17]:
        alone = build_features(
            panel[panel["month"] <= origin], registry, config, origins=[origin], regions=regions
        )
        same = everything[everything["origin"] == origin].reset_index(drop=True)
        pd.testing.assert_frame_equal(same, alone, check_exact=True)
