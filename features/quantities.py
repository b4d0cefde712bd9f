"""The small grammar of temporal quantities, shared by every feature family.

A *quantity* is one number per (month, region) computed from a region's own monthly series,
looking only backwards. Its name is also the suffix of the feature column, so a name read in
a column is a name that can be written in the config:

==================  ============================================================  =========
name                value at origin ``t`` (``y`` the monthly series)               example
==================  ============================================================  =========
``lag{K}``          ``y[t-K+1]`` — lags count back from the first forecast month  ``lag1``
                    ``t+1``, so ``lag1`` is the origin month's own value
``log1p_lag{K}``    ``log1p(y[t-K+1])``                                           ``log1p_lag3``
``roll{W}_{stat}``  ``stat`` of ``y[t-W+1..t]`` (stat: sum, mean, max, std        ``roll3_sum``
                    (sample, ddof=1)); NaN unless all ``W`` months are known
``growth{S}_{L}``   ``log1p(mean of last S) - log1p(mean of last L)``: > 0 when    ``growth3_12``
                    the recent level is above the longer baseline
``since_ge{K}``     months since the last month with ``y >= K`` (0 when the        ``since_ge25``
                    origin month itself has it); when no month has it yet, the
                    months since the series began (a lower bound)
``decay_hl{H}``     ``sum_j y[t-j] * 2**(-j/H)``: past violence decayed with a     ``decay_hl12``
                    half-life of ``H`` months; an unknown month adds nothing
==================  ============================================================  =========

Before a series' first known month every quantity is NaN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from features import decay, lags, since, windows

WINDOW_STATS = ("sum", "mean", "max", "std")

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("lag", re.compile(r"^lag([1-9]\d*)$")),
    ("log1p_lag", re.compile(r"^log1p_lag([1-9]\d*)$")),
    ("roll", re.compile(r"^roll([1-9]\d*)_(sum|mean|max|std)$")),
    ("growth", re.compile(r"^growth([1-9]\d*)_([1-9]\d*)$")),
    ("since_ge", re.compile(r"^since_ge(\d+)$")),
    ("decay_hl", re.compile(r"^decay_hl([1-9]\d*)$")),
)

EXAMPLES = "lag1, log1p_lag3, roll3_sum, roll12_mean, growth3_12, since_ge25, decay_hl12"


@dataclass(frozen=True)
class Quantity:
    """A parsed quantity name (see the module table)."""

    name: str
    kind: str
    args: tuple[str, ...]


def parse_quantity(name: str) -> Quantity:
    """Parse a quantity name.

    Raises:
        ValueError: naming the text and listing valid examples (pydantic turns it into a
            ConfigError naming the key).
    """
    for kind, pattern in _PATTERNS:
        match = pattern.match(name)
        if match:
            quantity = Quantity(name=name, kind=kind, args=match.groups())
            if kind == "growth" and int(quantity.args[0]) >= int(quantity.args[1]):
                raise ValueError(f"'{name}': the short window must come first (growth3_12)")
            return quantity
    raise ValueError(f"'{name}' is not a feature quantity; examples: {EXAMPLES}")


def compute(quantity: Quantity, values: np.ndarray, started: np.ndarray) -> np.ndarray:
    """One quantity over a month × region matrix.

    Args:
        quantity: what to compute.
        values: float matrix, shape (months, regions), NaN where a month is unknown.
        started: bool matrix of the same shape, True from each region's first known month.

    Returns:
        Float matrix of the same shape; row ``i`` uses only rows ``<= i`` of ``values``.
    """
    args = quantity.args
    if quantity.kind == "lag":
        return lags.lag(values, int(args[0]))
    if quantity.kind == "log1p_lag":
        return lags.log1p_lag(values, int(args[0]))
    if quantity.kind == "roll":
        return windows.rolling(values, int(args[0]), args[1])
    if quantity.kind == "growth":
        return windows.growth(values, int(args[0]), int(args[1]))
    if quantity.kind == "since_ge":
        return since.months_since_at_least(values, started, float(args[0]))
    if quantity.kind == "decay_hl":
        return decay.decayed_sum(values, started, float(args[0]))
    raise AssertionError(f"unhandled quantity kind {quantity.kind}")  # parse_quantity guards
