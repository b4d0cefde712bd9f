"""Experiment specs: strict TOML, models × feature sets × origins run and logged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from experiments import tracking
from experiments.compare import leaderboard
from experiments.spec import SPEC_DIR, grid, load_spec, run_spec
from riskcast.errors import ConfigError
from tests.experiments import install_store


@pytest.fixture(autouse=True)
def store(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RISKCAST_CONFIG", install_store(isolated_home, top_regions=0))
    return tracking.tracking_uri()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


def test_example_spec_loads_and_resolves_relative_origins(panel) -> None:
    spec = load_spec(SPEC_DIR / "mali_baselines.toml")
    assert "conflictology" in spec.models and set(spec.feature_sets) == {"default", "short_memory"}
    origins = spec.resolve_origins(panel)  # panel ends 2021-12, horizon 12
    assert origins == [pd.Period(m, "M") for m in ("2019-06", "2019-12", "2020-06", "2020-12")]
    backtests = grid(spec)
    short = {name: options for name, _, options in backtests}["short_memory"]
    assert short["negbin_glm"]["feature_config"].lags == [1, 2, 3]
    assert "feature_config" not in short["conflictology"]  # baselines take no feature set
    assert load_spec("mali_baselines").name == "mali-baselines"  # bare names are looked up


def test_spec_errors_name_the_key(tmp_path: Path) -> None:
    base = 'name = "x"\nmodels = ["zero"]\norigins = "2019-12:2020-06:6"\n'
    with pytest.raises(ConfigError, match="did you mean 'horizon'"):
        load_spec(_write(tmp_path, base + "horizn = 3\n"))
    with pytest.raises(ConfigError, match="did you mean 'conflictology'"):
        load_spec(_write(tmp_path, base.replace('"zero"', '"conflictolgy"')))
    with pytest.raises(ConfigError, match="exactly one of 'origins' and 'last_origins'"):
        load_spec(_write(tmp_path, base + "last_origins = 2\n"))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_spec(_write(tmp_path, "name = \n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_spec(tmp_path / "missing.toml")


@pytest.mark.slow
def test_run_spec_logs_one_backtest_per_feature_set(tmp_path, store, panel, registry) -> None:
    path = _write(
        tmp_path,
        'name = "grid"\nmodels = ["zero", "conflictology"]\n'
        'origins = ["2020-06", "2020-12"]\nhorizon = 3\nn_draws = 100\n'
        "[feature_sets.default]\n[feature_sets.lags12]\nlags = [1, 2]\n",
    )
    parents = run_spec(path, panel=panel, registry=registry, progress=False)
    assert len(parents) == 2
    client = MlflowClient(store)
    names = {client.get_run(p).data.tags["feature_set"] for p in parents}
    assert names == {"default", "lags12"}
    table = leaderboard()  # the default experiment; same origins and data: one set
    assert len(table) == 4
    bench = table[table["model"] == "conflictology"]
    assert bench["feature_set_hash"].nunique() == 2  # the two feature sets stay apart
    assert (table["parent_run_id"].isin(parents)).all()
