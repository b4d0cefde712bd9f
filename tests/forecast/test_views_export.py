"""A riskcast forecast in the VIEWS challenge layout round-trips through the VIEWS ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import app
from data.sources.views_cm import CountryKey
from forecast.views import VIEWS_COLUMNS, from_views, to_views
from riskcast.errors import InputError
from tests.conftest import SHARED_DATA

KEY_TEXT = (
    "id,name,gwcode,isoname,isoab,isonum,in_africa,in_middle_east\n"
    "50,Mali,432,Mali,MLI,466,1,0\n47,Burkina Faso,439,Burkina Faso,BFA,854,1,0\n"
    "78,Niger,436,Niger,NER,562,1,0\n"
)


@pytest.fixture(params=["written", "real"])
def key_file(request, tmp_path: Path) -> Path:
    """A small key with the challenge's ids, and the challenge's own key where present."""
    if request.param == "real":
        real = SHARED_DATA / "views_cm" / "country_key.csv"
        if not real.exists():
            pytest.skip(f"{real} not found")
        return real
    path = tmp_path / "country_key.csv"
    path.write_text(KEY_TEXT)
    return path


@pytest.fixture
def country_panel_csv(tmp_path: Path) -> Path:
    """Seeded monthly fatalities for three Sahel countries, 2015-01 … 2021-12."""
    rng = np.random.default_rng(0)
    months = pd.period_range("2015-01", "2021-12", freq="M").strftime("%Y-%m")
    rows = [
        (region, month, "fatalities", int(rng.poisson(rate)))
        for region, rate in (("MLI", 40), ("BFA", 25), ("NER", 8))
        for month in months
    ]
    path = tmp_path / "countries.csv"
    pd.DataFrame(rows, columns=["region", "month", "series", "value"]).to_csv(path, index=False)
    return path


def test_forecast_round_trips_through_the_views_ids(
    tmp_path: Path, key_file: Path, country_panel_csv: Path
) -> None:
    runner = CliRunner()
    samples, out = tmp_path / "draws.parquet", tmp_path / "views.parquet"
    made = runner.invoke(
        app,
        ["forecast", "--panel", str(country_panel_csv), "--model", "poisson_mean"]
        + ["--horizon", "3", "--draws", "50", "--out", str(tmp_path / "f.csv")]
        + ["--samples", str(samples)],
    )
    assert made.exit_code == 0, made.output
    exported = runner.invoke(
        app,
        ["export-forecast", "--samples", str(samples), "--format", "views"]
        + ["--country-key", str(key_file), "--out", str(out)],
    )
    assert exported.exit_code == 0, exported.output
    views = pd.read_parquet(out)
    assert tuple(views.columns) == VIEWS_COLUMNS  # the challenge's compliance check
    assert views.index.names == [None]
    assert set(views["country_id"]) == {50, 47, 78}
    assert set(views["month_id"]) == {505, 506, 507}  # 2022-01 … 2022-03
    assert views.groupby(["month_id", "country_id"]).size().eq(50).all()
    assert views["outcome"].ge(0).all() and views["outcome"].notna().all()

    back = from_views(views, CountryKey.load(key_file))
    draws = pd.read_parquet(samples)
    original = draws.assign(month=draws["month"].astype(str), region=draws["region"].astype(str))
    back = back.assign(month=back["month"].dt.strftime("%Y-%m"))
    keys = ["region", "month", "draw"]
    merged = original[[*keys, "value"]].merge(back, on=keys, suffixes=("", "_back"))
    assert len(merged) == len(original) == len(back)
    assert np.allclose(merged["value"], merged["value_back"])


def test_regions_without_a_views_id_and_mixed_series_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "country_key.csv"
    path.write_text(KEY_TEXT)
    key = CountryKey.load(path)
    draws = pd.DataFrame({"region": ["ML05"], "month": ["2022-01"], "draw": [0], "value": [1.0]})
    with pytest.raises(InputError, match="'ML05' has no VIEWS country id"):
        to_views(draws, key)
    mixed = pd.concat([draws.assign(region="MLI", series=s) for s in ("fatalities", "other")])
    with pytest.raises(InputError, match="several series"):
        to_views(mixed, key)
    refused = CliRunner().invoke(
        app,
        ["export-forecast", "--samples", str(tmp_path / "none.parquet"), "--format", "csv"]
        + ["--country-key", str(path), "--out", str(tmp_path / "x.parquet")],
    )
    assert refused.exit_code != 0 and "only 'views'" in str(refused.exception)
