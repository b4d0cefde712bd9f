"""The bad-input corpus: one table of hostile and broken inputs, run against the real CLI
(``riskcast`` subprocesses) and the real API (uvicorn on 127.0.0.1) on one database.

Every case must be refused with exit code 2 (CLI) or a 4xx (API) naming the file, row or
field at fault; the store's row counts and a hash of all its rows must be exactly as they
were; no output anywhere may hold a traceback, and no answer may be a 500.
"""

from __future__ import annotations

import io
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.reliability.conftest import AUTH, Home, Server

HEADER = "region,month,series,value,source\n"
GOOD = "ML05,2020-01,fatalities,3,s\n"
MEGABYTE_ID = "A" * 1_000_000
MAX_MESSAGE = 4_000  # characters: a refusal names the problem, it does not echo the input


@dataclass(frozen=True)
class Case:
    """One bad CSV body: refused on both entry points, naming ``field`` on ``row``."""

    name: str
    body: bytes
    field: str | None = None
    row: int | None = None
    cli: bool = True  # also run through a `riskcast ingest` process (~2 s of CPU each)


def _csv(bad_line: str, *, header: str = HEADER) -> bytes:
    """The header, one good row (so a half-written ingest would show), then the bad row."""
    return (header + GOOD + bad_line + "\n").encode("utf-8")


CSV_CASES = [
    Case("script-region", _csv("<script>alert(1)</script>,2020-01,fatalities,1,s"), "region", 3),
    Case(
        "img-onerror-region",
        _csv('"<img src=x onerror=alert(1)>",2020-01,fatalities,1,s'),
        "region",
        3,
        cli=False,
    ),
    Case(
        "sql-region", _csv("ML05'; DROP TABLE observations;--,2020-01,fatalities,1,s"), "region", 3
    ),
    Case(
        "formula-region", _csv("=cmd|' /C calc'!A0,2020-01,fatalities,1,s"), "region", 3, cli=False
    ),
    Case("fullwidth-digits", _csv("ML０５,2020-01,fatalities,1,s"), "region", 3),
    Case("lowercase-id", _csv("ml05x,2020-01,fatalities,1,s"), "region", 3, cli=False),
    Case("unknown-wellformed-id", _csv("ZZ99,2020-01,fatalities,1,s"), "region", 3),
    Case("id-65-chars", _csv("A" * 65 + ",2020-01,fatalities,1,s"), "region", 3),
    Case("id-1-megabyte", _csv(MEGABYTE_ID + ",2020-01,fatalities,1,s"), "region", 3),
    Case("newline-in-id", _csv('"ML05\nX",2020-01,fatalities,1,s'), "region", 3),
    Case("blank-region", _csv(",2020-01,fatalities,1,s"), "region", 3, cli=False),
    Case("month-0000", _csv("ML05,0000-01,fatalities,1,s"), "month", 3),
    Case("month-1899", _csv("ML05,1899-12,fatalities,1,s"), "month", 3, cli=False),
    Case("month-13", _csv("ML05,2020-13,fatalities,1,s"), "month", 3, cli=False),
    Case("month-future", _csv("ML05,2999-01,fatalities,1,s"), "month", 3, cli=False),
    Case("month-words", _csv("ML05,January 2020,fatalities,1,s"), "month", 3, cli=False),
    Case("value-negative", _csv("ML05,2020-02,fatalities,-1,s"), "value", 3, cli=False),
    Case("value-1e308", _csv("ML05,2020-02,fatalities,1e308,s"), "value", 3),
    Case("value-over-max", _csv("ML05,2020-02,fatalities,10000001,s"), "value", 3, cli=False),
    Case("value-inf", _csv("ML05,2020-02,fatalities,inf,s"), "value", 3, cli=False),
    Case("value-nan", _csv("ML05,2020-02,fatalities,nan,s"), "value", 3, cli=False),
    Case("value-words", _csv("ML05,2020-02,fatalities,three,s"), "value", 3, cli=False),
    Case("value-5000-digits", _csv("ML05,2020-02,fatalities," + "9" * 5000 + ",s"), "value", 3),
    Case("value-formula", _csv("ML05,2020-02,fatalities,=1+1,s"), "value", 3, cli=False),
    Case("series-capitals", _csv("ML05,2020-02,Fatalities,1,s"), "series", 3, cli=False),
    Case("series-70-chars", _csv("ML05,2020-02," + "a" * 70 + ",1,s"), "series", 3),
    Case("source-300-chars", _csv("ML05,2020-02,fatalities,1," + "s" * 300), "source", 3),
    Case("source-formula", _csv("ML05,2020-02,fatalities,1,=cmd|' /C calc'!A0"), "source", 3),
    Case("source-at-formula", _csv("ML05,2020-02,fatalities,1,@SUM(1+1)"), "source", 3, cli=False),
    Case("duplicates-disagree", _csv("ML05,2020-01,fatalities,4,s"), "value", 3),
    Case(
        "latin1-unknown-name",
        (HEADER + GOOD + "Ségou,2020-02,fatalities,1,s\n").encode("latin-1"),
        "region",
        3,
    ),
    Case("header-only", HEADER.encode()),
    Case("missing-series-column", b"region,month,value\nML05,2020-01,3\n"),
    Case(
        "100k-columns",
        (",".join(f"c{i}" for i in range(100_000)) + "\n" + "1," * 99_999 + "1\n").encode(),
    ),
]

CLI_CASES = [case for case in CSV_CASES if case.cli]

JSON_CASES = [
    # (name, body, expected status, field, row)
    (
        "value-true",
        [{"region": "ML05", "month": "2020-02", "series": "fatalities", "value": True}],
        422,
        "value",
        1,
    ),
    (
        "value-string",
        [{"region": "ML05", "month": "2020-02", "series": "fatalities", "value": "3"}],
        422,
        "value",
        1,
    ),
    (
        "value-null",
        [{"region": "ML05", "month": "2020-02", "series": "fatalities", "value": None}],
        422,
        "value",
        1,
    ),
    (
        "value-object",
        [{"region": "ML05", "month": "2020-02", "series": "fatalities", "value": {"a": [1]}}],
        422,
        "value",
        1,
    ),
    (
        "value-1e308",
        [{"region": "ML05", "month": "2020-02", "series": "fatalities", "value": 1e308}],
        422,
        "value",
        1,
    ),
    (
        "value-negative",
        [{"region": "ML05", "month": "2020-02", "series": "fatalities", "value": -2}],
        422,
        "value",
        1,
    ),
    (
        "region-null",
        [{"region": None, "month": "2020-02", "series": "fatalities", "value": 1}],
        422,
        "region",
        1,
    ),
    (
        "region-number",
        [{"region": 5, "month": "2020-02", "series": "fatalities", "value": 1}],
        422,
        "region",
        1,
    ),
    (
        "region-bool",
        [{"region": True, "month": "2020-02", "series": "fatalities", "value": 1}],
        422,
        "region",
        1,
    ),
    (
        "region-script",
        [
            {
                "region": "<script>alert(1)</script>",
                "month": "2020-02",
                "series": "fatalities",
                "value": 1,
            }
        ],
        422,
        "region",
        1,
    ),
    (
        "region-65-chars",
        [{"region": "B" * 65, "month": "2020-02", "series": "fatalities", "value": 1}],
        422,
        "region",
        1,
    ),
    (
        "region-1-megabyte",
        [{"region": MEGABYTE_ID, "month": "2020-02", "series": "fatalities", "value": 1}],
        422,
        "region",
        1,
    ),
    (
        "month-number",
        [{"region": "ML05", "month": 202002, "series": "fatalities", "value": 1}],
        422,
        "month",
        1,
    ),
    (
        "month-0000",
        [{"region": "ML05", "month": "0000-01", "series": "fatalities", "value": 1}],
        422,
        "month",
        1,
    ),
    (
        "series-list",
        [{"region": "ML05", "month": "2020-02", "series": ["fatalities"], "value": 1}],
        422,
        "series",
        1,
    ),
    (
        "source-list",
        [
            {
                "region": "ML05",
                "month": "2020-02",
                "series": "fatalities",
                "value": 1,
                "source": ["x"],
            }
        ],
        422,
        "source",
        1,
    ),
    (
        "missing-value",
        [{"region": "ML05", "month": "2020-02", "series": "fatalities"}],
        422,
        "value",
        None,
    ),
    (
        "unknown-key",
        [{"region": "ML05", "month": "2020-02", "series": "fatalities", "value": 1, "evil": 1}],
        422,
        "evil",
        None,
    ),
    ("row-not-object", [1, 2], 422, None, 1),
    ("empty-list", [], 422, "rows", None),
    ("object-without-rows", {"data": []}, 422, "rows", None),
    (
        "good-then-bad-row",
        [
            {"region": "ML05", "month": "2020-02", "series": "fatalities", "value": 1},
            {"region": "ML05", "month": "2020-03", "series": "fatalities", "value": -1},
        ],
        422,
        "value",
        2,
    ),
]

RAW_JSON_CASES = [
    # (name, raw body, expected status): bodies json.dumps cannot write
    (
        "integer-5000-digits",
        b'[{"region":"ML05","month":"2020-02","series":"fatalities","value":' + b"9" * 5000 + b"}]",
        400,
    ),
    (
        "float-1e400",
        b'[{"region":"ML05","month":"2020-02","series":"fatalities","value":1e400}]',
        422,
    ),
    (
        "nan-literal",
        b'[{"region":"ML05","month":"2020-02","series":"fatalities","value":NaN}]',
        422,
    ),
    ("arrays-100k-deep", b"[" * 100_000 + b"]" * 100_000, 400),
    ("objects-100k-deep", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, 400),
    ("truncated", b'[{"region":"ML05"', 400),
    ("not-utf8", b'[{"region":"\xff\xfe"}]', 400),
]

GET_CASES = [
    # (name, path, expected status, field)
    ("forecast-origin-0000", "/forecasts?origin=0000-01", 422, "origin"),
    ("forecast-origin-13", "/forecasts?origin=2020-13", 422, "origin"),
    ("forecast-origin-script", "/forecasts?origin=%3Cscript%3E", 422, "origin"),
    (
        "forecast-region-script",
        "/forecasts?region=%3Cscript%3Ealert(1)%3C/script%3E",
        422,
        "region",
    ),
    ("forecast-region-8k", "/forecasts?region=" + "A" * 8_000, 422, "region"),
    ("forecast-format-xml", "/forecasts?format=xml", 422, None),
    ("alerts-state-bogus", "/alerts?state=%3Cb%3E", 422, "state"),
    ("transitions-limit-0", "/alerts/transitions?limit=0", 422, None),
    ("jobs-limit-huge", "/jobs?limit=100000", 422, None),
    ("regions-level-planet", "/regions?level=planet", 422, None),
    ("job-run-unknown", "/jobs/runs/" + "f" * 500, 404, None),
]


def _check_unchanged(home: Home, baseline: tuple[dict[str, int], str], case: str) -> None:
    counts, digest = home.snapshot()
    assert counts == baseline[0], f"{case}: row counts changed {baseline[0]} → {counts}"
    assert digest == baseline[1], f"{case}: stored rows changed"


def _check_answer(answer: httpx.Response, status: int, field: str | None, row: int | None) -> None:
    assert answer.status_code == status, answer.text[:500]
    assert len(answer.text) < MAX_MESSAGE, f"{len(answer.text)} characters echoed"
    assert "Traceback" not in answer.text
    body = answer.json()
    assert body["detail"]
    if field is not None:
        assert body.get("field") == field or f"'{field}'" in body["detail"], body
    if row is not None:
        assert body.get("row") == row, body


@pytest.fixture(scope="module")
def baseline(home: Home) -> tuple[dict[str, int], str]:
    counts, digest = home.snapshot()
    assert counts["observations"] == 300 and counts["ingests"] == 1
    return counts, digest


@pytest.mark.parametrize("case", CSV_CASES, ids=[c.name for c in CSV_CASES])
def test_csv_case_is_refused_by_the_api(case: Case, server: Server, home: Home, baseline) -> None:
    answer = httpx.post(
        f"{server.url}/observations",
        content=case.body,
        headers={**AUTH, "Content-Type": "text/csv"},
        timeout=60,
    )
    assert 400 <= answer.status_code < 500, answer.text[:500]
    _check_answer(answer, answer.status_code, case.field, case.row)  # header = row 1 here too
    _check_unchanged(home, baseline, case.name)


@pytest.fixture(scope="module")
def cli_results(home: Home, baseline) -> dict[str, subprocess.CompletedProcess]:
    """Every CLI case run once, two ``riskcast`` processes at a time (each costs ~2 s of
    imports), then the store checked unchanged. A write by any case would also show in the
    ingest log under that case's file name."""
    jobs: dict[str, list[str]] = {}
    for case in CLI_CASES:
        path = home.path / f"{case.name}.csv"
        path.write_bytes(case.body)
        jobs[f"csv:{case.name}"] = ["ingest", str(path)]
    for name, args, _words in CLI_ONLY:
        folder = home.path / name
        folder.mkdir(exist_ok=True)
        jobs[f"only:{name}"] = args(folder)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {key: pool.submit(home.riskcast, *args) for key, args in jobs.items()}
        results = {key: future.result() for key, future in futures.items()}
    _check_unchanged(home, baseline, "the CLI cases")
    return results


@pytest.mark.slow
@pytest.mark.parametrize("case", CLI_CASES, ids=[c.name for c in CLI_CASES])
def test_csv_case_is_refused_by_the_cli(case: Case, home: Home, cli_results) -> None:
    result = cli_results[f"csv:{case.name}"]
    path = home.path / f"{case.name}.csv"
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-2000:]
    assert "Traceback" not in output
    assert len(output) < MAX_MESSAGE, f"{len(output)} characters echoed"
    assert str(path) in result.stderr
    if case.row is not None:
        assert f"row {case.row}" in result.stderr, result.stderr
    if case.field is not None:
        assert f"field '{case.field}'" in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("name", "rows", "status", "field", "row"), JSON_CASES, ids=[c[0] for c in JSON_CASES]
)
def test_json_case_is_refused(name, rows, status, field, row, server: Server, home: Home, baseline):
    answer = httpx.post(f"{server.url}/observations", json=rows, headers=AUTH, timeout=60)
    _check_answer(answer, status, field, row)
    _check_unchanged(home, baseline, name)


@pytest.mark.parametrize(
    ("name", "raw", "status"), RAW_JSON_CASES, ids=[c[0] for c in RAW_JSON_CASES]
)
def test_raw_json_case_is_refused(name, raw, status, server: Server, home: Home, baseline):
    answer = httpx.post(
        f"{server.url}/observations",
        content=raw,
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=60,
    )
    _check_answer(answer, status, None, None)
    _check_unchanged(home, baseline, name)


@pytest.mark.parametrize(
    ("name", "path", "status", "field"), GET_CASES, ids=[c[0] for c in GET_CASES]
)
def test_bad_query_is_refused(name, path, status, field, server: Server):
    answer = httpx.get(f"{server.url}{path}", timeout=30)
    _check_answer(answer, status, field, None)


def test_envelope_errors(server: Server, home: Home, baseline) -> None:
    """Bodies refused before parsing: too large, wrong type, empty, no key, wrong key."""
    url = f"{server.url}/observations"
    cases = [
        (
            httpx.post(url, content=b"x" * 5_000_001, headers={**AUTH, "Content-Type": "text/csv"}),
            413,
        ),
        (httpx.post(url, content=b"a,b", headers={**AUTH, "Content-Type": "text/plain"}), 415),
        (httpx.post(url, content=b"  ", headers={**AUTH, "Content-Type": "text/csv"}), 400),
        (httpx.post(url, content=_csv("ML05,2020-02,fatalities,1,s")), 401),
        (httpx.post(url, json=[], headers={"Authorization": "Bearer wrong"}), 401),
        (httpx.post(f"{server.url}/jobs/%3Cscript%3E/run", headers=AUTH), 404),
        (httpx.post(url, files={"upload": ("a.csv", b"x")}, headers=AUTH), 422),
    ]
    for answer, status in cases:
        assert answer.status_code == status, answer.text[:300]
        assert "Traceback" not in answer.text and len(answer.text) < MAX_MESSAGE
    _check_unchanged(home, baseline, "envelope")


def _zip_bomb(path: Path) -> Path:
    """A workbook-looking zip whose one member unpacks to 2 MB (the test config caps 1 MB)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 2_000_000)
    path.write_bytes(buffer.getvalue())
    return path


CLI_ONLY = [
    # (name, args builder, words the message must hold)
    ("missing-file", lambda d: ["ingest", str(d / "nope.csv")], "no such file"),
    ("empty-file", lambda d: ["ingest", str(_write(d / "empty.csv", b""))], "empty"),
    (
        "binary-file",
        lambda d: ["ingest", str(_write(d / "bin.csv", bytes(range(256)) * 8))],
        "binary",
    ),
    (
        "zip-bomb-xlsx",
        lambda d: ["ingest", str(_zip_bomb(d / "bomb.xlsx"))],
        "max_xlsx_unpacked_mb",
    ),
    (
        "unknown-source",
        lambda d: ["ingest", str(_write(d / "s.csv", _csv(GOOD.strip()))), "--source", "<x>"],
        "--source",
    ),
    (
        "until-0000",
        lambda d: ["ingest", str(_write(d / "u.csv", _csv(GOOD.strip()))), "--until", "0000-01"],
        "--until",
    ),
    (
        "export-unknown-region",
        lambda d: ["export", "--out", str(d / "o.csv"), "--region", "<script>"],
        "nothing stored",
    ),
    (
        "forecast-origin-0000",
        lambda d: ["forecast", "--origin", "0000-01", "--out", str(d / "f.csv")],
        "origin",
    ),
    ("unknown-option", lambda d: ["ingest", "--bogus"], "No such option"),
]


def _write(path: Path, body: bytes) -> Path:
    path.write_bytes(body)
    return path


@pytest.mark.slow
@pytest.mark.parametrize(("name", "args", "words"), CLI_ONLY, ids=[c[0] for c in CLI_ONLY])
def test_cli_only_case_exits_2(name, args, words, cli_results) -> None:
    result = cli_results[f"only:{name}"]
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-2000:]
    assert "Traceback" not in output
    assert words in result.stderr, result.stderr


def test_corpus_size_and_server_log(server: Server) -> None:
    """The corpus holds at least 60 bad inputs; the server logged no traceback or 500."""
    inputs = (
        len(CSV_CASES) + len(CLI_CASES) + len(JSON_CASES) + len(RAW_JSON_CASES) + len(GET_CASES)
    )
    assert inputs + 7 + len(CLI_ONLY) >= 60
    log = server.output()
    assert "Traceback" not in log and " 500 " not in log, log[-3000:]
