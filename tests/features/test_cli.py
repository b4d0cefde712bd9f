"""`riskcast features` on a real SQLite store (the data layer's), end to end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import app
from data.store import open_store
from riskcast.errors import InputError
from tests.features import long_panel


@pytest.fixture
def stored() -> None:
    panel = long_panel(
        {
            ("ML04", "fatalities"): [1, 2, 3, 4, 5, 6],
            ("ML05", "fatalities"): [10, 20, 30, 40, 50, 60],
            ("ML06", "fatalities"): [0, 0, 0, 7, 0, 0],
        }
    )
    store = open_store()
    store.ingest(panel, file="hand.csv", file_hash="0" * 64, kind="csv")
    store.close()


def test_features_command_writes_the_matrix(stored, tmp_path: Path) -> None:
    out = tmp_path / "f.csv"
    result = CliRunner().invoke(app, ["features", "--origin", "2020-05", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 rows" in result.output and "feature set" in result.output
    matrix = pd.read_csv(out).set_index("region")
    assert (matrix["origin"] == "2020-05").all()
    assert matrix.loc["ML05", "fatalities_roll3_sum"] == 30 + 40 + 50
    assert matrix.loc["ML05", "fatalities_lag1"] == 50  # June exists but is after the origin
    assert matrix.loc["ML05", "nbr_fatalities_lag1"] == pytest.approx((5 + 0) / 2)

    parquet = tmp_path / "f.parquet"
    result = CliRunner().invoke(
        app, ["features", "--origin", "2020-04:2020-06", "--out", str(parquet)]
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(parquet)) == 3 * 3


def test_features_command_refuses_an_unknown_format(stored, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["features", "--origin", "2020-05", "--out", str(tmp_path / "f.xls")]
    )
    assert isinstance(result.exception, InputError)
    assert "f.xls" in str(result.exception)
    assert not (tmp_path / "f.xls").exists()


def test_features_command_on_an_empty_store_says_what_to_do() -> None:
    result = CliRunner().invoke(app, ["features", "--origin", "2020-05"])
    assert isinstance(result.exception, InputError)
    assert "riskcast ingest" in str(result.exception)
