"""Every ``riskcast`` command exits non-zero on failure (real processes, not CliRunner,
which hid that ``riskcast run`` exited 0 when the weekly job failed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.reliability.conftest import RISKCAST, make_home

pytestmark = pytest.mark.slow


def test_riskcast_run_exits_non_zero_when_the_weekly_job_fails(tmp_path: Path) -> None:
    home = make_home(tmp_path / "run")
    env = {**home.env, "RISKCAST_HOME": str(tmp_path / "empty-home")}  # no data at all
    result = subprocess.run(
        [str(RISKCAST), "run"], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "weekly job failed" in result.stderr and "load data" in result.stderr
    assert "Traceback" not in result.stderr  # a user-actionable failure is one line


def test_usage_errors_exit_2_without_a_traceback(tmp_path: Path) -> None:
    home = make_home(tmp_path / "usage")
    for args in (["ingest"], ["ingest", "--bogus"], ["no-such-command"]):
        result = home.riskcast(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr and "Usage:" in result.stderr
