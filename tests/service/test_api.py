"""The HTTP API against a real uvicorn server on 127.0.0.1: reads, writes, auth, bad input."""

from __future__ import annotations

import io
import json

import httpx
import pytest

from tests.service.conftest import AUTH, OTHER_KEY

ROWS = [
    {"region": "AA02", "month": "2022-01", "series": "fatalities", "value": 7},
    {"region": "AA03", "month": "2022-01", "series": "fatalities", "value": 0, "source": "x"},
]


def _count(store) -> int:
    return store.count()


@pytest.fixture
def api(store, serve) -> str:
    return serve(run_scheduler=False)


def test_health_reports_database_mlflow_and_scheduler(api: str) -> None:
    answer = httpx.get(f"{api}/health")
    assert answer.status_code == 200
    body = answer.json()
    assert body["database"]["ok"] is True
    assert body["mlflow"]["uri"].startswith("sqlite:///")
    assert body["scheduler"]["state"] == "off"
    assert {job["name"] for job in body["scheduler"]["jobs"]} == {"ingest", "weekly", "alerts"}


def test_regions_lists_registry_and_filters_to_regions_with_data(api: str) -> None:
    everything = httpx.get(f"{api}/regions").json()
    assert any(region["id"] == "ML05" for region in everything)  # default registry
    with_data = httpx.get(f"{api}/regions", params={"with_data": True}).json()
    assert {region["id"] for region in with_data} == {"AAA", "AA01", "AA02", "AA03", "AA04"}
    admin1 = httpx.get(f"{api}/regions", params={"level": "admin1"}).json()
    assert all(region["level"] == "admin1" for region in admin1)


def test_reads_before_the_first_refit_say_what_to_do(api: str) -> None:
    for path in ("/forecasts", "/risk"):
        answer = httpx.get(f"{api}{path}")
        assert answer.status_code == 404
        assert "weekly job" in answer.json()["detail"]
    assert httpx.get(f"{api}/alerts").json() == {"alerts": []}


def test_post_observations_json_is_stored(api: str, store) -> None:
    before = _count(store)
    answer = httpx.post(f"{api}/observations", json=ROWS, headers=AUTH)
    assert answer.status_code == 201, answer.text
    assert answer.json()["rows_added"] == 2
    assert _count(store) == before + 2
    panel = store.load_panel(regions=["AA02"], series=["fatalities"])
    assert panel.iloc[-1]["value"] == 7.0 and str(panel.iloc[-1]["month"]) == "2022-01"
    again = httpx.post(f"{api}/observations", json={"rows": ROWS}, headers=AUTH)
    assert again.status_code == 201 and again.json()["rows_added"] == 0  # idempotent


def test_post_observations_csv_body_and_multipart_upload(api: str, store) -> None:
    csv_text = "region,month,series,value\nAA01,2022-02,fatalities,3\n"
    body = httpx.post(
        f"{api}/observations",
        content=csv_text,
        headers={**AUTH, "Content-Type": "text/csv"},
    )
    assert body.status_code == 201, body.text
    upload = httpx.post(
        f"{api}/observations",
        files={
            "file": (
                "march.csv",
                io.BytesIO(b"region,month,series,value\nAA01,2022-03,fatalities,4\n"),
                "text/csv",
            )
        },
        headers=AUTH,
    )
    assert upload.status_code == 201, upload.text
    assert upload.json()["file"] == "march.csv"
    months = store.load_panel(regions=["AA01"], series=["fatalities"])["month"].astype(str)
    assert {"2022-02", "2022-03"} <= set(months)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
    ids=["missing", "wrong", "not-bearer"],
)
def test_writes_without_a_valid_key_are_401_and_change_nothing(
    api: str, store, headers: dict[str, str]
) -> None:
    before = _count(store)
    answer = httpx.post(f"{api}/observations", json=ROWS, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    job = httpx.post(f"{api}/jobs/weekly/run", headers=headers)
    assert job.status_code == 401
    assert _count(store) == before
    assert httpx.get(f"{api}/jobs").json()["runs"] == []


def test_any_configured_key_is_accepted(api: str) -> None:
    answer = httpx.post(
        f"{api}/observations", json=ROWS[:1], headers={"Authorization": f"Bearer {OTHER_KEY}"}
    )
    assert answer.status_code == 201


def test_no_keys_configured_refuses_writes(store, serve, monkeypatch) -> None:
    monkeypatch.setenv("RISKCAST_API_KEYS", "")
    url = serve(run_scheduler=False)
    answer = httpx.post(f"{url}/observations", json=ROWS, headers=AUTH)
    assert answer.status_code == 401
    assert "no API keys configured" in answer.json()["detail"]


def test_malformed_json_is_400_and_changes_nothing(api: str, store) -> None:
    before = _count(store)
    answer = httpx.post(
        f"{api}/observations",
        content=b'[{"region": "AA01", "month": ',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert "not valid JSON" in answer.json()["detail"]
    assert _count(store) == before


@pytest.mark.parametrize(
    ("rows", "field", "words"),
    [
        ([{**ROWS[0], "value": "many"}], "value", "value"),
        ([{**ROWS[0], "value": -3}], "value", "value"),
        ([{**ROWS[0], "month": "January"}], "month", "month"),
        ([{"region": "AA01", "month": "2022-01", "series": "fatalities"}], "value", "value"),
        (["not an object"], None, "expected an object"),
    ],
    ids=["text-value", "negative", "bad-month", "missing-column", "not-object"],
)
def test_wrong_types_are_422_naming_row_and_field(
    api: str, store, rows: list, field: str | None, words: str
) -> None:
    before = _count(store)
    answer = httpx.post(f"{api}/observations", json=[ROWS[1], *rows], headers=AUTH)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert words in body["detail"]
    assert body["file"] == "request body"
    if field:
        assert body["field"] == field
    assert body["row"] == 2  # the second row of the list, as a person counts
    assert _count(store) == before  # atomic: the valid first row was not stored either


def test_unknown_regions_are_422_and_named(api: str, store) -> None:
    before = _count(store)
    rows = [ROWS[0], {**ROWS[0], "region": "ZZ99"}, {**ROWS[0], "region": "Atlantis"}]
    answer = httpx.post(f"{api}/observations", json=rows, headers=AUTH)
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "'ZZ99' (row 2;" in detail and "'Atlantis' (row 3;" in detail
    assert _count(store) == before


def test_csv_errors_count_the_header_as_row_one(api: str) -> None:
    csv_text = "region,month,series,value\nAA01,2022-02,fatalities,3\nAA01,2022-03,fatalities,-1\n"
    answer = httpx.post(
        f"{api}/observations", content=csv_text, headers={**AUTH, "Content-Type": "text/csv"}
    )
    assert answer.status_code == 422
    assert answer.json()["row"] == 3 and answer.json()["field"] == "value"


def test_huge_bodies_are_413_declared_or_streamed(api: str, store) -> None:
    before = _count(store)
    big = b"[" + b" " * 5_100_000 + b"]"
    declared = httpx.post(
        f"{api}/observations", content=big, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert declared.status_code == 413

    def chunks():
        for _ in range(60):
            yield b" " * 100_000

    streamed = httpx.post(
        f"{api}/observations",
        content=chunks(),
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    assert _count(store) == before


def test_unsupported_content_type_and_empty_body(api: str) -> None:
    xml = httpx.post(
        f"{api}/observations", content=b"<rows/>", headers={**AUTH, "Content-Type": "text/xml"}
    )
    assert xml.status_code == 415
    empty = httpx.post(
        f"{api}/observations", content=b"", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert empty.status_code == 400


def test_bad_query_values_are_422(api: str) -> None:
    assert httpx.get(f"{api}/alerts", params={"state": "burning"}).status_code == 422
    assert httpx.get(f"{api}/forecasts", params={"origin": "2021-13"}).status_code == 422
    unknown = httpx.get(f"{api}/forecasts", params={"region": "ZZ99"})
    assert unknown.status_code == 422 and "ZZ99" in unknown.json()["detail"]
    assert httpx.get(f"{api}/forecasts", params={"format": "xml"}).status_code == 422


def test_unknown_job_is_404(api: str) -> None:
    answer = httpx.post(f"{api}/jobs/reboot/run", headers=AUTH)
    assert answer.status_code == 404 and "weekly" in answer.json()["detail"]


def test_openapi_docs_are_served(api: str) -> None:
    assert httpx.get(f"{api}/docs").status_code == 200
    spec = httpx.get(f"{api}/openapi.json").json()
    for path in (
        "/health",
        "/forecasts",
        "/risk",
        "/alerts",
        "/jobs",
        "/observations",
        "/jobs/{name}/run",
        "/bulletin",
        "/experiments",
        "/regions",
    ):
        assert path in spec["paths"], path
    content = spec["paths"]["/observations"]["post"]["requestBody"]["content"]
    assert {"application/json", "text/csv", "multipart/form-data"} <= set(content)
    assert json.dumps(spec)  # serialisable


def test_every_route_documents_what_it_answers(api: str) -> None:
    """Each operation's success answers carry a schema, and JSON ones a real object model."""
    spec = httpx.get(f"{api}/openapi.json").json()
    models = spec["components"]["schemas"]
    operations = [(p, m, op) for p, ops in spec["paths"].items() for m, op in ops.items()]
    assert len(operations) >= 12
    for path, method, operation in operations:
        success = {c: r for c, r in operation["responses"].items() if c.startswith("2")}
        assert success, (method, path)
        for code, answer in success.items():
            content = answer.get("content", {})
            assert content and all("schema" in body for body in content.values()), (path, code)
            schema = content.get("application/json", {}).get("schema")
            if schema is not None:  # a named model (or a list of one), never a bare "{}"
                named = schema.get("$ref") or schema.get("items", {}).get("$ref")
                assert named, (method, path, code, schema)
                assert models[named.rsplit("/", 1)[-1]]["properties"], (path, code)


def test_served_with_the_scheduler_health_and_jobs_show_it(store, serve, config_file) -> None:
    from tests.service.conftest import write_config

    write_config(config_file, "")
    config_file.write_text(config_file.read_text().replace("enabled = false", "enabled = true"))
    api = serve()
    health = httpx.get(f"{api}/health").json()
    assert health["scheduler"]["state"] == "running"
    schedule = {job["name"]: job for job in httpx.get(f"{api}/jobs").json()["schedule"]}
    assert set(schedule) == {"ingest", "weekly", "alerts"}
    assert (
        schedule["weekly"]["next_run_time"] and "day_of_week='mon'" in schedule["weekly"]["trigger"]
    )
