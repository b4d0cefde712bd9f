"""Exports never hand a spreadsheet a formula (OWASP CSV injection)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.conftest import REPO, make_home

pytestmark = pytest.mark.slow

FORMULA = "=cmd|' /C calc'!A0"


def test_a_formula_stored_before_the_rule_is_exported_inert(tmp_path: Path) -> None:
    home = make_home(tmp_path / "csv")
    # A row stored before sources were checked: written through the store directly.
    legacy = subprocess.run(
        [
            sys.executable,
            "-c",
            "import pandas as pd; from data.store import open_store;"
            "p = pd.DataFrame({'region': ['ML05'], 'month': pd.PeriodIndex(['2019-01'], freq='M'),"
            f"'series': ['fatalities'], 'value': [2.0], 'source': [{FORMULA!r}]}});"
            "open_store().ingest(p, file='legacy', file_hash='legacy', kind='panel_csv')",
        ],
        env=home.env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert legacy.returncode == 0, legacy.stderr
    out = tmp_path / "export.csv"
    result = home.riskcast("export", "--out", str(out), "--region", "ML05")
    assert result.returncode == 0, result.stderr
    with out.open(newline="", encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert "'" + FORMULA in cells and FORMULA not in cells, repr(cells[:12])
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
