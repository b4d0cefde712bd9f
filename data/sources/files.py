"""Reading source files safely: empty, binary, truncated, oversized and unreadable files
become an :class:`~riskcast.errors.InputError` naming the file before any parser sees them.

The helpers every parser and :func:`data.sources.detect_kind` share (:func:`check_file`,
:func:`read_header`, :func:`read_csv_rows`, the xlsx and Parquet readers). A module of its
own so the parsers can import them while :mod:`data.sources` imports the parsers.
"""

from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from data.config import DEFAULT_MAX_XLSX_MB
from riskcast.errors import InputError

log = logging.getLogger("data.sources")

ROW_COLUMN = "_row"
XLSX_SHEET = "Data"
_LINE_RE = re.compile(r"\bline (\d+)")
PANEL_REQUIRED = ("region", "month", "series", "value")
_ZIP_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"
_SNIFF_BYTES = 8192


def is_xlsx(path: Path) -> bool:
    """True for an Excel workbook (by extension or by its zip signature)."""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        return True
    with path.open("rb") as handle:
        return handle.read(4) == _ZIP_MAGIC


def is_parquet(path: Path) -> bool:
    """True for an Apache Parquet file (its 4-byte signature), whatever its extension."""
    with path.open("rb") as handle:
        return handle.read(4) == _PARQUET_MAGIC


def read_parquet_rows(path: Path) -> pd.DataFrame:
    """A whole Parquet file, its index as columns, with ``_row`` = 1-based row number + 1
    (as if the file had a header row, like the CSV readers).

    Raises:
        InputError: naming the file when it is truncated or not readable Parquet.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        message = f"is not a readable Parquet file (truncated?): {exc}"
        raise InputError(message, file=str(path)) from None
    if any(name is not None for name in frame.index.names):
        frame = frame.reset_index()
    frame.columns = [str(c).strip() for c in frame.columns]
    frame[ROW_COLUMN] = range(2, len(frame) + 2)
    return frame


def check_file(path: Path, *, max_xlsx_unpacked_mb: float = DEFAULT_MAX_XLSX_MB) -> None:
    """Refuse missing, empty and binary (non-text, non-workbook, non-Parquet) files up front.

    ``max_xlsx_unpacked_mb`` is ``[data] max_xlsx_unpacked_mb`` (the ingest passes it).

    Raises:
        InputError: naming the file and what is wrong with it.
    """
    file = str(path)
    if not path.exists():
        raise InputError("no such file", file=file)
    if not path.is_file():
        raise InputError("is not a regular file", file=file)
    if path.stat().st_size == 0:
        raise InputError("the file is empty (0 bytes)", file=file)
    if is_xlsx(path):
        _check_unpacked_size(path, max_xlsx_unpacked_mb)
        return
    if is_parquet(path):
        return
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if b"\x00" in head or _control_ratio(head) > 0.05:
        raise InputError("is a binary file, not a CSV text file or an .xlsx workbook", file=file)


def _check_unpacked_size(path: Path, limit_mb: float) -> None:
    """Refuse a workbook whose members unpack to more than ``[data] max_xlsx_unpacked_mb``.

    openpyxl holds a sheet's XML in memory as it parses, so memory grows with the unpacked
    size: a 20 MB zip bomb would exhaust the machine. The zip directory states each
    member's size, so this costs no decompression (a member lying about its size fails
    inside openpyxl's own checks, reported as a malformed workbook).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        return  # not a readable zip: the reader reports it as a malformed workbook
    if unpacked > limit_mb * 1e6:
        raise InputError(
            f"the workbook unpacks to {unpacked / 1e6:,.0f} MB, more than the "
            f"{limit_mb:g} MB allowed ([data] max_xlsx_unpacked_mb)",
            file=str(path),
        )


def _control_ratio(head: bytes) -> float:
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    return control / max(len(head), 1)


def _encoding(path: Path) -> str:
    """utf-8 (with or without BOM) when the file decodes as such, else latin-1."""
    try:
        with path.open("r", encoding="utf-8-sig") as handle:
            while handle.read(1 << 20):
                pass
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "latin-1"


def read_header(path: Path) -> list[str]:
    """The column names of a CSV (first row) or of an xlsx workbook's ``Data`` sheet.

    Raises:
        InputError: naming the file when it is empty, binary, truncated or unreadable.
    """
    check_file(path)
    if is_xlsx(path):
        return [str(c) for c in read_xlsx(path, nrows=0).columns]
    if is_parquet(path):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return [str(c).strip() for c in pq.read_schema(path).names]
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"is not a readable Parquet file: {exc}", file=str(path)) from None
    try:
        header = pd.read_csv(path, nrows=0, encoding=_encoding(path))
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty (no header row)", file=str(path)) from None
    except pd.errors.ParserError as exc:
        raise _malformed(exc, str(path)) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"is not a readable CSV file: {exc}", file=str(path)) from None
    return [str(c).strip() for c in header.columns]


def _malformed(exc: Exception, file: str) -> InputError:
    """A pandas parser error as an InputError, with the file line where pandas names one."""
    text = str(exc).strip().splitlines()[-1]
    line = _LINE_RE.search(text)
    return InputError(
        f"is not a well-formed CSV file (truncated, or a stray quote or delimiter?): {text}",
        file=file,
        row=int(line.group(1)) if line else None,
    )


def read_xlsx(path: Path, *, sheet: str = XLSX_SHEET, **kwargs: Any) -> pd.DataFrame:
    """One sheet of a workbook (default ``Data``) with ``_row`` = the sheet's row number.

    Raises:
        InputError: naming the file (and the sheet) when the workbook is truncated, corrupt
            or has no such sheet.
    """
    try:
        frame = pd.read_excel(path, sheet_name=sheet, engine="openpyxl", **kwargs)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
        raise InputError(
            f"is not a readable .xlsx workbook (truncated or corrupt?): {exc}", file=str(path)
        ) from None
    except ValueError as exc:
        raise InputError(f"workbook has no sheet '{sheet}' ({exc})", file=str(path)) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame[ROW_COLUMN] = range(2, len(frame) + 2)
    return frame


def has_hxl_row(path: Path) -> bool:
    """True when the second row is an HXL hashtag row (``#date``, ``#adm1+name`` …)."""
    with path.open("r", encoding=_encoding(path), errors="replace") as handle:
        handle.readline()
        second = handle.readline()
    cells = [c.strip().strip('"') for c in second.split(",")]
    tagged = [c for c in cells if c]
    return bool(tagged) and sum(c.startswith("#") for c in tagged) >= max(1, len(tagged) // 2)


def read_csv_rows(path: Path, **kwargs: Any) -> pd.DataFrame:
    """Read a whole CSV with ``_row`` = each row's number in the file (header = 1).

    Drops an HXL hashtag row under the header (HDX exports). Header names are stripped.

    Raises:
        InputError: naming the file (and the line) when the CSV is malformed or truncated
            (e.g. a quote left open at the end of the file).
    """
    check_file(path)
    file = str(path)
    skip = [1] if has_hxl_row(path) else None
    try:
        frame = pd.read_csv(path, skiprows=skip, encoding=_encoding(path), **kwargs)
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty (no header row)", file=file) from None
    except pd.errors.ParserError as exc:
        raise _malformed(exc, file) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"is not a readable CSV file: {exc}", file=file) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    first = 3 if skip else 2
    frame[ROW_COLUMN] = range(first, first + len(frame))
    return frame
