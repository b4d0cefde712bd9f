"""``GET /bulletin`` serves the page the weekly job rendered, not a page rebuilt per request."""

from __future__ import annotations

import httpx
import pytest

from jobs.bulletins import latest_bulletin
from tests.service.conftest import AUTH


@pytest.mark.slow
def test_the_bulletin_is_the_page_the_job_rendered(store, serve) -> None:
    api = serve(run_scheduler=False)
    before = httpx.get(f"{api}/bulletin")
    assert before.status_code == 404 and "weekly job" in before.text

    run = httpx.post(f"{api}/jobs/weekly/run", params={"wait": True}, headers=AUTH, timeout=300)
    assert run.json()["outcome"] == "succeeded", run.text
    page = httpx.get(f"{api}/bulletin")
    stored = latest_bulletin(store.engine)
    assert page.status_code == 200 and stored is not None
    assert page.text == stored.html and stored.job_run_id == run.json()["run_id"]
    assert stored.refit_id == run.json()["mlflow_run_id"]  # the headline series' refit
    assert page.headers["x-riskcast-rendered-at"].startswith(str(stored.rendered_at.year))

    # New data reach the bulletin with the next refit, never half-way through a week.
    row = {"region": "AA01", "month": "2021-12", "series": "fatalities", "value": 999}
    assert httpx.post(f"{api}/observations", json=[row], headers=AUTH).status_code == 201
    assert httpx.get(f"{api}/bulletin").text == page.text


@pytest.mark.slow
def test_old_bulletins_are_pruned_as_new_ones_are_stored(store, serve, tmp_path, monkeypatch):
    import jobs.bulletins as bulletins
    from data.tables import bulletins as table
    from jobs.config import load_config

    api = serve(run_scheduler=False)
    run = httpx.post(f"{api}/jobs/weekly/run", params={"wait": True}, headers=AUTH, timeout=300)
    assert run.json()["outcome"] == "succeeded", run.text
    monkeypatch.setattr(bulletins, "KEEP", 2)
    for week in range(3):
        bulletins.publish_bulletin(store, load_config(), path=tmp_path / f"b{week}.html")
    with store.engine.connect() as connection:
        ids = [row.id for row in connection.execute(table.select().order_by(table.c.id))]
    assert (
        len(ids) == 2 and latest_bulletin(store.engine).html == (tmp_path / "b2.html").read_text()
    )
