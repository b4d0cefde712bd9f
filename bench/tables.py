"""Tables the benchmark scripts print and write: one format for every bench.

Each script summarises its runs into rows of ``{column: value}`` (medians over repeats,
ratios against its baseline) and hands them here with its column specs, so every bench
prints and saves its numbers the same way (a markdown table, or JSON with the raw runs).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

Column = tuple[str, str, str]
"""(key in a summary row, header, format spec such as ``{:,.0f}``)."""


def median(values: list[float]) -> float:
    """Median of the finite values (NaN marks a step that did not run); NaN if none."""
    finite = [v for v in values if v == v]
    return statistics.median(finite) if finite else float("nan")


def cell(value: Any, spec: str) -> str:
    """One formatted cell; NaN shows as an en dash."""
    if isinstance(value, float) and value != value:
        return "–"
    return spec.format(value)


def table_rows(
    table: list[dict[str, Any]], columns: list[Column]
) -> tuple[list[str], list[list[str]]]:
    """Headers and formatted cells, with each row's ``errors`` as the last column."""
    headers = [title for _, title, _ in columns] + ["errors"]
    rows = [
        [cell(entry[key], spec) for key, _, spec in columns] + ["; ".join(entry["errors"])]
        for entry in table
    ]
    return headers, rows


def markdown(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def write_table(
    out: Path,
    title: str,
    headers: list[str],
    cells: list[list[str]],
    summary: list[dict[str, Any]],
    runs: list[dict[str, Any]],
) -> None:
    """Save the table: ``.json`` keeps the summary and every raw run, else markdown."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".json":
        payload = {"title": title, "summary": summary, "runs": runs}
        out.write_text(json.dumps(payload, indent=2, default=str))
    else:
        out.write_text(f"{title}\n\n{markdown(headers, cells)}\n")
    print(f"written: {out}")
