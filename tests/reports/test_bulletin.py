"""The bulletin HTML without a browser: content, escaping, self-containment, bad input."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from reports.bulletin import BulletinContext, render_bulletin, write_bulletin
from reports.bulletin_charts import _nice_axis, fan_chart_svg
from riskcast.errors import InputError
from tests.reports.bulletin_context import make_context


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> BulletinContext:
    return make_context(tmp_path_factory.mktemp("bulletin"))


def test_every_region_is_ranked_with_tier_change_and_charts(context):
    html = render_bulletin(context)
    ranked = re.findall(r'<tr data-region="([^"]+)"', html)
    assert ranked == context.risk.sort_values("p_any_3", ascending=False)["region"].tolist()
    assert len(ranked) == 11
    # every region has a card but ML01, at 0% with nothing but zeros (a row, not a chart)
    ml01 = context.history[context.history["region"] == "ML01"]
    assert (ml01["value"] == 0).all() and context.risk.set_index("region").at[
        "ML01", "p_any_3"
    ] < 0.005
    assert html.count('class="card"') == 10 and 'id="region-fatalities-ML01"' not in html
    assert html.count('<svg class="chart fan"') == 10
    for tier in set(context.risk["tier"]):
        assert f">{tier}<" in html
    assert "▲" in html and "▼" in html  # week-on-week change from the previous risk table
    assert "0f3c9a51d2e84b6aa1c7e2b9d4f60a17" in html and "negbin_demo" in html
    assert "fatalities_roll3_sum" in html  # drivers
    assert "demo_2021b.csv" in html  # ingest log
    assert "sarimax did not converge" in html  # model notes
    assert 'class="chosen"' in html  # configured threshold highlighted in precision table


def test_synthetic_note_only_for_synthetic_data(context):
    assert 'id="synthetic-note"' in render_bulletin(context)
    real = render_bulletin(replace(context, is_synthetic=False))
    assert 'id="synthetic-note"' not in real and "SYNTHETIC" not in real


def test_page_is_self_contained(context):
    html = render_bulletin(context)
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "@import" not in html and "url(" not in html
    assert "@media print" in html


def test_names_and_notes_are_escaped(context):
    hostile = replace(
        context,
        region_names={**context.region_names, "ML03": "<script>alert(1)</script>"},
        model_notes={"ML03": '"><img src=x onerror=alert(1)>'},
    )
    html = render_bulletin(hostile)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html


def test_max_charts_limits_cards_but_not_the_table(context):
    html = render_bulletin(replace(context, max_charts=3))
    assert html.count('class="card"') == 3
    assert len(re.findall(r'<tr data-region="', html)) == 11
    assert "Charts for 3 of the 11 regions in the table" in html


def test_bulletin_without_optional_parts(context):
    bare = BulletinContext(
        forecast=context.forecast, history=context.history, risk=context.risk, model="m"
    )
    html = render_bulletin(bare)
    assert "No fatalities alert is pending or firing." in html
    assert "No backtest has been scored" in html
    assert html.count(">new<") == 11  # no previous refit: every change reads "new"


def test_missing_columns_are_named(context):
    with pytest.raises(InputError, match="p_any_3"):
        render_bulletin(replace(context, risk=context.risk.drop(columns="p_any_3")))
    with pytest.raises(InputError, match="q0.95"):
        render_bulletin(replace(context, forecast=context.forecast.drop(columns="q0.95")))


def test_write_bulletin_replaces_the_file_whole(context, tmp_path: Path):
    target = tmp_path / "out" / "bulletin.html"
    target.parent.mkdir()
    target.write_text("old")
    written = write_bulletin(context, target)
    assert written == target and target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in target.parent.iterdir()] == ["bulletin.html"]


def test_fan_chart_leaves_gaps_and_rounds_the_axis():
    svg = fan_chart_svg(
        ["2021-01", "2021-02", "2021-03", "2021-04"],
        [3.0, float("nan"), 5.0, 7.0],
        ["2021-05"],
        {
            q: [v]
            for q, v in zip(
                ("q0.05", "q0.25", "q0.50", "q0.75", "q0.95"), (1, 3, 6, 9, 26), strict=True
            )
        },
        threshold=10.0,
    )
    assert svg.count('class="observed"') == 1 and svg.count("<circle") == 1  # gap splits
    assert svg.count('class="band"') == 2 and ">escalation ≥ 10<" in svg
    assert _nice_axis(26 * 1.05) == (30.0, 10.0)
    assert _nice_axis(0.0) == (1.0, 0.25)


def test_months_may_arrive_as_periods(context):
    forecast = context.forecast.assign(month=pd.PeriodIndex(context.forecast["month"], freq="M"))
    assert render_bulletin(replace(context, forecast=forecast)).count('class="card"') == 10


def test_each_section_heads_with_most_regions_origin_and_lists_the_others(context):
    from dataclasses import replace

    forecast = context.forecast.copy()
    forecast.loc[forecast["region"] == "ML03", "origin"] = "2022-01"
    risk = context.risk.copy()
    risk["origin"] = ["2022-01" if r == "ML03" else "2021-12" for r in risk["region"]]
    html = render_bulletin(replace(context, forecast=forecast, risk=risk))
    assert "Data to <b>2021-12</b>" in html
    assert "own last month with data" in html and "<b>2022-01</b>" in html
