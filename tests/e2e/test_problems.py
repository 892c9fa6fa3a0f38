"""However malformed the input, the answer is a problem+json 4xx, never a 500."""

import base64
import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.e2e.conftest import auth

NEW_CASE = {"customer": {"name": "Carla Diaz"}, "subject": "Pending charge"}


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "code"} <= body.keys()
    assert body["status"] == status
    return body


def fields_of(problem: dict[str, Any]) -> list[str]:
    return [e["field"] for e in problem["errors"]]


def cursor_of(position: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


@pytest.fixture
def case(client: TestClient) -> dict[str, Any]:
    answer: dict[str, Any] = client.post("/v1/cases", json=NEW_CASE, headers=auth("dana")).json()
    return answer


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "S"}, "customer"),
        ({**NEW_CASE, "customer": {"name": 7}}, "customer.name"),
        ({**NEW_CASE, "customer": {"name": "A", "age": 3}}, "customer.age"),
        ({**NEW_CASE, "subject": "x" * 301}, "subject"),
        ({**NEW_CASE, "description": "x" * 10_001}, "description"),
        ({**NEW_CASE, "subject": "nul \x00 inside"}, "subject"),
        ({**NEW_CASE, "subject": "lone \ud800 surrogate"}, "subject"),
        ({**NEW_CASE, "priority": "whenever"}, "priority"),
        ({**NEW_CASE, "participants": ["no spaces allowed"]}, "participants.0"),
        ({**NEW_CASE, "participants": "firstbank"}, "participants"),
        ([1, 2, 3], "body"),
        ({**NEW_CASE, "subject": " "}, "subject"),
    ],
)
def test_invalid_bodies_name_the_offending_field(
    client: TestClient, body: object, field: str
) -> None:
    raw = json.dumps(body).encode()  # keeps a lone surrogate as its \\ud800 escape
    answer = client.post(
        "/v1/cases",
        content=raw,
        headers=auth("dana") | {"Content-Type": "application/json"},
    )
    assert field in fields_of(problem_of(answer, 422))


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"subject": "\xff\xfe"}', b"[" * 100_000, b"", b"null"],
    ids=["invalid", "bad-utf8", "deep", "empty", "null"],
)
def test_bodies_that_are_not_json_objects_are_refused(client: TestClient, raw: bytes) -> None:
    answer = client.post(
        "/v1/cases", content=raw, headers=auth("dana") | {"Content-Type": "application/json"}
    )
    assert answer.status_code in (400, 422)
    problem_of(answer, answer.status_code)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1000000000000000000000000", "limit"),
        ("limit=ten", "limit"),
        ("cursor=%%%", "cursor"),
        ("cursor=bm90IGpzb24", "cursor"),
        (f"cursor={cursor_of({'after': 'x'})}", "cursor"),
        (f"cursor={cursor_of({'after': 10**30})}", "cursor"),
        (f"cursor={cursor_of({'before': 1})}", "cursor"),
        ("state=lost", "state"),
        ("owner_org=" + "x" * 65, "owner_org"),
    ],
)
def test_bad_list_parameters_are_invalid_input(client: TestClient, query: str, field: str) -> None:
    answer = client.get(f"/v1/cases?{query}", headers=auth("dana"))
    assert field in fields_of(problem_of(answer, 422))


@pytest.mark.parametrize(
    "at",
    ["yesterday", "2024-01-01T00:00:00", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"],
)
def test_bad_times_are_invalid_input(client: TestClient, case: dict[str, Any], at: str) -> None:
    answer = client.get(f"/v1/cases/{case['id']}/as-of", params={"at": at}, headers=auth("ada"))
    assert fields_of(problem_of(answer, 422)) == ["at"]
    search = client.get("/v1/audit/events", params={"from": at}, headers=auth("ada"))
    assert fields_of(problem_of(search, 422)) == ["from"]


def test_case_answers_carry_the_version_as_etag_and_if_match_guards_changes(
    client: TestClient, case: dict[str, Any]
) -> None:
    path = f"/v1/cases/{case['id']}"
    etag = client.get(path, headers=auth("dana")).headers["etag"]
    assert etag == f'"{case["version"]}"'
    note = {"text": "Called the customer back."}
    stale = {"If-Match": f'"{case["version"] - 1}"'}
    refused = problem_of(client.post(f"{path}/notes", json=note, headers=auth("dana") | stale), 412)
    assert refused["code"] == "version_conflict"
    done = client.post(f"{path}/notes", json=note, headers=auth("dana") | {"If-Match": etag})
    assert done.status_code == 200
    assert done.headers["etag"] == f'"{case["version"] + 1}"'
    for malformed in ("seven", '"7', "W/", '"-1"', '"99999999999999999999"', "1, 2"):
        answer = client.post(
            f"{path}/notes", json=note, headers=auth("dana") | {"If-Match": malformed}
        )
        assert fields_of(problem_of(answer, 422)) == ["if-match"], malformed
    anything = client.post(f"{path}/notes", json=note, headers=auth("dana") | {"If-Match": "*"})
    assert anything.status_code == 200


def test_a_body_that_breaks_the_schema_is_invalid_before_the_version_is_compared(
    client: TestClient, case: dict[str, Any]
) -> None:
    path = f"/v1/cases/{case['id']}/notes"
    stale = {"If-Match": f'"{case["version"] + 5}"'}
    for body in ({"text": ""}, {"text": "Noted.", "visibility": "everyone"}, {}):
        answer = client.post(path, json=body, headers=auth("dana") | stale)
        assert problem_of(answer, 422)["code"] == "validation_error", body
    malformed = client.post(path, json={"text": ""}, headers=auth("dana") | {"If-Match": "7"})
    assert sorted(fields_of(problem_of(malformed, 422))) == ["if-match", "text"]


def test_refusals_carry_their_details_as_members(client: TestClient, case: dict[str, Any]) -> None:
    answer = client.post(f"/v1/cases/{case['id']}/claim", json={}, headers=auth("dana"))
    refused = problem_of(answer, 409)
    assert refused["code"] == "invalid_transition"
    assert "propose_handoff" in refused["allowed_triggers"]
    assert refused["type"].endswith("invalid_transition")


def test_unauthenticated_requests_are_told_how_to_authenticate(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}):
        answer = client.get("/v1/cases", headers=headers)
        assert problem_of(answer, 401)["code"] == "unauthorized"
        assert answer.headers["www-authenticate"] == "Bearer"


def test_unknown_routes_and_methods_are_problems_too(client: TestClient) -> None:
    assert problem_of(client.get("/v1/nowhere", headers=auth("dana")), 404)["code"] == "not_found"
    wrong_method = client.delete("/v1/cases", headers=auth("dana"))
    assert problem_of(wrong_method, 405)["code"] == "method_not_allowed"


def test_a_body_of_another_media_type_is_invalid_input(client: TestClient) -> None:
    answer = client.post(
        "/v1/cases",
        content=json.dumps(NEW_CASE),
        headers=auth("dana") | {"Content-Type": "text/plain"},
    )
    problem_of(answer, 422)


def test_a_body_over_the_cap_is_refused_unread(client: TestClient) -> None:
    huge = json.dumps({**NEW_CASE, "description": "x" * 2_000_000})
    answer = client.post(
        "/v1/cases", content=huge, headers=auth("dana") | {"Content-Type": "application/json"}
    )
    assert problem_of(answer, 413)["code"] == "content_too_large"

    def chunks() -> Any:
        yield huge.encode()

    chunked = client.post(
        "/v1/cases", content=chunks(), headers=auth("dana") | {"Content-Type": "application/json"}
    )
    assert problem_of(chunked, 413)["code"] == "content_too_large"


def test_a_form_over_the_cap_is_answered_with_a_page_not_json(client: TestClient) -> None:
    pages = {
        "/ui/cases/anything/add_note": "/ui/cases/anything",
        "/c/any-link/reply": "/c/any-link",
    }
    for path, page in pages.items():
        answer = client.post(path, data={"text": "x" * 2_000_000})

        assert answer.status_code == 413
        assert answer.headers["content-type"].startswith("text/html")
        assert "larger than 1 MB, the most a form can carry" in answer.text
        assert f'<a href="{page}">Back to the page you came from</a>' in answer.text
