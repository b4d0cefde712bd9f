"""Source kinds: which parser reads which file, and reading files safely.

Every kind of source file riskcast understands is one object with

* ``KIND: str`` — the stable name users pass to ``--source`` (``ucdp_ged``, ``panel_csv`` …);
* ``matches(path: Path, columns: set[str]) -> bool`` — does a file with this header belong
  to this kind (used by :func:`detect_kind` when ``--source`` is not given);
* ``parse(path: Path, resolver: NameResolver, options: SourceOptions) -> pd.DataFrame`` — a
  panel frame (region, month, series, value, source; optionally ``_row``, the file row of
  each frame row, for error messages) that :func:`data.schema.validate_panel` then checks.

A module with one kind is itself that object; a module with several kinds lists them in
``SOURCES`` (a tuple of objects with the three attributes). :data:`SOURCE_KINDS` maps each
kind name to its object, in detection order: the most specific header tests first, the
plain panel CSV last.

The file helpers here (:func:`check_file`, :func:`read_header`, :func:`read_csv_rows`)
turn empty, binary, truncated and unreadable files into an
:class:`~riskcast.errors.InputError` naming the file, before any parser sees them.
"""

from __future__ import annotations

import difflib
import logging
import re
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import pandas as pd

from riskcast.config import did_you_mean
from riskcast.errors import InputError

log = logging.getLogger(__name__)

ROW_COLUMN = "_row"
XLSX_SHEET = "Data"
_LINE_RE = re.compile(r"\bline (\d+)")
PANEL_REQUIRED = ("region", "month", "series", "value")
_ZIP_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"
_SNIFF_BYTES = 8192


class Source(Protocol):
    """One kind of source file (see the module docstring)."""

    KIND: str

    def matches(self, path: Path, columns: set[str]) -> bool:
        """True when a file with these header columns is of this kind."""

    def parse(self, path: Path, resolver: Any, options: Any) -> pd.DataFrame:
        """The file as a panel frame (before validation)."""


def get_source(kind: str) -> Source:
    """The source object of a kind name.

    Raises:
        InputError: naming the field ``source`` and the known kinds, with a "did you mean".
    """
    try:
        return SOURCE_KINDS[kind]
    except KeyError:
        known = list(SOURCE_KINDS)
        raise InputError(
            f"unknown source kind '{kind}'{did_you_mean(kind, known)}; known kinds: "
            f"{', '.join(known)}",
            field="source",
        ) from None


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


def check_file(path: Path) -> None:
    """Refuse missing, empty and binary (non-text, non-workbook, non-Parquet) files up front.

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
        _check_unpacked_size(path)
        return
    if is_parquet(path):
        return
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if b"\x00" in head or _control_ratio(head) > 0.05:
        raise InputError("is a binary file, not a CSV text file or an .xlsx workbook", file=file)


def _check_unpacked_size(path: Path) -> None:
    """Refuse a workbook whose members unpack to more than ``[data] max_xlsx_unpacked_mb``.

    openpyxl holds a sheet's XML in memory as it parses, so memory grows with the unpacked
    size: a 20 MB zip bomb would exhaust the machine. The zip directory states each
    member's size, so this costs no decompression (a member lying about its size fails
    inside openpyxl's own checks, reported as a malformed workbook).
    """
    from data.store import load_data_config

    limit_mb = load_data_config().max_xlsx_unpacked_mb
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


def _found_instead(column: str, found: list[str]) -> str:
    close = difflib.get_close_matches(column, [c.lower() for c in found], n=1, cutoff=0.6)
    return f" (found '{close[0]}': did you mean '{column}'?)" if close else ""


def detect_kind(path: Path) -> str:
    """The source kind of a file, from its header.

    Raises:
        InputError: naming the file when it is unreadable or no kind matches (with the
            columns found, and the panel columns that look misspelled).
    """
    path = Path(path)
    columns = read_header(path)
    found = set(columns)
    for kind, source in SOURCE_KINDS.items():
        if source.matches(path, found):
            return kind
    lowered = {c.lower() for c in columns}
    missing = [c for c in PANEL_REQUIRED if c not in lowered]
    looks_like_panel = len(missing) < len(PANEL_REQUIRED)
    hints = (
        "".join(f"; missing '{c}'{_found_instead(c, columns)}" for c in missing)
        if looks_like_panel
        else ""
    )
    raise InputError(
        "could not tell what kind of file this is from its columns "
        f"({', '.join(columns[:12])}{' …' if len(columns) > 12 else ''}). A plain panel needs "
        f"columns region, month, series, value[, source]{hints}. Or name the kind with "
        f"--source ({', '.join(SOURCE_KINDS)}).",
        file=str(path),
        row=1,
        field=missing[0] if looks_like_panel else None,
    )


# The parsers are imported after the file helpers above exist, because ``plain_csv`` takes
# them from this package (``from data.sources import read_csv_rows``).
from data.sources import (  # noqa: E402
    acled,
    awsd,
    osac,
    plain_csv,
    ucdp,
    un_peacekeeping,
    views_cm,
)

# Detection order: specific real-source layouts first, the generic panel CSV last.
_MODULES: tuple[ModuleType, ...] = (
    ucdp,
    acled,
    un_peacekeeping,
    awsd,
    osac,
    views_cm,
    plain_csv,
)


def _kinds_of(module: ModuleType) -> list[Source]:
    """The kinds a module provides: its ``SOURCES`` tuple, or the module itself."""
    return list(getattr(module, "SOURCES", None) or [module])


SOURCE_KINDS: dict[str, Source] = {
    source.KIND: source for module in _MODULES for source in _kinds_of(module)
}
