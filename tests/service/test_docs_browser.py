"""/docs renders Swagger UI in real headless Chromium with no network: every asset comes
from this server (the CDN the FastAPI default uses is unreachable offline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reports.test_bulletin_browser import CHROMIUM, LAUNCH_ARGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed at /usr/bin/chromium"),
]


def test_swagger_ui_renders_offline_from_local_assets(serve, config_file: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    base = serve(run_scheduler=False)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            elsewhere: list[str] = []

            def only_this_server(route) -> None:  # noqa: ANN001 - playwright's Route
                if route.request.url.startswith(base):
                    route.continue_()
                else:  # no network: anything not on this server fails, as offline
                    elsewhere.append(route.request.url)
                    route.abort()

            context.route("**/*", only_this_server)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{base}/docs", wait_until="networkidle")
            page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            title = page.locator(".swagger-ui .info .title").inner_text()
        finally:
            browser.close()
    assert elsewhere == []  # nothing was requested from a CDN
    assert errors == []
    assert "riskcast" in title
    assert {"/health", "/experiments", "/forecasts"} <= {p.replace("\u200b", "") for p in paths}
