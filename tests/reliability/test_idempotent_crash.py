"""`handoff serve` killed with SIGKILL around a POST with an `Idempotency-Key`, restarted, and the
key retried (SPEC §14): the change is made exactly once, and the retry is answered at once (within
10 s, the client's timeout here) rather than told the key is still in progress.
"""

import contextlib
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

from handoff import services
from handoff.config import Settings
from handoff.domain.principals import Actor
from handoff.history.check import check
from handoff.store.db import Database
from handoff.store.models import Event
from tests.conftest import database_url
from tests.reliability.servers import Api, bearer, populated

pytestmark = pytest.mark.slow
ANSWERED_WITHIN = 10.0  # seconds: SPEC §14's bound on a key held by a request that died
PATIENCE = 60  # seconds: a guard against a hang, never a wait for something to happen
NEW_CASE = {"customer": {"name": "Carla Diaz"}, "subject": "Killed right after"}


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    yield from _populated(db_url)


@pytest.fixture
def postgres_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from _populated(database_url("postgres", request, tmp_path))


def _populated(url: str) -> Iterator[Database]:
    database = Database(Settings(database_url=url))
    populated(database)
    yield database
    database.dispose()


@pytest.fixture
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """`handoff serve` over the test's database (`db` or `postgres_db`)."""
    name = "postgres_db" if "postgres_db" in request.fixturenames else "db"
    db: Database = request.getfixturevalue(name)
    server = Api(db.settings.database_url, tmp_path / "api.log").start()
    yield server
    server.kill()


def post(
    api: Api, path: str, body: object, key: str, who: str = "acme-crm", timeout: float = 30
) -> httpx.Response:
    headers = bearer(who) | {"Idempotency-Key": key}
    return httpx.post(f"{api.base}{path}", json=body, headers=headers, timeout=timeout)


def events(db: Database, case_id: str, type: str) -> list[Event]:
    with db.reading() as session:
        found = session.scalars(select(Event).where(Event.case_id == case_id, Event.type == type))
        return list(found)


def cases_titled(db: Database, subject: str) -> int:
    with db.reading() as session:
        created = session.scalars(select(Event).where(Event.type == "case_created"))
        return sum(1 for e in created if e.data["subject"] == subject)


def new_case(db: Database) -> str:
    crm = Actor(kind="system", id="acme-crm", org_id="acme")
    return services.create_case(db, crm, customer={"name": "Carla"}, subject="Mid-request").id


def test_a_case_created_just_before_the_server_is_killed_is_answered_again_never_made_again(
    db: Database, api: Api
) -> None:
    first = post(api, "/v1/cases", NEW_CASE, "order-1")
    api.kill()
    api.start()
    again = post(api, "/v1/cases", NEW_CASE, "order-1", timeout=ANSWERED_WITHIN)

    assert first.status_code == 201
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert cases_titled(db, NEW_CASE["subject"]) == 1


def test_a_note_whose_server_is_killed_at_a_random_moment_is_made_once_when_retried(
    db: Database, api: Api
) -> None:
    case_id, moments = new_case(db), random.Random()
    for round in range(3):
        note = {"text": f"Called the bank, round {round}", "visibility": "internal"}
        key, path = f"note-{round}", f"/v1/cases/{case_id}/notes"
        sent = threading.Thread(target=_ignoring_errors, args=(api, path, note, key))
        sent.start()
        time.sleep(moments.uniform(0, 0.05))  # the kill lands at a random moment of the request
        api.kill()
        sent.join(PATIENCE)
        api.start()
        retried = post(api, path, note, key, timeout=ANSWERED_WITHIN)
        replayed = post(api, path, note, key, timeout=ANSWERED_WITHIN)
        assert retried.status_code == 200, retried.text
        assert replayed.content == retried.content
        made = [e for e in events(db, case_id, "note_added") if e.data["text"] == note["text"]]
        assert len(made) == 1, round
    assert check(db) == []


def _ignoring_errors(api: Api, path: str, body: object, key: str, who: str = "acme-crm") -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server was killed under it
        post(api, path, body, key, who)


@pytest.mark.postgres
def test_a_server_killed_while_its_keyed_request_waits_inside_the_change_frees_the_key(
    postgres_db: Database, api: Api
) -> None:
    """PostgreSQL's row lock on the case holds the request mid-change, its key claimed."""
    db = postgres_db
    case_id = new_case(db)
    claim = f"/v1/cases/{case_id}/claim"
    with db.engine.connect() as holder:
        holder.begin()
        holder.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": case_id})
        mine = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
        sent = threading.Thread(target=_ignoring_errors, args=(api, claim, {}, "c-1", "dave"))
        sent.start()
        _until_a_request_waits_for(db, mine)  # it holds its key and waits for the case
        api.kill()
        holder.rollback()
    sent.join(PATIENCE)
    api.start()
    retried = post(api, claim, {}, "c-1", who="dave", timeout=ANSWERED_WITHIN)
    replayed = post(api, claim, {}, "c-1", who="dave", timeout=ANSWERED_WITHIN)

    assert retried.status_code == 200, retried.text
    assert replayed.content == retried.content
    assert len(events(db, case_id, "claimed")) == 1
    assert check(db) == []


def _until_a_request_waits_for(db: Database, holder_pid: int) -> None:
    """Poll (each time in a fresh transaction: the activity view is read once per transaction)
    until some backend waits for a lock that `holder_pid` holds."""
    blocked = text(
        "SELECT count(*) FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid))"
    )
    deadline = time.monotonic() + PATIENCE
    while True:
        with db.engine.connect() as conn:
            if conn.execute(blocked, {"holder": holder_pid}).scalar_one():
                return
        assert time.monotonic() < deadline, "the request never came to wait for the case"
        time.sleep(0.02)
