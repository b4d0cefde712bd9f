"""Observations posted to the API: parsed from JSON or CSV, then validated and stored exactly
as ``riskcast ingest`` does (``data.schema.validate_panel`` + ``Store.ingest``, one
transaction), so the HTTP path can accept nothing the CLI would refuse.

Accepted bodies:

* ``application/json``: a list of rows, or ``{"rows": [...]}``; each row an object with
  ``region``, ``month`` (``YYYY-MM``), ``series``, ``value`` and optionally ``source``.
* ``text/csv``: the same columns with a header line.
* ``multipart/form-data``: a CSV (or ``.json``) file in the form field ``file``.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, is_dataclass
from typing import Any

import pandas as pd

from riskcast.errors import InputError

REQUIRED = ("region", "month", "series", "value")
DEFAULT_SOURCE = "api"
BODY = "request body"


def rows_from_json(raw: bytes, *, file: str = BODY) -> pd.DataFrame:
    """Parse a JSON body into a raw frame (strings and numbers as sent).

    Raises:
        InputError: not JSON, not a list of objects, or a row that is not an object —
            naming the row (1-based, as a person counts rows of a list).
    """
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid JSON: {exc}", file=file) from exc
    if isinstance(document, dict):
        if "rows" not in document:
            raise InputError(
                "expected a list of rows or an object with a 'rows' list", file=file, field="rows"
            )
        document = document["rows"]
    if not isinstance(document, list):
        raise InputError("expected a list of rows", file=file, field="rows")
    if not document:
        raise InputError("no rows to ingest", file=file, field="rows")
    for number, row in enumerate(document, start=1):
        if not isinstance(row, dict):
            raise InputError(
                f"row is {type(row).__name__}, expected an object", file=file, row=number
            )
    return _complete(pd.DataFrame.from_records(document), file=file)


def rows_from_csv(raw: bytes, *, file: str = BODY) -> pd.DataFrame:
    """Parse a CSV body (header line first) into a raw frame of strings.

    Raises:
        InputError: undecodable or unparseable CSV, or no rows.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {exc}", file=file) from exc
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"not a readable CSV: {exc}", file=file) from exc
    if frame.empty:
        raise InputError("no rows to ingest", file=file)
    frame.columns = [str(column).strip() for column in frame.columns]
    return _complete(frame, file=file)


def _complete(frame: pd.DataFrame, *, file: str) -> pd.DataFrame:
    missing = [column for column in REQUIRED if column not in frame.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; expected {', '.join(REQUIRED)}"
            " (+ optional source)",
            file=file,
            field=missing[0],
        )
    extra = [c for c in frame.columns if c not in (*REQUIRED, "source")]
    if extra:
        raise InputError(f"unknown column(s) {', '.join(extra)}", file=file, field=extra[0])
    if "source" not in frame.columns:
        frame = frame.assign(source=DEFAULT_SOURCE)
    frame["source"] = frame["source"].replace("", DEFAULT_SOURCE).fillna(DEFAULT_SOURCE)
    return frame[[*REQUIRED, "source"]]


def check_regions(
    frame: pd.DataFrame, registry: Any, *, file: str = BODY, first_row: int = 2
) -> None:
    """Refuse region ids the registry does not know, naming them and their first rows.

    Stricter than a CLI plain-CSV ingest (which registers unknown ids as custom regions, a
    deliberate act by an operator): over HTTP an unknown id is far more often a typo.

    Raises:
        InputError: listing every unknown region with the first row it appears on.
    """
    unknown: dict[str, int] = {}
    for number, region in enumerate(frame["region"].astype(str).str.strip(), start=first_row):
        if region and region.lower() != "nan" and region not in registry and region not in unknown:
            unknown[region] = number
    if unknown:
        from data.names import NameResolver

        resolver = NameResolver(registry)
        listed = "; ".join(
            f"'{region}' (row {row}; closest: {', '.join(resolver.closest(region)) or 'none'})"
            for region, row in unknown.items()
        )
        raise InputError(
            f"unknown region(s) {listed}. Use region ids from GET /regions; the API does "
            "not create regions (a typo would silently become a new place)",
            file=file,
            row=next(iter(unknown.values())),
            field="region",
        )


def ingest_observations(
    store: Any, frame: pd.DataFrame, raw: bytes, *, file: str, first_row: int = 2
) -> dict:
    """Validate (the one panel validator) and store atomically; returns the ingest report.

    Args:
        store: the service store.
        frame: rows as parsed by :func:`rows_from_json` / :func:`rows_from_csv`.
        raw: the body as received (its hash identifies the ingest, as a file's would).
        file: name used in messages ("request body" or the upload's file name).
        first_row: how a person numbers the first data row: 2 in a CSV (header = row 1),
            1 in a JSON list.

    Raises:
        InputError: from validation, naming file, row and field; nothing is stored.
        StoreUnavailableError: database down or locked; nothing is stored.
    """
    from data.schema import validate_panel

    check_regions(frame, store.registry(), file=file, first_row=first_row)
    panel = validate_panel(frame, file=file, row_offset=first_row)
    report = store.ingest(panel, file=file, file_hash=hashlib.sha256(raw).hexdigest(), kind="api")
    if is_dataclass(report) and not isinstance(report, type):
        return asdict(report)
    return dict(report) if isinstance(report, dict) else {"report": str(report)}
