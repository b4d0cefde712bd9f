"""Shared fixtures: an isolated home folder per test, the shared real data, small panels."""

from __future__ import annotations

from pathlib import Path

import pytest

import experiments.config
from data.registry import Registry
from experiments.config import ExperimentsConfig
from tests.panels import chain_registry, synthetic_panel

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_file(name: str) -> Path:
    """Path of a file in ../shared/data, or skip the test (cleanly) where it is absent."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"real data file {name} not found in {SHARED_DATA}")
    return path


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own RISKCAST_HOME (database, MLflow store, outputs)."""
    home = tmp_path / "home"
    monkeypatch.setenv("RISKCAST_HOME", str(home))
    monkeypatch.delenv("RISKCAST_DATABASE_URL", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    experiments.config.configure(ExperimentsConfig())  # no test inherits another's [experiments]
    return home


@pytest.fixture
def registry() -> Registry:
    """Four admin1 regions in a chain under country AAA."""
    return chain_registry()


@pytest.fixture
def panel(registry: Registry):
    """A seeded synthetic panel over ``registry`` (2015-01 … 2021-12)."""
    return synthetic_panel(
        registry, series=("fatalities", "aid_diversion", "peacekeeper_casualties")
    )
