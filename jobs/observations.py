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

from riskcast.errors import InputError, shown

REQUIRED = ("region", "month", "series", "value")
DEFAULT_SOURCE = "api"
BODY = "request body"


class MalformedBodyError(InputError):
    """The body does not parse at all (as opposed to rows that parse but are wrong)."""


def rows_from_json(raw: bytes, *, file: str = BODY) -> pd.DataFrame:
    """Parse a JSON body into a raw frame (strings and numbers as sent).

    Types are strict: ``region``, ``month``, ``series`` and ``source`` must be strings and
    ``value`` a JSON number (``true`` or ``"3"`` are refused, not coerced).

    Raises:
        MalformedBodyError: not JSON (including integers over Python's 4,300-digit limit
            and nesting deeper than the parser's recursion limit).
        InputError: not a list of objects, or a row that is not an object or holds a wrong
            type — naming the row (1-based, as a person counts rows of a list) and the field.
    """
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # JSONDecodeError is a ValueError; so are over-long integers.
        raise MalformedBodyError(f"not valid JSON: {shown(exc)}", file=file) from None
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
            raise InputError(f"row is {_json_type(row)}, expected an object", file=file, row=number)
        _check_json_types(row, file=file, row=number)
    return _complete(pd.DataFrame.from_records(document), file=file)


def _json_type(value: object) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _check_json_types(fields: dict[str, Any], *, file: str, row: int) -> None:
    """Refuse wrong JSON types in one row instead of coercing them."""
    for field in (*REQUIRED, "source"):
        if field not in fields:
            continue
        value = fields[field]
        if field == "value":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if ok and isinstance(value, int):
                ok = abs(value) < 1e300  # a float can hold it
            expected = "a number"
        else:
            ok = isinstance(value, str) or (field == "source" and value is None)
            expected = "a string"
        if not ok:
            raise InputError(
                f"{field} is {_json_type(value)}, expected {expected}",
                file=file,
                row=row,
                field=field,
            )


def rows_from_csv(raw: bytes, *, file: str = BODY) -> pd.DataFrame:
    """Parse a CSV body (header line first) into a raw frame of strings.

    Text is UTF-8 (with or without BOM), else latin-1: the same rule as ``riskcast ingest``.

    Raises:
        InputError: unparseable CSV, or no rows.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # as riskcast ingest reads a file that is not UTF-8
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
        listed = ", ".join(shown(c) for c in extra[:12]) + (
            f", … ({len(extra)} unknown columns in all)" if len(extra) > 12 else ""
        )
        raise InputError(
            f"unknown column(s) {listed}; expected {', '.join(REQUIRED)} (+ optional source)",
            file=file,
            field=shown(extra[0]),
        )
    if "source" not in frame.columns:
        frame = frame.assign(source=DEFAULT_SOURCE)
    frame["source"] = frame["source"].replace("", DEFAULT_SOURCE).fillna(DEFAULT_SOURCE)
    return frame[[*REQUIRED, "source"]]


def ingest_observations(
    store: Any,
    frame: pd.DataFrame,
    raw: bytes,
    *,
    file: str,
    first_row: int = 2,
    allow_new_regions: bool = False,
) -> dict:
    """Validate (the one panel validator) and store atomically; returns the ingest report.

    Args:
        store: the service store.
        frame: rows as parsed by :func:`rows_from_json` / :func:`rows_from_csv`.
        raw: the body as received (its hash identifies the ingest, as a file's would).
        file: name used in messages ("request body" or the upload's file name).
        first_row: how a person numbers the first data row: 2 in a CSV (header = row 1),
            1 in a JSON list.
        allow_new_regions: ``?new_regions=true``: well-formed unknown ids become custom
            regions (:mod:`data.ids`, the same rule as ``riskcast ingest --new-regions``).

    Raises:
        InputError: from validation, naming file, row and field; nothing is stored.
        StoreUnavailableError: database down or locked; nothing is stored.
    """
    from data.ids import check_region_ids
    from data.schema import validate_panel

    check_region_ids(
        frame, store.registry(), file=file, first_row=first_row, allow_new=allow_new_regions
    )
    panel = validate_panel(frame, file=file, row_offset=first_row)
    report = store.ingest(panel, file=file, file_hash=hashlib.sha256(raw).hexdigest(), kind="api")
    if is_dataclass(report) and not isinstance(report, type):
        return asdict(report)
    return dict(report) if isinstance(report, dict) else {"report": str(report)}
