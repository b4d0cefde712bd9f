"""Identities that make runs comparable: data fingerprint, code version, origin/region sets.

Two backtests may be ranked against each other only when they scored the same data (same
fingerprint), on the same origins and regions. These hashes are stored as run tags so the
comparison can check them without downloading anything.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import subprocess
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from riskcast.months import format_month

log = logging.getLogger(__name__)

SYNTHETIC_SOURCE = "synthetic-demo"
_REPO = Path(__file__).resolve().parents[1]


def _month_text(value: Any) -> str:
    return format_month(value) if isinstance(value, pd.Period) else str(value)


def data_fingerprint(panel: pd.DataFrame) -> str:
    """sha256 of the panel rows ``(region, month, series, value)``, sorted, as hex.

    ``source`` is left out on purpose: the same numbers re-ingested from another file are the
    same data for scoring. Row order never matters.
    """
    if panel.empty:
        return hashlib.sha256(b"empty-panel").hexdigest()
    rows = pd.DataFrame(
        {
            "region": panel["region"].astype(str),
            "month": panel["month"].map(_month_text),
            "series": panel["series"].astype(str),
            "value": panel["value"].astype(float).map(repr),
        }
    ).sort_values(["series", "region", "month", "value"], kind="mergesort")
    text = rows.to_csv(index=False, header=False, lineterminator="\n")
    return hashlib.sha256(text.encode()).hexdigest()


def is_synthetic(panel: pd.DataFrame) -> bool:
    """True when any row comes from the generated demo panel (``source == synthetic-demo``)."""
    return "source" in panel and bool((panel["source"] == SYNTHETIC_SOURCE).any())


def set_hash(items: Iterable[Any]) -> str:
    """A short stable hash of a set of months or region ids (order and duplicates ignored)."""
    text = "\n".join(sorted({_month_text(item) for item in items}))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def dict_hash(values: Mapping[str, Any]) -> str:
    """A short stable hash of a JSON-able mapping (e.g. model options)."""
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """``git describe --always --dirty`` of the checkout, else the installed package version."""
    if (_REPO / ".git").exists():
        try:
            done = subprocess.run(
                ["git", "describe", "--always", "--dirty", "--tags"],
                cwd=_REPO,
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            )
            return f"git:{done.stdout.strip()}"
        except (OSError, subprocess.SubprocessError) as exc:
            log.debug("git describe failed (%s); using the package version", exc)
    try:
        return f"riskcast=={metadata.version('riskcast')}"
    except metadata.PackageNotFoundError:
        return "unknown"
