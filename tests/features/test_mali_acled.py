"""Features on the real ACLED Mali file, checked against sums taken straight from its rows.

The panel is built here with a few lines of pandas (fatalities summed by Admin1 P-code and
month), independent of the data layer's parser, so a bug there cannot hide one here.
"""

from __future__ import annotations

import pandas as pd
import pytest

from data.regions import load_default_registry
from features.build import build_features
from features.config import FeatureConfig
from tests.conftest import shared_file

pytestmark = pytest.mark.slow  # reads a 0.6 MB spreadsheet (~3 s)

ORIGIN = pd.Period("2021-12", "M")


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    frame = pd.read_excel(shared_file("acled_mali_admin2_month_1997_2021.xlsx"), sheet_name="Data")
    written = frame["Month"] + " " + frame["Year"].astype(str)
    frame["month"] = pd.to_datetime(written, format="%B %Y").dt.to_period("M")
    return frame


@pytest.fixture(scope="module")
def built(raw: pd.DataFrame) -> pd.DataFrame:
    panel = (
        raw.groupby(["Admin1 Pcode", "month"], as_index=False)["Fatalities"]
        .sum()
        .rename(columns={"Admin1 Pcode": "region", "Fatalities": "value"})
        .assign(series="fatalities", source="acled")
    )
    panel["value"] = panel["value"].astype(float)
    return build_features(panel, load_default_registry(), FeatureConfig(), origins=[ORIGIN])


def fatalities(raw: pd.DataFrame, pcode: str, year: int, months: list[str]) -> int:
    rows = raw[(raw["Admin1 Pcode"] == pcode) & (raw["Year"] == year) & raw["Month"].isin(months)]
    return int(rows["Fatalities"].sum())


def test_mopti_three_month_sum_is_october_to_december(raw, built) -> None:
    mopti = built[built["region"] == "ML05"].iloc[0]
    expected = fatalities(raw, "ML05", 2021, ["October", "November", "December"])
    assert expected > 0
    assert mopti["fatalities_roll3_sum"] == expected
    assert mopti["fatalities_lag1"] == fatalities(raw, "ML05", 2021, ["December"])
    assert mopti["fatalities_lag2"] == fatalities(raw, "ML05", 2021, ["November"])
    assert mopti["fatalities_roll12_sum"] == int(
        raw.loc[(raw["Admin1 Pcode"] == "ML05") & (raw["Year"] == 2021), "Fatalities"].sum()
    )


def test_mopti_neighbours_are_segou_tombouctou_gao(raw, built) -> None:
    mopti = built[built["region"] == "ML05"].iloc[0]
    # Mopti borders Ségou ML04, Tombouctou ML06, Gao ML07 (Taoudénit has no rows in ACLED)
    december = [fatalities(raw, pcode, 2021, ["December"]) for pcode in ("ML04", "ML06", "ML07")]
    assert mopti["nbr_fatalities_lag1"] == pytest.approx(sum(december) / 3)
    assert mopti["event_minusma_indicator"] == 1
    assert mopti["event_coup_decay"] == pytest.approx(2 ** (-7 / 6))  # seven months after 2021-05
    assert set(built["region"]) == set(raw["Admin1 Pcode"])
