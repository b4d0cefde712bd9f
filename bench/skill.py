"""Skill on real data: every model against the conflictology benchmark, VIEWS-style.

Two panels built from the files in ``../shared/data`` (never copied into the repo):

* ``ucdp``: UCDP GED country-month fatalities (133 countries, 1989-01 … 2021-12);
* ``mali``: ACLED political-violence fatalities for Mali's admin1 regions (sum of the
  admin2 rows by Admin1 P-code and month, 1997-01 … 2021-12).

Yearly origins 2016-12 … 2020-12, horizons 1-12, 1,000 draws per region-month: the last
target month is 2021-12, where the data stop, so nothing here looks at a later month.
Prints the mean CRPS on log1p counts of every model next to conflictology (skill =
1 − CRPS / CRPS_conflictology, positive = better), plus raw CRPS, ignorance, the 90%
interval score, coverage and the escalation Brier skill, and the wall time of each
model's backtest (fits + draws, measured with ``time.perf_counter``).

Usage::

    .venv/bin/python bench/skill.py --out bench/skill.md
    .venv/bin/python bench/skill.py --models conflictology,poisson_mean --datasets mali
    .venv/bin/python bench/skill.py --targets --out bench/results/skill_targets.md

``--targets`` measures issue #15's table instead: nested selection on monthly origins
2012-01…2015-12, scored on monthly origins 2017-01…2020-12 (see bench/skill_targets.py).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.panels import MALI_FILE, UCDP_FILE, mali_panel, registry_or_none  # noqa: E402
from bench.panels import ucdp_panel as _ucdp_panel  # noqa: E402
from forecast.backtest import BacktestResult, run_backtest  # noqa: E402
from forecast.models import MODEL_NAMES  # noqa: E402
from riskcast.months import format_month, parse_month_span  # noqa: E402

ORIGINS = "2016-12:2020-12:12"
COLUMNS = (
    ("crps_log", "CRPS log1p", "{:.3f}"),
    ("crps_log_skill", "skill vs confl.", "{:+.3f}"),
    ("crps", "CRPS", "{:.2f}"),
    ("ignorance", "IGN", "{:.2f}"),
    ("interval_90", "MIS 90", "{:.0f}"),
    ("coverage_50", "cov 50", "{:.2f}"),
    ("coverage_90", "cov 90", "{:.2f}"),
    ("brier_skill", "Brier skill", "{:+.3f}"),
    ("seconds", "time s", "{:.1f}"),
)

log = logging.getLogger("bench.skill")


def ucdp_panel() -> pd.DataFrame:
    """UCDP panel under the file's country names (as the yearly tables were measured)."""
    return _ucdp_panel(iso3=False)


def skill_table(
    panel: pd.DataFrame,
    models: list[str],
    *,
    n_draws: int,
    executor,
    progress: bool,
) -> pd.DataFrame:
    """Backtest each model separately (to time it), then summarise them together."""
    origins = parse_month_span(ORIGINS)
    registry = registry_or_none()
    results, seconds = [], {}
    for model in models:
        start = time.perf_counter()
        result = run_backtest(
            panel,
            registry,
            models=[model],
            origins=origins,
            horizon=12,
            n_draws=n_draws,
            seed=0,
            executor=executor,
            progress=progress,
        )
        seconds[model] = time.perf_counter() - start
        results.append(result)
        log.info("%s done in %.1f s", model, seconds[model])
    combined = BacktestResult.concat(results)
    summary = combined.summary()
    summary["seconds"] = summary["model"].map(seconds)
    summary["fallback_notes"] = (
        summary["model"]
        .map(combined.notes.groupby("model").size() if len(combined.notes) else {})
        .fillna(0)
    )
    return summary


def markdown(summary: pd.DataFrame, title: str) -> str:
    """A markdown table of the summary."""
    header = "| model | n | " + " | ".join(label for _, label, _ in COLUMNS) + " | fallbacks |"
    lines = [f"### {title}", "", header, "|" + "---|" * (len(COLUMNS) + 3)]
    for _, row in summary.iterrows():
        cells = [
            "—" if pd.isna(row.get(column)) else pattern.format(row[column])
            for column, _, pattern in COLUMNS
        ]
        lines.append(
            f"| {row['model']} | {int(row['n'])} | "
            + " | ".join(cells)
            + f" | {int(row['fallback_notes'])} |"
        )
    return "\n".join(lines)


def targets_main(args: argparse.Namespace, argv: list[str] | None) -> int:
    """The nested-selection target table (``--targets``), see :mod:`bench.skill_targets`."""
    from bench.panels import available
    from bench.skill_targets import run
    from forecast.executors import make_executor

    if not available():
        print("skipping: the shared data files are not all present")
        return 0
    executor = make_executor(args.executor)
    try:
        datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
        sections = run(datasets, args.draws, executor, progress=not args.no_progress)
    finally:
        executor.close()
    header = (
        f"Command: `.venv/bin/python bench/skill.py {' '.join(argv or sys.argv[1:])}`; "
        f"{args.draws} draws, seed 0. Measured {pd.Timestamp.now():%Y-%m-%d}."
    )
    if args.out:
        args.out.write_text("\n\n".join([header, *sections]) + "\n")
        print(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the tables (and write them as markdown with ``--out``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models",
        default=",".join(name for name in MODEL_NAMES if name != "ensemble"),
        help="comma-separated model names (conflictology is always added)",
    )
    parser.add_argument(
        "--datasets", default="ucdp,mali", help="comma-separated: ucdp, mali (default both)"
    )
    parser.add_argument("--draws", type=int, default=1000, help="draws per region-month")
    parser.add_argument("--executor", default="serial", help="serial, local or dask")
    parser.add_argument("--out", type=Path, help="write the tables as markdown here")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--targets",
        action="store_true",
        help="issue #15's target table: nested selection, monthly origins 2017-01…2020-12",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.targets:
        return targets_main(args, argv)

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if "conflictology" not in models:
        models.insert(0, "conflictology")
    builders = {"ucdp": (ucdp_panel, UCDP_FILE), "mali": (mali_panel, MALI_FILE)}
    from forecast.executors import make_executor

    executor = make_executor(args.executor)
    sections = [
        f"Command: `.venv/bin/python bench/skill.py {' '.join(argv or sys.argv[1:])}`",
        f"Origins {ORIGINS.replace(':12', '')} (yearly), horizons 1-12, {args.draws} draws, "
        f"seed 0; means over every region × origin × horizon. Measured "
        f"{pd.Timestamp.now():%Y-%m-%d}.",
    ]
    try:
        for name in [d.strip() for d in args.datasets.split(",") if d.strip()]:
            build, path = builders[name]
            if not path.exists():
                print(f"skipping {name}: {path} not found")
                continue
            panel = build()
            span = (
                f"{panel['region'].nunique()} regions, "
                f"{format_month(panel['month'].min())}…{format_month(panel['month'].max())}"
            )
            summary = skill_table(
                panel, models, n_draws=args.draws, executor=executor,
                progress=not args.no_progress,
            )  # fmt: skip
            table = markdown(summary, f"{name}: {path.name} ({span})")
            print(table, "\n", flush=True)
            sections.append(table)
    finally:
        executor.close()
    if args.out:
        args.out.write_text("\n\n".join(sections) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
