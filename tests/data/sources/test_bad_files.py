"""Garbage in: every parser answers an empty, binary or header-only file with InputError."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.sources import acled, awsd, osac, ucdp, un_peacekeeping
from riskcast.errors import InputError
from tests.data.sources.helpers import options, resolver

PARSERS = [
    ucdp.GED.parse,
    ucdp.COUNTRY_MONTH.parse,
    acled.EVENTS.parse,
    un_peacekeeping.parse,
    awsd.parse,
    osac.parse,
]


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\xfd", "not a UTF-8 text file"),
        (b"date_start,adm_1,best,country\n", "no data rows"),
    ],
)
def test_garbage_files_are_input_errors(
    tmp_path: Path, parse: object, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        parse(path, resolver(), options())  # type: ignore[operator]
    assert caught.value.file == "bad.csv"


def test_garbage_workbook_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(InputError, match="cannot read the workbook"):
        acled.ADMIN2.parse(path, resolver(), options())
