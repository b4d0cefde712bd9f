"""Store at scale: ingest, re-ingest, revise and read N synthetic series on SQLite and PostgreSQL.

For every size N × backend × repeat this starts from an empty database and runs, each step
in a fresh child process (so each step's peak memory is its own):

* ``first`` — :func:`data.ingest.ingest_file` of a panel CSV of N series × ``--months``
  months into the empty store (parse, validate, store);
* ``again`` — the same file again: idempotent, it must write nothing (0 added, 0 changed);
* ``revise`` — a copy of the file with ``--revise`` (10 %) of the values changed: those rows
  are updated and their previous values kept as revisions;
* ``load`` — :meth:`data.store.Store.load_panel` of the whole panel;
* ``load1`` — ``load_panel(regions=[one region])``: the indexed point read the API and the
  feature builder make.

``wall s`` is ``time.perf_counter`` around the step in the child (imports and opening the
store excluded); ``store s`` is the part spent in :meth:`Store.ingest` (the rest of an ingest
is reading, parsing and validating the CSV, and hashing it). ``rows/s`` = rows of the file
(or rows read) / ``wall s``. ``RSS MB`` is the child's peak resident set size (``VmHWM``;
Python and the libraries are ~150 MB of it). A step whose counts are not the
expected ones (e.g. a re-ingest that wrote rows) is reported in the ``errors`` column and the
exit status is 1.

Backends: ``sqlite`` (a fresh file in a temporary folder, the default store's settings:
WAL, synchronous=NORMAL) and ``postgresql`` (``--postgres-url`` or the environment variable
``RISKCAST_TEST_POSTGRES_URL``; each run gets a fresh schema, dropped afterwards). A backend
that is not given is skipped with a note.

Data: :func:`bench.scale.synthetic_panel` (zero-inflated negative-binomial counts with bursts,
seeded; custom region ids ``R00001`` …, which the store registers as custom regions on the
first ingest). Nothing is downloaded.

Medians over ``--repeats``; memory is the maximum. ``× sqlite`` is this backend's wall time /
SQLite's for the same step (> 1 = slower than SQLite). With ``--baseline old.json`` (a file
written by ``--out`` before a change) the table adds the baseline's wall and store times and
``× baseline`` / ``store × baseline`` = baseline / now (> 1 = faster now).

Usage::

    .venv/bin/python bench/store.py --help
    .venv/bin/python bench/store.py --quick
    .venv/bin/python bench/store.py --series 100 1000 10000 --months 300 --repeats 1 \\
        --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres --out after.json \\
        --baseline before.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import tables  # noqa: E402

log = logging.getLogger("bench.store")

URL_VARIABLE = "RISKCAST_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")
STEPS = ("first", "again", "revise", "load", "load1")
INGEST_STEPS = frozenset({"first", "again", "revise"})


# --------------------------------------------------------------------------- data files


def write_files(n_series: int, n_months: int, revise: float, folder: Path, seed: int) -> int:
    """Write ``panel.csv`` and ``revised.csv`` (``revise`` of the values + 1); returns rows."""
    from bench.scale import synthetic_panel
    from riskcast.months import format_month

    panel = synthetic_panel(n_series, n_months, seed=seed)
    months = panel["month"].astype("category")
    panel["month"] = months.cat.rename_categories([format_month(m) for m in months.cat.categories])
    panel.to_csv(folder / "panel.csv", index=False)
    rng = np.random.default_rng([seed, 1])
    changed = rng.choice(len(panel), size=int(round(revise * len(panel))), replace=False)
    values = panel["value"].to_numpy().copy()
    values[changed] += 1.0
    panel.assign(value=values).to_csv(folder / "revised.csv", index=False)
    return len(panel)


# --------------------------------------------------------------------------- one step


@dataclass
class Measurement:
    """One step of one (N, backend, repeat) run, as the child process reports it."""

    n_series: int
    backend: str
    step: str
    repeat: int
    rows: int = 0
    wall_s: float = float("nan")
    store_s: float = float("nan")
    rss_mb: float = float("nan")
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def measure(args: argparse.Namespace) -> Measurement:
    """Run one step against the database at ``args.url`` in this process."""
    logging.basicConfig(level=logging.WARNING)
    from data.ingest import ingest_file
    from data.store import open_store

    result = Measurement(args.n, args.backend, args.step, args.repeat)
    store = open_store(args.url)
    try:
        if args.step in INGEST_STEPS:
            spent = [0.0]
            ingest = store.ingest

            def timed_ingest(*a: Any, **k: Any) -> Any:
                began = time.perf_counter()
                try:
                    return ingest(*a, **k)
                finally:
                    spent[0] += time.perf_counter() - began

            store.ingest = timed_ingest  # type: ignore[method-assign]
            path = Path(args.folder) / ("revised.csv" if args.step == "revise" else "panel.csv")
            began = time.perf_counter()
            report = ingest_file(path, store=store, source_kind="panel_csv", allow_new_regions=True)
            result.wall_s = time.perf_counter() - began
            result.store_s = spent[0]
            result.rows = report.rows_added + report.rows_changed + report.rows_unchanged
            result.added, result.changed = report.rows_added, report.rows_changed
            result.unchanged = report.rows_unchanged
            result.extra["new_regions"] = len(report.new_regions)
        else:
            regions = None if args.step == "load" else [args.one_region]
            began = time.perf_counter()
            panel = store.load_panel(regions=regions)
            result.wall_s = time.perf_counter() - began
            result.rows = len(panel)
            result.extra["value_sum"] = float(panel["value"].sum())
    except Exception as exc:  # noqa: BLE001 - the table shows the failure, the run goes on
        result.error = f"{type(exc).__name__}: {exc}"[:300]
        log.exception("step failed")
    finally:
        store.close()
    result.rss_mb = peak_rss_mb()
    return result


def peak_rss_mb() -> float:
    """This process's peak resident set size, MB.

    ``VmHWM`` where Linux has it: ``ru_maxrss`` carries over the parent's size from the fork
    that started this interpreter, so a small step run from a large parent would be charged
    the parent's memory.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def expected_problem(m: Measurement, total: int, n_series: int, n_months: int, revised: int) -> str:
    """What is wrong with a step's counts, or '' (the benchmark checks the store's semantics)."""
    want = {
        "first": (total, 0, 0),
        "again": (0, 0, total),
        "revise": (0, revised, total - revised),
    }.get(m.step)
    if want is not None and (m.added, m.changed, m.unchanged) != want:
        return f"added/changed/unchanged {m.added}/{m.changed}/{m.unchanged}, expected {want}"
    rows = {"load": total, "load1": n_months}.get(m.step)
    if rows is not None and m.rows != rows:
        return f"read {m.rows} rows, expected {rows}"
    return ""


# --------------------------------------------------------------------------- backends


class Database:
    """A fresh database for one run: a SQLite file, or a PostgreSQL schema dropped at close."""

    def __init__(self, backend: str, folder: Path, postgres_url: str | None) -> None:
        self.backend = backend
        self._admin: Any = None
        if backend == "sqlite":
            self.url = f"sqlite:///{folder / f'store-{uuid.uuid4().hex[:8]}.db'}"
            return
        import sqlalchemy as sa

        self.schema = f"riskcast_bench_{uuid.uuid4().hex[:10]}"
        self._admin = sa.create_engine(str(postgres_url), connect_args={"connect_timeout": 5})
        with self._admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
        separator = "&" if "?" in str(postgres_url) else "?"
        self.url = f"{postgres_url}{separator}options={quote(f'-csearch_path={self.schema}')}"

    def size_mb(self) -> float:
        """Bytes on disk of the store (SQLite file + WAL, or the schema's relations)."""
        if self.backend == "sqlite":
            path = Path(self.url.removeprefix("sqlite:///"))
            parts = [path, path.with_name(path.name + "-wal")]
            return sum(p.stat().st_size for p in parts if p.exists()) / 2**20
        import sqlalchemy as sa

        query = sa.text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relkind = 'r'"
        )
        with self._admin.connect() as conn:
            return float(conn.execute(query, {"schema": self.schema}).scalar()) / 2**20

    def close(self) -> None:
        """Drop the PostgreSQL schema (the SQLite file goes with the temporary folder)."""
        if self._admin is None:
            return
        import sqlalchemy as sa

        with self._admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        self._admin.dispose()


def check_postgres(url: str) -> str:
    """'' when the server answers, else why not."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - reported to the user as is
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return ""


# --------------------------------------------------------------------------- orchestration


def run_child(args: argparse.Namespace, **step: Any) -> Measurement:
    """One step in a fresh interpreter; a crash or timeout becomes an error row."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child"]
    for key, value in step.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    env = {**os.environ, "RISKCAST_HOME": str(Path(step["folder"]) / "home")}
    base = Measurement(step["n"], step["backend"], step["step"], step["repeat"])
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=args.timeout, check=False, env=env
        )
    except subprocess.TimeoutExpired:
        base.error = f"timeout after {args.timeout} s"
        return base
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        base.error = f"exit {done.returncode}: " + (done.stderr.strip().splitlines() or ["-"])[-1]
        return base
    return Measurement(**json.loads(lines[-1]))


def run_size(args: argparse.Namespace, n: int, backends: list[str], folder: Path):
    """Every backend × repeat × step for N series; yields measurements as they finish."""
    began = time.perf_counter()
    total = write_files(n, args.months, args.revise, folder, args.seed)
    revised = int(round(args.revise * total))
    print(
        f"N={n:,}: {total:,} rows written to CSV in {time.perf_counter() - began:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    from bench.scale import region_ids

    one_region = region_ids(n)[n // 2]
    for backend in backends:
        for repeat in range(args.repeats):
            database = Database(backend, folder, args.postgres_url)
            try:
                for step in args.steps:
                    row = run_child(
                        args,
                        n=n,
                        backend=backend,
                        step=step,
                        repeat=repeat,
                        url=database.url,
                        folder=folder,
                        one_region=one_region,
                    )
                    row.error = row.error or expected_problem(row, total, n, args.months, revised)
                    if step in INGEST_STEPS:
                        row.extra["db_mb"] = database.size_mb()
                    print(
                        f"  N={n:,} {backend} #{repeat} {step}: {row.wall_s:.2f} s "
                        f"(store {row.store_s:.2f} s), RSS {row.rss_mb:,.0f} MB"
                        + (f" ERROR {row.error}" if row.error else ""),
                        file=sys.stderr,
                        flush=True,
                    )
                    yield row
            finally:
                database.close()


def summarise(
    rows: list[Measurement], baseline: dict[tuple, dict[str, float]]
) -> list[dict[str, Any]]:
    """Medians over repeats, rows/s, the ratio to SQLite and to the baseline run."""
    table: list[dict[str, Any]] = []
    for key in dict.fromkeys((r.n_series, r.backend, r.step) for r in rows):
        group = [r for r in rows if (r.n_series, r.backend, r.step) == key]
        wall = tables.median([r.wall_s for r in group])
        rows_done = max(r.rows for r in group)
        table.append(
            {
                "series": key[0],
                "backend": key[1],
                "step": key[2],
                "repeats": len(group),
                "rows": rows_done,
                "wall_s": wall,
                "store_s": tables.median([r.store_s for r in group]),
                "rows_per_s": rows_done / wall if wall > 0 else float("nan"),
                "rss_mb": max(r.rss_mb for r in group),
                "written": (
                    f"{tables.median([r.added for r in group]):,.0f} / "
                    f"{tables.median([r.changed for r in group]):,.0f}"
                    if key[2] in INGEST_STEPS
                    else "–"
                ),
                "db_mb": tables.median([r.extra.get("db_mb", float("nan")) for r in group]),
                "baseline_s": baseline.get(key, {}).get("wall_s", float("nan")),
                "baseline_store_s": baseline.get(key, {}).get("store_s", float("nan")),
                "errors": sorted({r.error for r in group if r.error}),
            }
        )
    for entry in table:
        sqlite = next(
            (
                e["wall_s"]
                for e in table
                if (e["series"], e["backend"], e["step"])
                == (entry["series"], "sqlite", entry["step"])
            ),
            float("nan"),
        )
        entry["vs_sqlite"] = entry["wall_s"] / sqlite if sqlite > 0 else float("nan")
        for part in ("", "store_"):
            own = entry["wall_s" if not part else "store_s"]
            entry[f"vs_baseline{'_' + part[:-1] if part else ''}"] = (
                entry[f"baseline_{part}s"] / own if own > 0 else float("nan")
            )
    return table


def load_baseline(path: Path | None) -> dict[tuple, dict[str, float]]:
    """Median wall and store seconds per (N, backend, step) from a JSON file of ``--out``."""
    if path is None:
        return {}
    payload = json.loads(path.read_text())
    return {
        (e["series"], e["backend"], e["step"]): {"wall_s": e["wall_s"], "store_s": e["store_s"]}
        for e in payload["summary"]
    }


COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("series", "N", "{:,}"),
    ("backend", "backend", "{}"),
    ("step", "step", "{}"),
    ("rows", "rows", "{:,}"),
    ("wall_s", "wall s", "{:.2f}"),
    ("store_s", "store s", "{:.2f}"),
    ("rows_per_s", "rows/s", "{:,.0f}"),
    ("vs_sqlite", "× sqlite", "{:.2f}"),
    ("rss_mb", "RSS MB", "{:,.0f}"),
    ("written", "added / changed", "{}"),
    ("db_mb", "DB MB", "{:,.1f}"),
)
BASELINE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("baseline_s", "baseline s", "{:.2f}"),
    ("vs_baseline", "× baseline", "{:.2f}"),
    ("baseline_store_s", "baseline store s", "{:.2f}"),
    ("vs_baseline_store", "store × baseline", "{:.2f}"),
)


def table_rows(table: list[dict[str, Any]], with_baseline: bool):
    """Headers and formatted cells (errors last)."""
    return tables.table_rows(
        table, list(COLUMNS) + (list(BASELINE_COLUMNS) if with_baseline else [])
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description=(
            "Ingest (first, idempotent again, 10%% revised), load_panel and peak memory of the "
            "riskcast store for N synthetic series, on SQLite and PostgreSQL. Prints medians "
            "over repeats, rows/second and the ratio to SQLite (and to --baseline)."
        )
    )
    parser.add_argument(
        "--series", type=int, nargs="+", default=[100, 1000], metavar="N",
        help="numbers of synthetic series (default: 100 1000; 10000 = 3M rows at 300 months)",
    )  # fmt: skip
    parser.add_argument("--months", type=int, default=300, help="months per series (300)")
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="comma-separated: sqlite, postgresql (default both; postgresql needs a URL)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(URL_VARIABLE),
        help=f"PostgreSQL server (SQLAlchemy URL); default ${URL_VARIABLE}; each run uses a "
        "fresh schema, dropped afterwards",
    )
    parser.add_argument(
        "--steps", default=",".join(STEPS), help=f"steps to run, in order ({','.join(STEPS)})"
    )
    parser.add_argument("--revise", type=float, default=0.1, help="share of values revised (0.1)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per cell (3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data (0)")
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds before a step is abandoned"
    )
    parser.add_argument(
        "--workdir", type=Path, help="folder for CSV files and SQLite databases (default: temp)"
    )
    parser.add_argument(
        "--out", type=Path, help="also write the table: .md (markdown) or .json (raw + medians)"
    )
    parser.add_argument(
        "--baseline", type=Path, help="JSON from an earlier --out: adds 'baseline s', '× baseline'"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny run for CI: 10 series × 24 months, 1 repeat (keeps --backends)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--n", "--repeat"):
        parser.add_argument(hidden, type=int, default=0, help=argparse.SUPPRESS)
    for hidden in ("--backend", "--step", "--url", "--folder", "--one-region"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return args
    if args.quick:
        args.series, args.months, args.repeats = [10], 24, 1
    args.steps = [s.strip() for s in str(args.steps).split(",") if s.strip()]
    args.backend_list = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [s for s in args.steps if s not in STEPS]
    unknown += [b for b in args.backend_list if b not in BACKENDS]
    if unknown:
        parser.error(
            f"unknown name(s) {', '.join(unknown)}; steps: {', '.join(STEPS)}; "
            f"backends: {', '.join(BACKENDS)}"
        )
    if args.steps and args.steps[0] != "first":
        parser.error("the steps must start with 'first' (each run starts from an empty store)")
    if not 0 < args.revise < 1:
        parser.error("--revise must be between 0 and 1")
    if args.baseline is not None and not args.baseline.exists():
        parser.error(f"--baseline {args.baseline} does not exist")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run every cell, print the table, optionally write it."""
    args = parse_args(argv)
    if args.child:
        print(json.dumps(asdict(measure(args))))
        return 0
    backends = list(args.backend_list)
    if "postgresql" in backends:
        problem = "not given" if not args.postgres_url else check_postgres(args.postgres_url)
        if not args.postgres_url:
            print(
                f"postgresql skipped: no --postgres-url and ${URL_VARIABLE} unset",
                file=sys.stderr,
            )
            backends.remove("postgresql")
        elif problem:
            print(
                f"error: PostgreSQL at --postgres-url does not answer: {problem}", file=sys.stderr
            )
            return 2
    if not backends:
        print("error: no backend to measure", file=sys.stderr)
        return 2
    rows: list[Measurement] = []
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="riskcast-store-bench-") as tmp:
        for n in args.series:
            folder = Path(tmp) / f"n{n}"
            folder.mkdir()
            rows.extend(run_size(args, n, backends, folder))
    table = summarise(rows, load_baseline(args.baseline))
    headers, cells = table_rows(table, args.baseline is not None)
    title = (
        f"riskcast store bench: {args.months} months per series, {args.revise:.0%} revised, "
        f"{args.repeats} repeat(s), backends {', '.join(backends)}, {os.cpu_count()} CPU(s)"
    )
    print(title)
    print(tables.markdown(headers, cells))
    if args.out:
        tables.write_table(args.out, title, headers, cells, table, [asdict(r) for r in rows])
    return 0 if not any(r.error for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
