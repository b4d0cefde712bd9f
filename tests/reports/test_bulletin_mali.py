"""Done-when with the real files: ACLED Mali admin2 + UN peacekeeping + AWSD ingested, the
weekly job run, and the bulletin read in real Chromium at 1280 and 390 px.

It shows three series sections, at most one flag group per source, no flag for a region
outside the watch list, drivers that are inputs of the producing model, and no sideways
scroll. Screenshots are kept in test-artifacts/.
"""

from __future__ import annotations

import pytest

from features.drivers import ExplainsForecast, history_input, is_history_only
from forecast.models import make_model
from tests.conftest import SHARED_DATA
from tests.reports.test_bulletin_browser import ARTIFACTS, CHROMIUM, LAUNCH_ARGS

FILES = (
    "acled_mali_admin2_month_1997_2021.xlsx",
    "un_peacekeeping_fatalities.csv",
    "awsd_security_incidents.csv",
)
MALI_SCOPE = {f"ML{k:02d}" for k in range(1, 11)} | {"MLI"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(
        not all((SHARED_DATA / name).exists() for name in FILES),
        reason="the real Mali files are not in ../shared/data",
    ),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed"),
]

CONFIG = """
[schedule]
enabled = false

[forecast]
default_model = "conflictology"
n_draws = 200
horizon = 6
"""


@pytest.fixture(scope="module")
def mali(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """A home with the three real files ingested and the weekly job run once."""
    home = tmp_path_factory.mktemp("mali")
    (home / "riskcast.toml").write_text(CONFIG, encoding="utf-8")
    patch = pytest.MonkeyPatch()
    patch.setenv("RISKCAST_HOME", str(home))
    patch.setenv("RISKCAST_CONFIG", str(home / "riskcast.toml"))
    patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow.db'}")
    patch.delenv("RISKCAST_DATABASE_URL", raising=False)
    from data.ingest import ingest_file
    from data.store import open_store
    from jobs.weekly import run_weekly

    store = open_store()
    for name in FILES:
        ingest_file(SHARED_DATA / name, store=store)
    outcome = run_weekly("cli", store=store)
    assert outcome.outcome == "succeeded", outcome.error
    yield store, home
    store.close()
    patch.undo()


def test_every_series_is_forecast_for_the_watch_list_only(mali) -> None:
    from jobs import results

    store, _ = mali
    regions = {}
    for series in ("fatalities", "aid_diversion", "peacekeeper_casualties"):
        latest = results.latest_risk(store.engine, series=series)
        assert latest is not None, series
        regions[series] = {r["region"] for r in latest["regions"]}
        model = make_model(latest["refit"]["model"])
        for row in latest["regions"]:
            drivers = row["detail"]["drivers"]
            if is_history_only(model):
                allowed = {history_input(series)}
            else:
                assert isinstance(model, ExplainsForecast)
                allowed = set(model.forecast_inputs())
            assert set(drivers["inputs"]) <= allowed, (series, row["region"], drivers)
    assert regions["fatalities"] == MALI_SCOPE - {"MLI"}
    assert regions["peacekeeper_casualties"] == {"MLI"}  # MINUSMA, never Namibia
    assert regions["aid_diversion"] <= MALI_SCOPE
    fatalities = results.latest_risk(store.engine, series="fatalities")
    assert fatalities["origin"] == "2021-12"  # ACLED's own last month, not AWSD's 2025-12


@pytest.mark.parametrize("width", [1280, 390])
def test_bulletin_reads_right_and_fits_in_chromium(mali, width: int) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    _, home = mali
    path = home / "bulletin.html"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri(), wait_until="load")
            assert errors == []
            sections = page.locator("section.series").evaluate_all(
                "s => s.map(x => x.dataset.series)"
            )
            assert sections == ["fatalities", "aid_diversion", "peacekeeper_casualties"]
            sources = page.locator("details.flags").evaluate_all(
                "d => d.map(x => x.dataset.source)"
            )
            assert len(sources) == len(set(sources))  # at most one group per source
            assert page.locator("details.flags[open]").count() == 0  # collapsed
            flagged = page.locator("details.flags tbody tr").evaluate_all(
                "rows => rows.map(r => r.dataset.flagRegion)"
            )
            assert flagged and set(flagged) <= MALI_SCOPE
            # freshness and flags tell one story: a source with region series behind its
            # latest release has exactly that many flags, a source in step has none
            for row in page.locator("#source-table tbody tr").all():
                source = row.locator("td").first.evaluate("td => td.firstChild.textContent")
                behind = row.locator("td").nth(3).inner_text()
                flags = page.locator(f'details.flags[data-source="{source.strip()}"] tbody tr')
                if behind.startswith("every region series"):
                    assert flags.count() == 0, source
                else:
                    assert flags.count() == int(behind.split()[0]), (source, behind)
            assert "Namibia" not in page.content()
            assert page.locator("svg.tilemap").count() == 3
            assert "Main drivers" not in page.content()
            assert page.locator(".moved").count() >= 10
            fits = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            assert fits[0] <= fits[1], f"sideways scroll at {width}px: {fits}"
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"bulletin_mali_{width}.png"), full_page=True)
        finally:
            browser.close()
