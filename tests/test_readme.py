"""The executable README: every command of README.md's command table runs, in order, as a
real ``riskcast`` subprocess in a fresh home on the synthetic demo data, and must exit 0.

The commands are parsed from README.md itself, so the README cannot drift from the code.
Two substitutions only, both documented under the table:

* ``country_key.csv`` (the VIEWS challenge's key) is put in the working folder: the shared
  data's copy when ``../shared/data/views_cm`` is present, else a one-line key for Mali;
* ``riskcast serve … --port 8000`` listens on a free port instead; the test waits for
  ``/health``, checks ``/experiments`` and ``/docs``, then stops the server.

After the table it checks what the README promises of that sequence: ``experiments
compare`` ranks both backtested models with skill, ``GET /experiments`` gives the same
ranking, the champion loads with ``mlflow.pyfunc.load_model("models:/riskcast@champion")``
and predicts the output contract from the exported ``panel.csv``, and the weekly refit
recorded the champion's model version.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import SHARED_DATA

README = Path(__file__).resolve().parents[1] / "README.md"
RISKCAST = Path(sys.executable).with_name("riskcast")
ROW = re.compile(r"^\| `(riskcast [^`]+)` \|")
MALI_KEY = (
    "id,name,gwcode,isoname,isoab,isonum,in_africa,in_middle_east\n50,Mali,432,Mali,MLI,466,1,0\n"
)
COMMAND_TIMEOUT_S = 600

pytestmark = pytest.mark.slow


def readme_commands() -> list[list[str]]:
    """The command table's commands, in order, as argument lists."""
    rows = [ROW.match(line) for line in README.read_text(encoding="utf-8").splitlines()]
    return [shlex.split(match.group(1)) for match in rows if match]


def test_readme_table_parses_into_commands() -> None:
    commands = readme_commands()
    assert len(commands) >= 15
    names = [" ".join(c[1:3]) for c in commands]
    assert names[0] == "demo-data"  # a fresh home needs data first
    assert any(c[1] == "serve" for c in commands)
    assert "experiments compare" in names and any(c[1] == "backtest" for c in commands)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RISKCAST_", "MLFLOW_")) or k == "RISKCAST_TEST_POSTGRES_URL"
    }
    env |= {"RISKCAST_HOME": str(home), "COLUMNS": "100", "RISKCAST_API_KEYS": "readme-test-key"}
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(RISKCAST), *args[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, (
        f"README command failed ({done.returncode}): {shlex.join(args)}\n"
        f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    )
    return done


def _python(code: str, cwd: Path, env: dict[str, str]) -> str:
    """Run ``code`` in a fresh interpreter of this venv (as a user would); its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _serve(args: list[str], cwd: Path, env: dict[str, str], compare: dict) -> None:
    """Start the README's serve command on a free port, check it, stop it."""
    port = _free_port()
    args = list(args)
    args[args.index("--port") + 1] = str(port)
    server = subprocess.Popen(
        [str(RISKCAST), *args[1:]],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:  # the server has no readiness signal but answering /health
            assert server.poll() is None, f"riskcast serve exited: {server.stderr.read()[-3000:]}"
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "riskcast serve did not answer /health in 60 s"
            time.sleep(0.2)
        ranked = httpx.get(f"{base}/experiments", timeout=60)
        assert ranked.status_code == 200, ranked.text
        served = [(row["model"], row["run_id"]) for row in ranked.json()["rows"]]
        assert served == [(row["model"], row["run_id"]) for row in compare["rows"]]
        docs = httpx.get(f"{base}/docs", timeout=10)
        assert docs.status_code == 200 and "/static-offline-docs/" in docs.text
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stderr.close()


def test_every_readme_command_runs_in_order_on_the_demo(tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    real_key = SHARED_DATA / "views_cm" / "country_key.csv"
    if real_key.exists():
        shutil.copy(real_key, work / "country_key.csv")
    else:
        (work / "country_key.csv").write_text(MALI_KEY)
    env = _environment(home)
    compare: dict = {}
    for args in readme_commands():
        if args[1] == "serve":
            compare = json.loads(
                _run(["riskcast", "experiments", "compare", "--json"], work, env).stdout
            )
            _serve(args, work, env, compare)
        else:
            _run(args, work, env)

    # experiments compare ranks the README's backtest: both models, with skill
    compare = json.loads(_run(["riskcast", "experiments", "compare", "--json"], work, env).stdout)
    skill = {row["model"]: row["skill"] for row in compare["rows"]}
    assert set(skill) == {"conflictology", "negbin_glm"}
    assert skill["conflictology"] == 0.0 and isinstance(skill["negbin_glm"], float)

    # the champion: promoted by `promote --best`, loadable, predicts from the exported panel
    check = (  # as the README says: plain MLflow pointed at the store
        "import mlflow, pandas as pd\n"
        "model = mlflow.pyfunc.load_model('models:/riskcast@champion')\n"
        "frame = model.predict(pd.read_csv('panel.csv'), params={'horizon': 2, 'n_draws': 100})\n"
        "print(list(frame.columns)); print(sorted(set(frame['horizon'])))\n"
    )
    store = {"MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}"}
    printed = _python(check, work, env | store)
    from forecast.output import FORECAST_COLUMNS

    columns, horizons = printed.strip().splitlines()
    assert columns == str(list(FORECAST_COLUMNS)) and horizons == "[1, 2]"

    # the weekly refit recorded which registered version of the champion it used
    versions = (
        "from experiments import tracking\n"
        "from experiments.runs import runs_of\n"
        "refits = runs_of('riskcast-refits', kinds=['refit'])\n"
        "version = tracking.client().get_model_version_by_alias('riskcast', 'champion')\n"
        "print(refits['tags.champion_version'].iloc[0], version.version)\n"
    )
    recorded, current = _python(versions, work, env).split()
    assert recorded == current == "1"
