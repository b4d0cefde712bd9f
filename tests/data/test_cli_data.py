"""The data commands: ingest, export (round trip), demo-data, data summary; bad files exit != 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import cli
from data.store import open_store
from riskcast.errors import InputError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def app() -> typer.Typer:
    """The ``riskcast`` app (its root callback loads the config the data commands read)."""
    return cli.app


def run(app: typer.Typer, *args: str):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=True)


def test_demo_data_export_round_trip_and_summary(app: typer.Typer, tmp_path: Path) -> None:
    result = run(app, "demo-data")
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output and "3600 rows added" in result.output
    store = open_store()
    assert store.is_synthetic() and store.count() == 3600

    out = tmp_path / "panel.csv"
    result = run(app, "export", "--out", out)
    assert result.exit_code == 0, result.output
    exported = pd.read_csv(out)
    assert list(exported.columns) == ["region", "month", "series", "value", "source"]
    assert len(exported) == 3600

    before = store.load_panel()
    result = run(app, "ingest", out)
    assert result.exit_code == 0, result.output
    assert "0 rows added, 0 changed, 3600 unchanged" in result.output
    pd.testing.assert_frame_equal(store.load_panel(), before)
    assert store.revisions().empty

    result = run(app, "data", "summary")
    assert result.exit_code == 0, result.output
    assert "ML05" in result.output and "Mopti" in result.output and "SYNTHETIC" in result.output
    total = before.loc[
        (before["region"] == "ML05") & (before["series"] == "fatalities"), "value"
    ].sum()
    assert f"{total:,.0f}" in result.output

    result = run(app, "data", "ingests")
    assert result.exit_code == 0 and "demo" in result.output


def test_export_filters_and_ingest_with_until(app: typer.Typer, tmp_path: Path) -> None:
    source = tmp_path / "mine.csv"
    source.write_text(
        "region,month,series,value,source\n"
        "D1,2021-01,fatalities,2.5,me\nD1,2021-02,fatalities,4,me\nD2,2021-01,aid_diversion,1,me\n"
    )
    result = run(app, "ingest", source, "--until", "2021-01", "--new-regions")
    assert result.exit_code == 0, result.output
    assert "2 rows added" in result.output and "1 rows after --until" in result.output
    assert "D1, D2" in result.output  # new regions reported
    out = tmp_path / "d1.csv"
    assert (
        run(app, "export", "--region", "D1", "--series", "fatalities", "--out", out).exit_code == 0
    )
    assert out.read_text().splitlines() == [
        "region,month,series,value,source",
        "D1,2021-01,fatalities,2.5,me",
    ]


def test_bad_file_fails_naming_file_row_field_and_store_unchanged(
    app: typer.Typer, tmp_path: Path
) -> None:
    assert run(app, "demo-data").exit_code == 0
    store = open_store()
    before, n_ingests = store.load_panel(), len(store.ingests())
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "region,month,series,value\nML05,2020-01,fatalities,3\nML05,2020-02,fatalities,-7\n"
    )
    result = run(app, "ingest", bad)
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError)
    assert (result.exception.file, result.exception.row, result.exception.field) == (
        str(bad),
        3,
        "value",
    )
    pd.testing.assert_frame_equal(store.load_panel(), before)
    assert len(store.ingests()) == n_ingests
    result = run(app, "ingest", bad, "--until", "2020-1")
    assert isinstance(result.exception, InputError) and result.exception.field == "--until"


@pytest.mark.slow
def test_real_entry_point_exits_2_with_a_one_line_message(tmp_path: Path) -> None:
    """Through cli.run, as a user runs it: exit code 2 and file/row/field on stderr."""
    bad = tmp_path / "bad.csv"
    bad.write_text("region,month,series,value\nML05,2020-01,fatalities,lots\n")
    completed = subprocess.run(
        [sys.executable, "-c", "from cli import run; run()", "ingest", str(bad)],
        cwd=REPO,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2, completed.stderr
    assert f"file {bad}, row 2, field 'value'" in completed.stderr
    assert "'lots' is not a number" in completed.stderr
    assert "Traceback" not in completed.stderr
