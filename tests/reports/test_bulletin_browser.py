"""The bulletin in real headless Chromium: loads cleanly, lists every region, charts render,
prints; a screenshot is kept in test-artifacts/bulletin.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.bulletin import write_bulletin
from tests.reports.bulletin_context import make_context

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


def test_bulletin_renders_in_chromium(browser, tmp_path: Path):
    context = make_context(tmp_path)
    path = write_bulletin(context, tmp_path / "bulletin.html")
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    external: list[str] = []
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith(("file:", "data:")) else None,
    )
    page.goto(path.as_uri(), wait_until="load")

    assert problems == []
    assert external == []  # everything inline: no CDN, no font, no image fetched
    listed = page.locator("#risk-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.region)"
    )
    expected = context.risk["region"].tolist()  # ranked by p_any_3, highest first
    assert listed == expected
    assert page.locator("#synthetic-note").is_visible()
    assert "synthetic" in page.locator("#synthetic-note").inner_text().lower()

    charts = page.locator("article.card svg.chart")
    charted = [r for r in expected if r != "ML01"]  # ML01: 0% and only zeros, no card
    assert charts.count() == 2 * len(charted)  # a fan chart and bars per region
    for index in range(charts.count()):
        box = charts.nth(index).bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 40
    bands = page.locator("svg.fan polygon.band").count()
    assert bands == 2 * len(charted)  # 50% and 90% intervals drawn for every card
    first_band = page.locator("svg.fan polygon.band").first.bounding_box()
    assert first_band is not None and first_band["width"] > 10
    assert page.locator("#series-fatalities .alert-table tbody tr").count() >= 1
    assert page.locator("#precision-table tr.chosen").count() == 1
    assert "0f3c9a51d2e84b6aa1c7e2b9d4f60a17" in page.locator("#provenance").inner_text()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bulletin.png"), full_page=True)
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf[:5] == b"%PDF-" and len(pdf) > 20_000
    (ARTIFACTS / "bulletin.pdf").write_bytes(pdf)
    page.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_not_ready_page_fits_and_says_what_to_run(browser, tmp_path: Path, width: int):
    from reports.bulletin import render_not_ready

    path = tmp_path / "not_ready.html"
    path.write_text(render_not_ready("no refit published yet <b>x</b>"), encoding="utf-8")
    page = browser.new_page(viewport={"width": width, "height": 700})
    page.goto(path.as_uri(), wait_until="load")
    assert page.locator("#reason").inner_text() == "no refit published yet <b>x</b>"  # escaped
    assert "riskcast run" in page.locator("pre").inner_text()
    fits = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert fits[0] <= fits[1]
    assert page.evaluate(
        "[...document.querySelectorAll('pre')].every(p => p.scrollWidth <= p.clientWidth)"
    )
