"""Guessing tokens gets slower (SPEC §14): past 20 tokens that were not valid from one address in
a minute, that address is answered 429 with Retry-After, on the API and on the sign-in page
alike, until its minute ends; every other address goes on as before."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from freezegun import freeze_time
from sqlalchemy import func, select

from api.app import create_app
from handoff.config import Settings
from handoff.delivery import worker
from handoff.store.db import Database
from handoff.store.models import TokenFailures
from handoff.store.sql import watching
from tests.e2e.conftest import auth
from tests.integration.world import World

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
GUESSER, OTHER = "203.0.113.7", "198.51.100.20"
ALLOWED = 20  # failed tokens a minute

From = Callable[..., TestClient]


@pytest.fixture
def from_address(client: TestClient) -> Iterator[From]:
    """A client of the same server whose requests come from `address`."""
    opened: list[TestClient] = []

    def open_from(address: str, app: FastAPI | None = None) -> TestClient:
        opened.append(TestClient(app or client.app, client=(address, 50000)))
        return opened[-1]

    yield open_from
    for each in opened:
        each.close()


def guess(client: TestClient, n: int = 1) -> list[int]:
    return [
        client.get("/v1/cases", headers={"Authorization": f"Bearer guess-{i}"}).status_code
        for i in range(n)
    ]


def csrf_of(html: str) -> str:
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def sign_in(page: TestClient, token: str) -> int:
    form = {"csrf_token": csrf_of(page.get("/ui/sign-in").text), "token": token}
    answer = page.post("/ui/sign-in", data=form, follow_redirects=False)
    return answer.status_code


def failure_rows(db: Database) -> int:
    with db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(TokenFailures)) or 0)


def test_an_address_past_twenty_failed_tokens_a_minute_is_answered_429_with_retry_after(
    from_address: From,
) -> None:
    guesser = from_address(GUESSER)
    with freeze_time(T0):
        assert guess(guesser, ALLOWED) == [401] * ALLOWED
        slowed = guesser.get("/v1/cases", headers={"Authorization": "Bearer one-more"})

    assert slowed.status_code == 429
    assert slowed.headers["content-type"] == "application/problem+json"
    assert slowed.json()["code"] == "too_many_requests"
    assert slowed.headers["retry-after"] == "60"


def test_a_slowed_address_is_refused_even_a_valid_token_until_its_minute_ends(
    from_address: From,
) -> None:
    guesser = from_address(GUESSER)
    with freeze_time(T0):
        guess(guesser, ALLOWED + 1)
    with freeze_time(T0 + timedelta(seconds=45)):
        refused = guesser.get("/v1/cases", headers=auth("dana"))
        assert refused.status_code == 429  # a 200 here would tell a guesser its guess was right
        assert refused.headers["retry-after"] == "15"

    with freeze_time(T0 + timedelta(seconds=60)):
        assert guesser.get("/v1/cases", headers=auth("dana")).status_code == 200
        assert guess(guesser) == [401]


def test_other_addresses_are_never_slowed_by_one_that_guesses(from_address: From) -> None:
    guesser, other = from_address(GUESSER), from_address(OTHER)
    with freeze_time(T0):
        guess(guesser, ALLOWED + 5)

        assert guess(other) == [401]
        assert other.get("/v1/cases", headers=auth("dana")).status_code == 200
        assert sign_in(other, "tok-dana") == 303
        assert guess(guesser) == [429]


def test_after_the_minute_the_address_starts_a_new_count(from_address: From) -> None:
    guesser = from_address(GUESSER)
    with freeze_time(T0):
        guess(guesser, ALLOWED + 1)
    with freeze_time(T0 + timedelta(seconds=59)):
        assert guess(guesser) == [429]
    with freeze_time(T0 + timedelta(seconds=60)):
        assert guess(guesser, ALLOWED) == [401] * ALLOWED
        assert guess(guesser) == [429]


def test_the_sign_in_page_counts_with_the_api_and_answers_a_429_page(
    from_address: From,
) -> None:
    guesser = from_address(GUESSER)
    with freeze_time(T0 + timedelta(seconds=10)):
        assert guess(guesser, ALLOWED // 2) == [401] * (ALLOWED // 2)
        assert [sign_in(guesser, f"nope-{i}") for i in range(ALLOWED // 2)] == [400] * 10
        assert sign_in(guesser, "one-more") == 429
        form = {"csrf_token": csrf_of(guesser.get("/ui/sign-in").text), "token": "tok-dana"}
        page = guesser.post("/ui/sign-in", data=form, follow_redirects=False)

    assert page.status_code == 429
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["retry-after"] == "60"
    assert "Try again in 60 seconds" in page.text
    with freeze_time(T0 + timedelta(seconds=10)):
        assert sign_in(from_address(OTHER), "tok-dana") == 303


def test_every_api_process_counts_the_same_failures(
    db_url: str, world: World, from_address: From
) -> None:
    """Two apps on one database, as `serve --workers 2` or two machines on one PostgreSQL."""
    second_db = Database(Settings(database_url=db_url))
    first = from_address(GUESSER)
    second = from_address(GUESSER, create_app(second_db))
    with freeze_time(T0):
        assert guess(first, ALLOWED // 2) + guess(second, ALLOWED // 2) == [401] * ALLOWED

        assert guess(second) == [429]
        assert guess(first) == [429]
    second_db.dispose()


def test_a_valid_token_writes_nothing_to_the_count(world: World, from_address: From) -> None:
    sent: list[str] = []
    user = from_address(OTHER)
    with watching(lambda sql, _params: sent.append(sql)):
        for _ in range(3):
            assert user.get("/v1/cases", headers=auth("dana")).status_code == 200

    assert not [sql for sql in sent if "INSERT INTO token_failures" in sql]
    assert failure_rows(world.db) == 0
    guess(user)
    assert failure_rows(world.db) == 1


def test_a_keyed_post_refused_while_slowed_runs_when_retried_after_the_minute(
    from_address: From,
) -> None:
    guesser = from_address(GUESSER)
    body = {"customer": {"name": "Carla"}, "subject": "Charge"}
    headers = auth("acme-crm") | {"Idempotency-Key": "order-77"}
    with freeze_time(T0):
        guess(guesser, ALLOWED + 1)
        assert guesser.post("/v1/cases", json=body, headers=headers).status_code == 429
    with freeze_time(T0 + timedelta(seconds=60)):
        created = guesser.post("/v1/cases", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert "idempotent-replayed" not in created.headers


def test_the_worker_forgets_the_counts_of_minutes_that_have_ended(
    world: World, from_address: From
) -> None:
    with freeze_time(T0):
        guess(from_address(GUESSER), 3)
        guess(from_address(OTHER))
    assert "token_failures_forgotten" not in worker.tick(world.db, T0 + timedelta(seconds=59))
    assert worker.tick(world.db, T0 + timedelta(seconds=61))["token_failures_forgotten"] == 2
    assert failure_rows(world.db) == 0
