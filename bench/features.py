"""Benchmark: build_features for 100 regions × 300 months with every builder on.

Measures (wall clock, ``time.perf_counter``, median of ``--runs`` runs after one warm-up):

1. all 300 origins in one call (what a backtest does);
2. 12 origins in one call vs. the same 12 origins one call each on the panel cut at each
   origin (the naive per-origin baseline), side by side with their ratio;
3. the per-origin baseline extrapolated to all 300 origins, against (1).

Run: ``.venv/bin/python -m bench.features [--runs 5]`` (or ``python bench/features.py``).
Synthetic, seeded data: a 10 × 10 grid of regions (4-neighbour borders) under one country,
fatalities and aid diversion per region, peacekeeper casualties (all and malicious) per
country, one user event.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

if not __package__:  # run as a file: this file's folder would shadow the features package
    _here = Path(__file__).resolve().parent
    sys.path[:] = [str(_here.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _here]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from data.registry import Region, Registry  # noqa: E402
from features.build import build_features  # noqa: E402
from features.config import EventsConfig, EventSpec, FeatureConfig, feature_set_hash  # noqa: E402

SIDE = 10
N_MONTHS = 300
COUNTRY = "SYN"


def grid_registry() -> Registry:
    """A country with SIDE × SIDE regions, each bordering up to four others."""

    def rid(row: int, col: int) -> str:
        return f"R{row:02d}{col:02d}"

    regions = [Region(COUNTRY, "Synthetic country", "country", iso3=COUNTRY)]
    for row in range(SIDE):
        for col in range(SIDE):
            steps = ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1))
            neighbours = tuple(rid(r, c) for r, c in steps if 0 <= r < SIDE and 0 <= c < SIDE)
            regions.append(
                Region(rid(row, col), rid(row, col), "admin1", COUNTRY, COUNTRY, neighbours)
            )
    return Registry(regions)


def grid_panel(registry: Registry, seed: int = 0) -> pd.DataFrame:
    """Zero-inflated negative-binomial counts per region and month, long format."""
    rng = np.random.default_rng(seed)
    months = pd.period_range("1997-01", periods=N_MONTHS, freq="M")
    admin1 = [region.id for region in registry if region.level == "admin1"]
    frames = []
    for region in admin1:
        mean = rng.gamma(0.5, 10.0) * (rng.random(N_MONTHS) < 0.4)
        fatalities = rng.negative_binomial(2, 2 / (2 + mean + 1e-9)).astype(float)
        aid = rng.poisson(0.05 * fatalities).astype(float)
        for series, values in (("fatalities", fatalities), ("aid_diversion", aid)):
            frames.append(
                pd.DataFrame({"region": region, "month": months, "series": series, "value": values})
            )
    for series in ("peacekeeper_casualties", "peacekeeper_casualties_malicious"):
        values = rng.poisson(1.0, N_MONTHS).astype(float)
        frames.append(
            pd.DataFrame({"region": COUNTRY, "month": months, "series": series, "value": values})
        )
    panel = pd.concat(frames, ignore_index=True).assign(source="synthetic-bench")
    panel["month"] = panel["month"].astype("period[M]")
    return panel


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    """Median wall time of ``runs`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    registry = grid_registry()
    panel = grid_panel(registry)
    config = FeatureConfig(
        events=EventsConfig(
            list=(EventSpec(name="offensive", region=COUNTRY, start="2005-01", kind="decay"),)
        )
    )
    months = sorted(panel["month"].unique())
    twelve = months[-12:]
    regions = sorted(panel.loc[panel["series"] == "fatalities", "region"].unique())

    def all_origins() -> pd.DataFrame:
        return build_features(panel, registry, config, regions=regions)

    def twelve_at_once() -> pd.DataFrame:
        return build_features(panel, registry, config, origins=twelve, regions=regions)

    def twelve_one_by_one() -> list[pd.DataFrame]:
        return [
            build_features(
                panel[panel["month"] <= origin], registry, config, origins=[origin], regions=regions
            )
            for origin in twelve
        ]

    shape = all_origins().shape
    t_all = median_seconds(all_origins, args.runs)
    t_twelve = median_seconds(twelve_at_once, args.runs)
    t_naive = median_seconds(twelve_one_by_one, args.runs)
    per_origin = t_naive / len(twelve)

    print(
        f"feature set {feature_set_hash(config)}: {len(regions)} regions × {N_MONTHS} months, "
        f"{shape[1] - 2} features, {shape[0]} rows; median of {args.runs} runs"
    )
    print(f"{'case':<44}{'vectorised s':>14}{'per-origin s':>14}{'ratio':>8}")
    print(f"{'all 300 origins (one call)':<44}{t_all:>14.3f}{'':>14}{'':>8}")
    print(
        f"{'12 origins: one call vs one call each':<44}{t_twelve:>14.3f}{t_naive:>14.3f}"
        f"{t_naive / t_twelve:>7.1f}x"
    )
    print(
        f"{'300 origins: one call vs per-origin (extrap.)':<44}{t_all:>14.3f}"
        f"{per_origin * N_MONTHS:>14.3f}{per_origin * N_MONTHS / t_all:>7.1f}x"
    )


if __name__ == "__main__":
    main()
