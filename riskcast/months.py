"""Calendar months: the one time unit of the panel.

In frames a month is a ``pandas.Period`` with monthly frequency; on disk, in CSV, JSON and
the database it is the string ``YYYY-MM``. These helpers are the only place that converts.
"""

from __future__ import annotations

import re

import pandas as pd

from riskcast.errors import InputError, shown

_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
EARLIEST_MONTH = "1900-01"
"""No panel, origin or filter month before this (year 0000 is not even a calendar year)."""


def parse_month(text: str | pd.Period, *, field: str = "month") -> pd.Period:
    """Parse ``YYYY-MM`` (or pass a Period through) into a monthly Period.

    Raises:
        InputError: naming ``field`` when the text is not a calendar month from
            :data:`EARLIEST_MONTH` on.
    """
    if isinstance(text, pd.Period):
        return text.asfreq("M")
    if not isinstance(text, str) or not _MONTH_RE.match(text.strip()):
        raise InputError(f"'{shown(text)}' is not a month written YYYY-MM", field=field)
    if text.strip() < EARLIEST_MONTH:
        raise InputError(f"month {text.strip()} is before {EARLIEST_MONTH}", field=field)
    return pd.Period(text.strip(), freq="M")


def format_month(month: pd.Period) -> str:
    """Write a monthly Period as ``YYYY-MM``."""
    return month.strftime("%Y-%m")


def month_range(start: pd.Period, end: pd.Period) -> pd.PeriodIndex:
    """All months from ``start`` to ``end`` inclusive."""
    return pd.period_range(start, end, freq="M")


def parse_month_span(text: str) -> list[pd.Period]:
    """Parse ``START:END[:STEP]`` (e.g. ``2016-12:2020-12:12``) into the list of months.

    Raises:
        InputError: when the span is malformed, empty or the step is not positive.
    """
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise InputError(f"'{text}' is not START:END[:STEP]", field="origins")
    start, end = parse_month(parts[0], field="origins"), parse_month(parts[1], field="origins")
    step = int(parts[2]) if len(parts) == 3 else 1
    if step < 1 or end < start:
        raise InputError(f"'{text}' names no month (end before start or step < 1)", field="origins")
    return list(month_range(start, end)[::step])
