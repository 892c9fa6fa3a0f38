"""`Idempotency-Key`: a retry gets the first answer back and never acts twice."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from freezegun import freeze_time
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from api.routes import cases as cases_routes
from handoff.delivery import worker
from handoff.store import idempotency
from tests.e2e.conftest import auth
from tests.integration.world import World

NEW_CASE = {"customer": {"name": "Carla Diaz"}, "subject": "Pending charge on my card"}


def create(
    client: TestClient, key: str, body: object = NEW_CASE, who: str = "acme-crm"
) -> httpx.Response:
    return client.post("/v1/cases", json=body, headers=auth(who) | {"Idempotency-Key": key})


def cases_of_acme(client: TestClient) -> list[str]:
    return [c["id"] for c in client.get("/v1/cases", headers=auth("sam")).json()["items"]]


def test_twenty_retries_with_one_key_make_one_case_and_twenty_equal_answers(
    client: TestClient,
) -> None:
    answers = [create(client, "order-5521") for _ in range(20)]
    assert {a.status_code for a in answers} == {201}
    assert len({(a.content, a.headers["etag"], a.headers["location"]) for a in answers}) == 1
    assert "idempotent-replayed" not in answers[0].headers
    assert all(a.headers["idempotent-replayed"] == "true" for a in answers[1:])
    assert cases_of_acme(client) == [answers[0].json()["id"]]


def test_concurrent_retries_with_one_key_still_make_one_case(client: TestClient) -> None:
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: create(client, "burst"), range(20)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.content for a in answers}) == 1
    assert cases_of_acme(client) == [answers[0].json()["id"]]


def test_the_same_key_with_another_body_is_refused(client: TestClient) -> None:
    assert create(client, "k").status_code == 201
    other = create(client, "k", NEW_CASE | {"subject": "Something else"})
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["code"] == "idempotency_key_reused"
    elsewhere = client.post(
        "/v1/webhooks",
        json={"url": "https://acme.example/h"},
        headers=auth("acme-crm") | {"Idempotency-Key": "k"},
    )
    assert elsewhere.json()["code"] == "idempotency_key_reused"
    assert len(cases_of_acme(client)) == 1


def test_the_same_body_spelled_differently_is_a_retry(client: TestClient) -> None:
    first = create(client, "spacing")
    spaced = client.post(
        "/v1/cases",
        content=b'{ "subject": "Pending charge on my card",  "customer": {"name": "Carla Diaz"} }',
        headers=auth("acme-crm")
        | {"Idempotency-Key": "spacing", "Content-Type": "application/json"},
    )
    assert spaced.content == first.content


def test_keys_of_different_principals_never_meet(client: TestClient) -> None:
    ours, theirs = create(client, "same"), create(client, "same", who="dana")
    assert ours.json()["id"] != theirs.json()["id"]


def test_a_refused_action_is_replayed_rather_than_tried_again(client: TestClient) -> None:
    case = create(client, "c").json()
    claim = f"/v1/cases/{case['id']}/claim"
    first = client.post(claim, json={}, headers=auth("dana") | {"Idempotency-Key": "claim-1"})
    again = client.post(claim, json={}, headers=auth("dana") | {"Idempotency-Key": "claim-1"})
    fresh = client.post(claim, json={}, headers=auth("dana") | {"Idempotency-Key": "claim-2"})
    assert (first.status_code, again.status_code, fresh.status_code) == (200, 200, 409)
    assert again.content == first.content
    assert fresh.json()["code"] == "invalid_transition"


def test_a_malformed_key_is_invalid_input(client: TestClient) -> None:
    for key in (b"", b"has space", b"x" * 256, "ü".encode()):
        answer = client.post(
            "/v1/cases",
            json=NEW_CASE,
            headers=[(b"Authorization", b"Bearer tok-acme-crm"), (b"Idempotency-Key", key)],
        )
        assert (answer.status_code, answer.json()["code"]) == (422, "validation_error"), key
    assert cases_of_acme(client) == []


def test_a_key_is_kept_for_a_day_and_then_forgotten(client: TestClient, world: World) -> None:
    first = create(client, "daily")
    with freeze_time(datetime.now(UTC) + timedelta(hours=23), real_asyncio=True):
        assert create(client, "daily").content == first.content
    with freeze_time(datetime.now(UTC) + timedelta(hours=25), real_asyncio=True):
        assert worker.tick(world.db)["idempotency_keys_forgotten"] == 1
        assert stored_answers(world) == []
        later = create(client, "daily", NEW_CASE | {"subject": "Another charge"})
    assert later.status_code == 201
    assert later.json()["id"] != first.json()["id"]


def stored_answers(world: World) -> list[bytes]:
    with world.db.reading() as session:
        return [row.body or b"" for row in session.scalars(select(idempotency.IdempotencyKey))]


def test_a_new_token_is_shown_once_and_never_kept_for_a_replay(
    client: TestClient, world: World
) -> None:
    ask = {"kind": "agent", "id": "sam"}
    headers = auth("root") | {"Idempotency-Key": "token-for-sam"}
    first = client.post("/v1/credentials", json=ask, headers=headers)
    again = client.post("/v1/credentials", json=ask, headers=headers)
    token = first.json()["token"]
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.headers["cache-control"] == again.headers["cache-control"] == "no-store"
    assert again.json() == first.json() | {"token": None}
    assert not any(token.encode() in body for body in stored_answers(world))
    assert client.get("/v1/cases", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_new_webhook_secret_is_shown_once_and_never_kept_for_a_replay(
    client: TestClient, world: World
) -> None:
    ask = {"url": "https://acme.example/hooks"}
    headers = auth("acme-crm") | {"Idempotency-Key": "hook"}
    first = client.post("/v1/webhooks", json=ask, headers=headers)
    again = client.post("/v1/webhooks", json=ask, headers=headers)
    secret = first.json()["secret"]
    assert secret.startswith("whsec_")
    assert again.json() == first.json() | {"secret": None}
    assert not any(secret.encode() in body for body in stored_answers(world))


def events_of(client: TestClient, case_id: str) -> list[str]:
    answer = client.get(f"/v1/cases/{case_id}/events", headers=auth("dana")).json()
    return [e["type"] for e in answer["items"]]


def test_a_refusal_on_the_record_is_kept_with_its_event_and_replayed_not_recorded_again(
    client: TestClient,
) -> None:
    case = client.post("/v1/cases", json=NEW_CASE, headers=auth("dana")).json()
    note = {"text": "Please call your bank.", "visibility": "customer"}
    headers = auth("dana") | {"Idempotency-Key": "send-away"}
    first = client.post(f"/v1/cases/{case['id']}/notes", json=note, headers=headers)
    again = client.post(f"/v1/cases/{case['id']}/notes", json=note, headers=headers)
    assert (first.status_code, first.json()["code"]) == (409, "send_away_language")
    assert (again.status_code, again.content) == (409, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    assert events_of(client, case["id"]).count("refused") == 1


def test_a_request_that_fails_after_its_change_keeps_neither_the_change_nor_the_key(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the answer could not be made")

    with monkeypatch.context() as patched:
        patched.setattr(cases_routes, "case_answer", failing)
        broken = TestClient(client.app, raise_server_exceptions=False)
        assert create(broken, "fails-late").status_code == 500
    assert cases_of_acme(client) == []
    retried = create(client, "fails-late")
    assert (retried.status_code, "idempotent-replayed" in retried.headers) == (201, False)
    assert cases_of_acme(client) == [retried.json()["id"]]


def test_an_answer_that_cannot_be_kept_takes_its_change_back_with_it(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_gone(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("UPDATE idempotency_keys", {}, Exception("server closed"))

    with monkeypatch.context() as patched:
        patched.setattr(idempotency, "update", database_gone)
        lost = create(client, "unkept")
    assert (lost.status_code, lost.json()["code"]) == (503, "database_unavailable")
    assert cases_of_acme(client) == []
    assert create(client, "unkept").status_code == 201
    assert len(cases_of_acme(client)) == 1
