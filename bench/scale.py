"""Scale: refit + forecast and a rolling-origin backtest for N synthetic series, per executor.

For every size N × model × executor this measures, in a fresh child process each time (so
one measurement's memory cannot leak into the next):

* ``refit`` — cut the panel at the last origin, fit, draw a ``--horizon``-month forecast
  (``--draws`` draws per region-month), compute the escalation thresholds and the output
  frame (what the weekly refit does);
* ``backtest`` — :func:`forecast.backtest.run_backtest` over ``--origins`` monthly origins
  (refit at each, score every step).

Wall time is ``time.perf_counter`` around each part; the executor is started before the
clock (its start-up is reported separately, ``start s``). Memory is the peak resident set
size (``resource.getrusage(...).ru_maxrss``): ``RSS main`` of the measuring process and
``RSS worker`` of the largest pool/Dask worker process it started (RUSAGE_CHILDREN: the
maximum over children that have exited, which they all have when the executor is closed).
RSS includes the interpreter and imported libraries (~250 MB before any data). With
``--tracemalloc`` the Python/numpy allocations of the main process are traced as well
(``traced MB``; slows pure-Python code, so timings of that run are not comparable).

How work is split: the backtest's jobs are its (model, origin) pairs, so the executor runs
origins in parallel. The refit is one job for vectorised or pooled models (the benchmarks
are one numpy pass over all regions; the pooled NB-GLM is one model over all regions, so
splitting it would change the model) and ``--chunks`` region chunks for per-region models
(``prophet``, ``sarimax``, ``ets``), each chunk seeded ``[seed, chunk]`` — the same chunks
on every executor, so the serial, local and Dask draws are identical. Jobs are small: the
panel (backtest) or its cut (refit) travels to each worker once per call as the executor's
``shared=`` object, and each job cuts or selects its rows there.

The synthetic panel: N custom regions in a chain (each borders the next) under one country,
``--months`` months of zero-inflated negative-binomial ``fatalities`` with bursts (seeded;
source ``synthetic-bench``). Nothing is read from disk or the network.

Usage::

    .venv/bin/python bench/scale.py --help
    .venv/bin/python bench/scale.py --quick
    .venv/bin/python bench/scale.py --series 100 1000 10000 --months 300 \\
        --models zero,no_change,conflictology,poisson_mean,negbin_glm \\
        --executors serial,local,dask --origins 12 --draws 1000 --repeats 3 --out bench/scale.md
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import tables  # noqa: E402
from data.registry import Region, Registry  # noqa: E402
from forecast.backtest import run_backtest  # noqa: E402
from forecast.draws import Draws  # noqa: E402
from forecast.executors import EXECUTOR_NAMES, make_executor  # noqa: E402
from forecast.models import MODEL_NAMES  # noqa: E402
from forecast.output import forecast_frame  # noqa: E402
from forecast.pipeline import cut_panel, fit_and_draw, forecast_regions  # noqa: E402
from forecast.risk import EscalationRule, escalation_thresholds  # noqa: E402

log = logging.getLogger("bench.scale")

SERIES = "fatalities"
COUNTRY = "SYN"
PER_REGION_MODELS = frozenset({"prophet", "sarimax", "ets"})
"""Models that fit one model per region: their refit is split into region chunks."""
DEFAULT_MODELS = "zero,no_change,conflictology,poisson_mean,negbin_glm"
PARTS = ("refit", "backtest")


# --------------------------------------------------------------------------- synthetic data


def region_ids(n_series: int) -> list[str]:
    """``R00001`` … — custom ids, zero-padded so they sort in creation order."""
    width = max(5, len(str(n_series)))
    return [f"R{i:0{width}d}" for i in range(1, n_series + 1)]


def chain_registry(n_series: int) -> Registry:
    """One country with ``n_series`` custom regions in a line (each borders the next)."""
    ids = region_ids(n_series)
    regions = [Region(id=COUNTRY, name="Synthetic country", level="country", iso3=COUNTRY)]
    for i, rid in enumerate(ids):
        neighbours = tuple(ids[j] for j in (i - 1, i + 1) if 0 <= j < len(ids))
        regions.append(
            Region(
                id=rid,
                name=f"Cell {rid}",
                level="custom",
                parent=COUNTRY,
                iso3=COUNTRY,
                neighbours=neighbours,
            )
        )
    return Registry(regions)


def synthetic_panel(
    n_series: int, n_months: int, seed: int = 0, end: str = "2021-12"
) -> pd.DataFrame:
    """Zero-inflated negative-binomial monthly counts with bursts, one row per region-month.

    Per region: a base level (gamma; a third of the regions are quiet, level ≈ 0), a
    structural-zero probability, and a few bursts of 3-6 months that multiply the level —
    the shapes conflict data has. Vectorised over regions and months.
    """
    rng = np.random.default_rng(seed)
    months = pd.period_range(end=end, periods=n_months, freq="M")
    level = rng.gamma(0.8, 6.0, size=n_series) * (rng.random(n_series) > 0.33)
    zero_prob = rng.uniform(0.1, 0.7, size=n_series)
    mu = np.broadcast_to(level, (n_months, n_series)).copy()
    n_bursts = rng.poisson(3.0, size=n_series)
    for burst in range(int(n_bursts.max(initial=0))):
        has = n_bursts > burst
        start = rng.integers(0, n_months, size=n_series)
        length = rng.integers(3, 7, size=n_series)
        boost = rng.gamma(2.0, 8.0, size=n_series)
        t = np.arange(n_months)[:, None]
        inside = has & (t >= start) & (t < start + length)
        mu = mu + inside * boost
    size = 1.5
    counts = rng.negative_binomial(size, size / (size + np.maximum(mu, 1e-9)))
    counts = np.where(rng.random((n_months, n_series)) < zero_prob, 0, counts)
    counts = np.where(mu > 1e-9, counts, 0)
    frame = pd.DataFrame(
        {
            "region": np.tile(np.asarray(region_ids(n_series), dtype=object), n_months),
            "month": pd.PeriodIndex(np.repeat(months, n_series), freq="M"),
            "series": SERIES,
            "value": counts.ravel().astype(float),
            "source": "synthetic-bench",
        }
    )
    return frame.sort_values(["region", "month"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- one measurement


@dataclass(frozen=True)
class RefitData:
    """What every chunk of a refit reads: sent to each worker once (``shared=``)."""

    panel_cut: pd.DataFrame
    registry: Registry


@dataclass(frozen=True)
class ChunkJob:
    """Refit of one chunk of regions (picklable and small; carries its own seed).

    ``subset``: fit on the chunk's rows only (per-region models), else on the whole cut.
    """

    model: str
    origin: pd.Period
    regions: tuple[str, ...]
    horizon: int
    n_draws: int
    seed: tuple[int, int]
    subset: bool


def run_chunk(job: ChunkJob, data: RefitData) -> Draws:
    """Fit and draw one chunk of regions (top level so every executor can ship it)."""
    cut = data.panel_cut
    if job.subset:
        cut = cut[cut["region"].isin(set(job.regions) | {COUNTRY})]
    return fit_and_draw(
        cut,
        data.registry,
        model=job.model,
        origin=job.origin,
        horizon=job.horizon,
        series=SERIES,
        n_draws=job.n_draws,
        rng=np.random.default_rng(list(job.seed)),
        regions=job.regions,
    )


def refit_forecast(
    panel: pd.DataFrame,
    registry: Registry,
    *,
    model: str,
    origin: pd.Period,
    horizon: int,
    n_draws: int,
    seed: int,
    executor: Any,
    chunks: int,
) -> tuple[Draws, pd.DataFrame]:
    """Refit at ``origin`` and forecast: region chunks for per-region models, else one job."""
    cut = cut_panel(panel, origin)
    regions = forecast_regions(cut, SERIES)
    n_chunks = min(chunks, len(regions)) if model in PER_REGION_MODELS else 1
    blocks = np.array_split(np.asarray(regions, dtype=object), n_chunks)
    jobs = [
        ChunkJob(
            model, origin, tuple(str(r) for r in block), horizon, n_draws, (seed, index),
            subset=n_chunks > 1,
        )
        for index, block in enumerate(blocks)
    ]  # fmt: skip
    # the cut travels to each worker once; each chunk selects its own rows there
    parts = executor.map(run_chunk, jobs, shared=RefitData(cut, registry))
    draws = Draws(
        model=model,
        series=SERIES,
        origin=origin,
        regions=regions,
        values=np.concatenate([part.values for part in parts], axis=0),
        notes={k: v for part in parts for k, v in part.notes.items()},
    )
    thresholds = escalation_thresholds(cut, regions, EscalationRule(), origin=origin)
    return draws, forecast_frame(draws, thresholds)


@dataclass
class Measurement:
    """One (N, model, executor, repeat) run, as the child process reports it."""

    n_series: int
    model: str
    executor: str
    repeat: int
    start_s: float = float("nan")
    refit_s: float = float("nan")
    backtest_s: float = float("nan")
    rss_main_mb: float = float("nan")
    rss_worker_mb: float = float("nan")
    traced_mb: float = float("nan")
    draws_mb: float = float("nan")
    cpu_s: float = float("nan")
    notes: int = 0
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _cpu_seconds() -> float:
    """User + system CPU of this process and its exited children (pool and Dask workers)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _maxrss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux reports KiB


def measure(args: argparse.Namespace) -> Measurement:
    """Run the requested parts once in this process and return the numbers."""
    logging.basicConfig(level=logging.WARNING)
    result = Measurement(args.n, args.model, args.executor, args.repeat)
    panel = synthetic_panel(args.n, args.months, seed=args.seed)
    registry = chain_registry(args.n)
    last = panel["month"].max()
    origins = [last - args.horizon - k for k in range(args.origins - 1, -1, -1)]
    if args.tracemalloc:
        tracemalloc.start()
    cpu_before = _cpu_seconds()
    began = time.perf_counter()
    executor = make_executor(args.executor, workers=args.workers)
    result.start_s = time.perf_counter() - began
    try:
        if "refit" in args.parts:
            began = time.perf_counter()
            draws, _ = refit_forecast(
                panel,
                registry,
                model=args.model,
                origin=last,
                horizon=args.horizon,
                n_draws=args.draws,
                seed=args.seed,
                executor=executor,
                chunks=args.chunks,
            )
            result.refit_s = time.perf_counter() - began
            result.draws_mb = draws.values.nbytes / 2**20
            result.notes = len(draws.notes)
            if draws.values.dtype != np.float32:
                result.error = f"draws are {draws.values.dtype}, not float32"
            del draws
        if "backtest" in args.parts:
            began = time.perf_counter()
            backtest = run_backtest(
                panel,
                registry,
                models=[args.model],
                origins=origins,
                horizon=args.horizon,
                n_draws=args.draws,
                seed=args.seed,
                executor=executor,
                progress=False,
            )
            result.backtest_s = time.perf_counter() - began
            result.extra["scored_rows"] = len(backtest.scores)
            result.extra["crps_log"] = float(backtest.scores["crps_log"].mean())
            del backtest
    except Exception as exc:  # noqa: BLE001 - the table shows the failure, the run goes on
        result.error = f"{type(exc).__name__}: {exc}"[:300]
        log.exception("measurement failed")
    finally:
        if args.tracemalloc:
            result.traced_mb = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        executor.close()
    result.cpu_s = _cpu_seconds() - cpu_before
    result.rss_main_mb = _maxrss_mb(resource.RUSAGE_SELF)
    result.rss_worker_mb = (
        _maxrss_mb(resource.RUSAGE_CHILDREN) if args.executor != "serial" else float("nan")
    )
    return result


# --------------------------------------------------------------------------- orchestration


def child_command(args: argparse.Namespace, n: int, model: str, executor: str, repeat: int):
    """The command line of one measurement in a fresh interpreter."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "--n", str(n),
        "--model", model,
        "--executor", executor,
        "--repeat", str(repeat),
        "--months", str(args.months),
        "--origins", str(args.origins),
        "--horizon", str(args.horizon),
        "--draws", str(args.draws),
        "--workers", str(args.workers),
        "--chunks", str(args.chunks),
        "--seed", str(args.seed),
        "--parts", ",".join(args.parts),
    ]  # fmt: skip
    if args.tracemalloc:
        command.append("--tracemalloc")
    return command


def run_child(args: argparse.Namespace, n: int, model: str, executor: str, repeat: int):
    """One measurement in a child process; a crash or timeout becomes an error row."""
    command = child_command(args, n, model, executor, repeat)
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=args.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return Measurement(n, model, executor, repeat, error=f"timeout after {args.timeout} s")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Measurement(n, model, executor, repeat, error=f"exit {done.returncode}: {tail}")
    return Measurement(**json.loads(lines[-1]))


def summarise(rows: list[Measurement], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Medians over repeats, series/second and the ratio to the serial run of the same cell."""
    table: list[dict[str, Any]] = []
    keys = dict.fromkeys((r.n_series, r.model, r.executor) for r in rows)
    for n, model, executor in keys:
        group = [r for r in rows if (r.n_series, r.model, r.executor) == (n, model, executor)]
        entry: dict[str, Any] = {
            "series": n,
            "model": model,
            "executor": executor,
            "repeats": len(group),
            "start_s": tables.median([r.start_s for r in group]),
            "refit_s": tables.median([r.refit_s for r in group]),
            "backtest_s": tables.median([r.backtest_s for r in group]),
            "rss_main_mb": max((r.rss_main_mb for r in group), default=float("nan")),
            "rss_worker_mb": max((r.rss_worker_mb for r in group), default=float("nan")),
            "traced_mb": max((r.traced_mb for r in group), default=float("nan")),
            "draws_mb": tables.median([r.draws_mb for r in group]),
            "cpu_s": tables.median([r.cpu_s for r in group]),
            "errors": sorted({r.error for r in group if r.error}),
        }
        # series/second: series forecast per second (the backtest refits each series at
        # every origin, so it counts series × origins).
        entry["refit_series_per_s"] = n / entry["refit_s"] if entry["refit_s"] > 0 else float("nan")
        entry["backtest_series_per_s"] = (
            n * args.origins / entry["backtest_s"] if entry["backtest_s"] > 0 else float("nan")
        )
        table.append(entry)
    for entry in table:
        serial = next(
            (
                e
                for e in table
                if (e["series"], e["model"], e["executor"])
                == (entry["series"], entry["model"], "serial")
            ),
            None,
        )
        for part in PARTS:
            base = serial[f"{part}_s"] if serial else float("nan")
            own = entry[f"{part}_s"]
            entry[f"{part}_speedup"] = base / own if own > 0 else float("nan")
    return table


COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("series", "N", "{:,}"),
    ("model", "model", "{}"),
    ("executor", "executor", "{}"),
    ("start_s", "start s", "{:.1f}"),
    ("refit_s", "refit s", "{:.2f}"),
    ("refit_series_per_s", "refit series/s", "{:,.0f}"),
    ("refit_speedup", "refit × serial", "{:.2f}"),
    ("backtest_s", "backtest s", "{:.1f}"),
    ("backtest_series_per_s", "bt series·origins/s", "{:,.0f}"),
    ("backtest_speedup", "bt × serial", "{:.2f}"),
    ("cpu_s", "CPU s", "{:.1f}"),
    ("rss_main_mb", "RSS main MB", "{:,.0f}"),
    ("rss_worker_mb", "RSS worker MB", "{:,.0f}"),
    ("draws_mb", "draws MB", "{:,.1f}"),
)


def table_rows(
    table: list[dict[str, Any]], tracemalloc_on: bool
) -> tuple[list[str], list[list[str]]]:
    """Headers and formatted cells (errors appended as the last column)."""
    extra = [("traced_mb", "traced MB", "{:,.0f}")] if tracemalloc_on else []
    return tables.table_rows(table, list(COLUMNS) + extra)


def print_table(headers: list[str], rows: list[list[str]], title: str) -> None:
    """A rich table on a terminal (plain markdown when rich is missing)."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover - rich ships with typer
        print(title)
        print(tables.markdown(headers, rows))
        return
    table = Table(title=title, show_lines=False)
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i in (1, 2, len(headers) - 1) else "right")
    for row in rows:
        table.add_row(*row)
    Console(width=max(200, len(title))).print(table)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description=(
            "Wall time and peak memory of refit + forecast and of a rolling-origin backtest "
            "for N synthetic count series, serial vs local process pool vs Dask. Prints "
            "medians over repeats, series/second and the ratio to the serial path."
        )
    )
    parser.add_argument(
        "--series",
        type=int,
        nargs="+",
        default=[100],
        metavar="N",
        help="numbers of synthetic series (regions) (default: 100)",
    )
    parser.add_argument("--months", type=int, default=300, help="months of history (300)")
    parser.add_argument(
        "--models",
        default=DEFAULT_MODELS,
        help=f"comma-separated model names (default: {DEFAULT_MODELS})",
    )
    parser.add_argument(
        "--executors",
        default="serial,local,dask",
        help="comma-separated executors: serial, local, dask",
    )
    parser.add_argument("--origins", type=int, default=12, help="backtest origins (12)")
    parser.add_argument("--horizon", type=int, default=12, help="months ahead (12)")
    parser.add_argument("--draws", type=int, default=1000, help="draws per region-month (1000)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per cell (3)")
    parser.add_argument(
        "--workers", type=int, default=0, help="processes for local/dask (0 = every core)"
    )
    parser.add_argument(
        "--chunks", type=int, default=8, help="region chunks of a per-region model's refit (8)"
    )
    parser.add_argument(
        "--parts",
        default="refit,backtest",
        help="what to time: refit, backtest or both (default both)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of data and draws (0)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=1200.0,
        help="seconds before one measurement is abandoned (1200)",
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also trace Python/numpy allocations (slows pure-Python code)",
    )
    parser.add_argument(
        "--out", type=Path, help="also write the table: .md (markdown) or .json (raw + medians)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny run for CI: 20 series × 60 months, 2 origins, 100 draws, "
        "1 repeat, 2 workers (keeps --models and --executors)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--executor", help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in str(args.parts).split(",") if p.strip()]
    if args.child:
        return args
    if args.quick:
        args.series, args.months, args.origins, args.draws = [20], 60, 2, 100
        args.repeats, args.horizon = 1, 12
        args.workers = args.workers or 2
        args.chunks = min(args.chunks, 2)
    args.model_list = [m.strip() for m in args.models.split(",") if m.strip()]
    args.executor_list = [e.strip() for e in args.executors.split(",") if e.strip()]
    unknown = [m for m in args.model_list if m not in MODEL_NAMES]
    unknown += [e for e in args.executor_list if e not in EXECUTOR_NAMES]
    unknown += [p for p in args.parts if p not in PARTS]
    if unknown:
        parser.error(
            f"unknown name(s) {', '.join(unknown)}; models: {', '.join(MODEL_NAMES)}; "
            f"executors: {', '.join(EXECUTOR_NAMES)}; parts: {', '.join(PARTS)}"
        )
    if "serial" not in args.executor_list:
        log.warning("no serial run: the ratio columns stay empty")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run every cell, print the table, optionally write it."""
    args = parse_args(argv)
    if args.child:
        print(json.dumps(asdict(measure(args))))
        return 0
    rows: list[Measurement] = []
    title = (
        f"riskcast scale bench: {args.months} months, {args.origins} origins × "
        f"{args.horizon} months, {args.draws} draws, {args.repeats} repeat(s), "
        f"workers={args.workers or os.cpu_count()}, {os.cpu_count()} CPU(s)"
    )
    for n in args.series:
        for model in args.model_list:
            for executor in args.executor_list:
                for repeat in range(args.repeats):
                    row = run_child(args, n, model, executor, repeat)
                    print(
                        f"  N={n} {model} {executor} #{repeat}: refit {row.refit_s:.2f} s, "
                        f"backtest {row.backtest_s:.1f} s, RSS {row.rss_main_mb:.0f} MB"
                        + (f" ERROR {row.error}" if row.error else ""),
                        file=sys.stderr,
                        flush=True,
                    )
                    rows.append(row)
    table = summarise(rows, args)
    headers, cells = table_rows(table, args.tracemalloc)
    print_table(headers, cells, title)
    if args.out:
        tables.write_table(args.out, title, headers, cells, table, [asdict(r) for r in rows])
    return 0 if not any(r.error for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
