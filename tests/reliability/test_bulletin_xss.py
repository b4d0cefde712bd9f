"""No user-supplied string reaches the bulletin unescaped: hostile region ids and names,
sources, file names, notes, driver names and alert notes are rendered, then the page is
opened in real headless Chromium, which must raise no dialog and run no payload."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from reports.bulletin import BulletinContext, write_bulletin
from tests.reports import test_bulletin_browser as chromium_tests
from tests.reports.bulletin_context import make_context

CHROMIUM = chromium_tests.CHROMIUM
browser = chromium_tests.browser  # the same module-scoped headless Chromium fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed at /usr/bin/chromium"),
]

RUN = "window.__xss=(window.__xss||0)+1;alert(1)"
"""What every payload does if it ever runs: count itself and raise a dialog."""

PAYLOADS = {
    "script": f"<script>{RUN}</script>",
    "attribute": f'"><img src=x onerror="{RUN}">',
    "svg": f'</title></svg><svg onload="{RUN}">',
    "single": f"'><body onload='{RUN}'>",
    "textarea": f"</textarea></style><script>{RUN}</script>",
}
HOSTILE_IDS = {"ML01": PAYLOADS["script"], "ML02": PAYLOADS["svg"], "ML03": PAYLOADS["attribute"]}


def _rename(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    if frame is None or "region" not in frame.columns:
        return frame
    return frame.assign(region=frame["region"].replace(HOSTILE_IDS))


def hostile_context(tmp_path: Path) -> BulletinContext:
    """The realistic test bulletin with hostile strings in every user-supplied field."""
    context = make_context(tmp_path)
    hostile = HOSTILE_IDS.values()
    history = _rename(context.history).assign(source=PAYLOADS["textarea"])
    alerts = [
        {
            **alert,
            "region": HOSTILE_IDS.get(alert["region"], alert["region"]),
            "note": PAYLOADS["single"],
        }
        for alert in context.alerts
    ]
    flags = [
        dataclasses.replace(
            flag,
            region=HOSTILE_IDS.get(flag.region, flag.region),
            detail=PAYLOADS["attribute"],
            source=PAYLOADS["script"],
        )
        for flag in context.quality_flags
    ]
    freshness = context.freshness.assign(file=PAYLOADS["svg"], kind=PAYLOADS["single"])
    return dataclasses.replace(
        context,
        forecast=_rename(context.forecast),
        history=history,
        risk=_rename(context.risk),
        previous_risk=_rename(context.previous_risk),
        alerts=alerts,
        quality_flags=flags,
        freshness=freshness,
        region_names={
            **{HOSTILE_IDS.get(k, k): v for k, v in context.region_names.items()},
            **dict.fromkeys(hostile, PAYLOADS["svg"]),
        },
        drivers={payload: [(PAYLOADS["script"], 1.0)] for payload in hostile},
        model_notes=dict.fromkeys(hostile, PAYLOADS["attribute"]),
        model=PAYLOADS["script"],
        run_id=PAYLOADS["attribute"],
        title=PAYLOADS["svg"],
    )


def test_hostile_strings_render_as_text_and_nothing_runs(browser, tmp_path: Path) -> None:
    path = write_bulletin(hostile_context(tmp_path), tmp_path / "bulletin.html")
    html = path.read_text(encoding="utf-8")
    for payload in PAYLOADS.values():
        assert payload not in html  # never as markup
    assert "&lt;script&gt;window.__xss" in html  # but shown, as text

    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_load_state("networkidle")
    assert dialogs == []
    assert page.evaluate("window.__xss === undefined")
    assert page.locator("script").count() == 0  # the bulletin has no script of its own
    shown = page.locator("#risk-table").inner_text()
    assert "<script>window.__xss" in shown  # the id is readable as the text it is
    page.close()
