"""Every [scope] series is forecast, each region from its own last month with data: one
posted observation moves its own region only, and /risk answers per series (real server)."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest

from forecast.rules import EscalationRules
from tests.service.conftest import AUTH, write_config

SERIES = ("fatalities", "aid_diversion", "peacekeeper_casualties")


def _refit(api: str) -> dict:
    answer = httpx.post(f"{api}/jobs/weekly/run", params={"wait": True}, headers=AUTH, timeout=300)
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert run["outcome"] == "succeeded", run["error"]
    return run


def _published(api: str) -> dict[str, tuple[dict, pd.DataFrame]]:
    """Series → (its /risk answer, its /forecasts rows)."""
    out = {}
    for series in SERIES:
        risk = httpx.get(f"{api}/risk", params={"series": series})
        assert risk.status_code == 200, risk.text
        forecasts = httpx.get(f"{api}/forecasts", params={"series": series})
        assert forecasts.status_code == 200, forecasts.text
        out[series] = (risk.json(), pd.DataFrame(forecasts.json()))
    return out


@pytest.mark.slow
def test_one_posted_observation_changes_no_other_region(store, serve, config_file) -> None:
    # The test regions are custom ids without a parent in the store's registry: list the
    # country with them (with the real registry, the automatic scope adds it; see
    # tests/reports/test_bulletin_mali.py).
    write_config(config_file, '[scope]\nregions = ["AA01", "AA02", "AA03", "AA04", "AAA"]\n')
    api = serve(run_scheduler=False)
    _refit(api)
    before = _published(api)
    for series, (risk, frame) in before.items():
        assert risk["series"] == series and risk["refit"]["series"] == series
        assert risk["regions"], f"no {series} risk"
        assert set(frame["series"]) == {series}
        rule = EscalationRules().for_series(series)
        assert all(r["detail"]["threshold"] >= rule.floor for r in risk["regions"])
    # the regions of the country: AA01…AA04 for fatalities, the country itself for UN data
    assert {r["region"] for r in before["fatalities"][0]["regions"]} == {
        "AA01",
        "AA02",
        "AA03",
        "AA04",
    }
    assert {r["region"] for r in before["peacekeeper_casualties"][0]["regions"]} == {"AAA"}

    row = {"region": "AA02", "month": "2022-01", "series": "fatalities", "value": 400}
    posted = httpx.post(f"{api}/observations", json={"rows": [row]}, headers=AUTH)
    assert posted.status_code == 201, posted.text
    _refit(api)
    after = _published(api)

    risk, frame = after["fatalities"]
    assert risk["origin"] == "2021-12" and risk["origin_differs"] == {"AA02": "2022-01"}
    moved = frame[frame["region"] == "AA02"]
    assert set(moved["origin"]) == {"2022-01"} and moved["month"].min() == "2022-02"
    for series in SERIES:
        old_risk, old_frame = before[series]
        new_risk, new_frame = after[series]
        keep = [
            (series, r)
            for r in old_frame["region"].unique()
            if (series, r) != ("fatalities", "AA02")
        ]
        for _, region in keep:
            pd.testing.assert_frame_equal(
                old_frame[old_frame["region"] == region].reset_index(drop=True),
                new_frame[new_frame["region"] == region].reset_index(drop=True),
            )
        old = {r["region"]: (r["p_any_3"], r["tier"], r["origin"]) for r in old_risk["regions"]}
        new = {r["region"]: (r["p_any_3"], r["tier"], r["origin"]) for r in new_risk["regions"]}
        for _, region in keep:
            assert new[region] == old[region], (series, region)
    changed = {r["region"]: r["change"] for r in after["fatalities"][0]["regions"]}
    assert all(changed[r] == 0.0 for r in ("AA01", "AA03", "AA04"))


@pytest.mark.slow
def test_bulletin_before_the_first_refit_is_a_page_saying_what_to_run(store, serve) -> None:
    api = serve(run_scheduler=False)
    page = httpx.get(f"{api}/bulletin")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>No bulletin yet</h1>" in page.text and "riskcast run" in page.text
    assert "POST /jobs/weekly/run" in page.text
    assert httpx.get(f"{api}/risk", params={"series": "aid_diversion"}).status_code == 404
    hostile = httpx.get(f"{api}/risk", params={"series": "<script>" + "x" * 10_000})
    assert hostile.status_code == 404 and len(hostile.text) < 300
