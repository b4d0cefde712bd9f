"""bench/scale.py runs end to end at a tiny size (a test that it works, not of its speed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "scale.py"
MODELS = ("conflictology", "poisson_mean")
EXECUTORS = ("serial", "local", "dask")


def run_bench(*extra: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def test_help_runs_from_anywhere() -> None:
    done = run_bench("--help", timeout=60)
    assert done.returncode == 0, done.stderr
    for option in ("--series", "--months", "--models", "--executors", "--origins", "--quick"):
        assert option in done.stdout


def test_unknown_model_is_refused_by_name() -> None:
    done = run_bench("--quick", "--models", "zero,conflictolgy", timeout=60)
    assert done.returncode == 2
    assert "conflictolgy" in done.stderr


@pytest.mark.slow
def test_quick_run_prints_every_model_and_executor(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    done = run_bench(
        "--quick",
        "--models",
        ",".join(MODELS),
        "--executors",
        ",".join(EXECUTORS),
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    table_lines = [line for line in done.stdout.splitlines() if "│" in line or "|" in line]
    assert any("refit s" in line for line in table_lines) or "refit s" in done.stdout
    for model in MODELS:
        for executor in EXECUTORS:
            assert any(model in line and executor in line for line in table_lines), (
                f"no row for {model} × {executor}:\n{done.stdout}"
            )
    payload = json.loads(out.read_text())
    cells = {(row["model"], row["executor"]) for row in payload["summary"]}
    assert cells == {(m, e) for m in MODELS for e in EXECUTORS}
    for row in payload["summary"]:
        assert not row["errors"], row
        assert row["refit_s"] > 0 and row["backtest_s"] > 0
        assert row["rss_main_mb"] > 0
        if row["executor"] == "serial":
            assert row["backtest_speedup"] == pytest.approx(1.0)
    for run in payload["runs"]:
        assert run["extra"]["scored_rows"] == 20 * 2 * 12  # regions × origins × horizon
