"""The whole config is read once, at start, and a typo anywhere stops every entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from jobs.config import KNOWN_SECTIONS, RiskcastConfig, load_config
from riskcast.config import REPO_DEFAULT_CONFIG
from riskcast.errors import ConfigError

TYPOS = [
    ("data", "busy_timeout_second = 3", "busy_timeout_seconds"),
    ("data.sources", "zero_fil = true", "zero_fill"),
    ("features", "lag = [1]", "lags"),
    ("events", "builtn = false", "builtin"),
    ("forecast", "horizn = 6", "horizon"),
    ("escalation", "flor = 10", "floor"),
    ("series_rules.aid_diversion", "flor = 1", "floor"),
    ("risk", "elevatd = 0.3", "elevated"),
    ("executor", "worker = 2", "workers"),
    ("experiments", "primary_metrc = 'crps'", "primary_metric"),
    ("alerts", "threshhold = 0.4", "threshold"),
    ("alerts.webhook", "urll = 'http://127.0.0.1:9/'", "url"),
    ("alerts.outbox", "retry_backof_s = 1", "retry_backoff_s"),
    ("scope", "region = ['ML05']", "regions"),
    ("schedule", "weeky = '0 6 * * mon'", "weekly"),
    ("service", "max_body_byte = 10", "max_body_bytes"),
]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "riskcast.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("table", "line", "meant"), TYPOS)
def test_a_typo_in_any_section_stops_riskcast_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str, line: str, meant: str
) -> None:
    monkeypatch.setenv("RISKCAST_CONFIG", str(_write(tmp_path, f"[{table}]\n{line}\n")))
    result = CliRunner().invoke(app, ["data", "summary"])
    assert isinstance(result.exception, ConfigError), result.output
    assert f"did you mean '{meant}'" in str(result.exception)
    assert f"[{table}]" in str(result.exception)  # the message names the table


def test_an_unknown_section_stops_the_real_command_with_exit_2(tmp_path: Path) -> None:
    config = _write(tmp_path, "[backtest]\nhorizn = 12\n")  # a section nobody reads
    env = {**os.environ, "RISKCAST_CONFIG": str(config), "RISKCAST_HOME": str(tmp_path)}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("riskcast")), "data", "summary"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "unknown section [backtest]" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "riskcast.db").exists()  # stopped before touching anything


def test_the_service_refuses_to_start_on_a_typo(tmp_path: Path, monkeypatch) -> None:
    import service

    monkeypatch.setenv("RISKCAST_CONFIG", str(_write(tmp_path, "[alerts]\nthreshhold = 1\n")))
    with pytest.raises(ConfigError, match="did you mean 'threshold'"):
        service.create_app(run_scheduler=False)


def test_the_shipped_file_holds_exactly_the_defaults_of_the_models() -> None:
    """Each knob's default lives in its section's model; riskcast.toml only shows it."""
    shipped = load_config(REPO_DEFAULT_CONFIG)
    assert shipped.model_copy(update={"path": None}) == RiskcastConfig()
    assert set(KNOWN_SECTIONS) >= {"data", "forecast", "alerts", "schedule", "scope"}
