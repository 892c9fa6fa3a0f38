"""The database goes away under load: requests fail fast with 503 problem+json (`Retry-After`),
nothing hangs past the stated timeout, and service comes back by itself with the database.

The machine's PostgreSQL is shared, so it is never stopped: the API reaches it through a proxy
the test takes away instead (see `proxy.py`).
"""

import shutil
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from api.app import create_app
from handoff.config import Settings
from handoff.history.check import check
from handoff.store.db import CONNECT_TIMEOUT, POOL_TIMEOUT, Database
from tests.reliability.acks import not_in_history
from tests.reliability.load import Answer, Load
from tests.reliability.proxy import Proxy
from tests.reliability.servers import Api, bearer, populated

# What docs/operations.md states: with PostgreSQL stopped a request is answered 503 at once; with a
# server that accepts connections and never answers, within the connect (or pool) timeout.
STATED_TIMEOUT = max(CONNECT_TIMEOUT, POOL_TIMEOUT)
MARGIN = 2.0  # the request's own work and a loaded test machine
PATIENCE = 60  # seconds: a guard against a hang, never a wait for something to happen


def failed(answers: list[Answer]) -> list[Answer]:
    """The answers that are no answer at all or a server error (a 409 lost claim race is fine)."""
    return [a for a in answers if a.status is None or a.status >= 500]


def unavailable(answers: list[Answer]) -> list[Answer]:
    """The answers that are not a 503 problem+json saying the database is unavailable."""
    return [
        a
        for a in answers
        if (a.status, a.content_type, a.code)
        != (503, "application/problem+json", "database_unavailable")
    ]


def test_a_database_that_cannot_be_opened_is_answered_503_with_retry_after(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "handoff.db"
    shutil.copy(sqlite_template, path)
    db = Database(Settings(database_url=f"sqlite:///{path}"))
    populated(db)
    app = create_app(db)
    db.engine.dispose()
    path.unlink()
    path.mkdir()  # a folder where the database file was: SQLite cannot open it

    with TestClient(app) as client:
        listing = client.get("/v1/cases", headers=bearer("dana"))
        keyed = client.post(
            "/v1/cases",
            json={"customer": {"name": "C"}, "subject": "S"},
            headers=bearer("acme-crm") | {"Idempotency-Key": "k-1"},
        )
        ready = client.get("/readyz")

    for answer in (listing, keyed):
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "5"
        assert answer.json()["code"] == "database_unavailable"
    assert ready.status_code == 503


@pytest.mark.postgres
@pytest.mark.slow
def test_while_postgresql_is_away_requests_fail_fast_and_service_resumes_by_itself(
    own_postgres: str, tmp_path: Path
) -> None:
    db = Database(Settings(database_url=own_postgres))
    populated(db)
    server = make_url(own_postgres)
    proxy = Proxy(server.port or 5432, server.host or "127.0.0.1")
    proxy.start()
    via_proxy = server.set(port=proxy.port).render_as_string(hide_password=False)
    # More clients than the API has threads for database work, so that some requests queue for
    # a thread behind others waiting on the database: the stated time holds for those too.
    threads = {"HANDOFF_API_THREADS": "2"}
    api = Api(via_proxy, tmp_path / "api.log", workers=2, env=threads).start()
    try:
        with Load(api.base, threads=6) as load:
            wait_for_answers(load, 0, status=200)  # served while the database is there
            stopping = time.monotonic()  # what was answered before this had the database
            proxy.stop()
            stopped = time.monotonic()  # what is asked from now on finds every connection cut
            wait_for_answers(load, stopped)  # answered while it is away
            ready_while_stopped = httpx.get(f"{api.base}/readyz", timeout=30)
            back = time.monotonic()
            proxy.start()
            recovered = wait_for_success(load, back)
            wait_for_answers(load, recovered, status=200)
            proxy.silence()
            silenced = time.monotonic()
            # The one fixed length: a silent server is only told from a slow one by outlasting
            # the stated timeout, twice over, so the requests asked meanwhile time out within it.
            time.sleep(2 * STATED_TIMEOUT + MARGIN)
            back_again = time.monotonic()
            proxy.start()
            recovered_again = wait_for_success(load, back_again)
            wait_for_answers(load, recovered_again + 0.5)
            end = time.monotonic()
    finally:
        api.kill()
        proxy.close()

    assert [a for a in load.answers if a.status is None] == []  # nothing hung, nothing dropped
    assert failed(load.between(0, stopping)) == []
    while_stopped = load.between(stopped, back)
    assert while_stopped
    assert unavailable(while_stopped) == []
    assert max(a.took for a in while_stopped) <= STATED_TIMEOUT
    assert ready_while_stopped.status_code == 503
    while_silent = load.between(silenced, back_again)
    assert while_silent
    assert unavailable(while_silent) == []
    assert max(a.took for a in while_silent) <= STATED_TIMEOUT + MARGIN
    assert recovered - back <= STATED_TIMEOUT + MARGIN
    assert recovered_again - back_again <= STATED_TIMEOUT + MARGIN
    after = load.between(recovered_again + 0.5, end)
    assert after
    assert failed(after) == []
    assert check(db) == []
    assert not_in_history(db, load.acks) == []
    db.dispose()


def wait_for_answers(
    load: Load, since: float, status: int | None = None, timeout: float = PATIENCE
) -> None:
    """Until as many requests as the load has threads, asked after `since`, have been answered
    (with `status`, when given)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answered = load.between(since, time.monotonic())
        if len([a for a in answered if status is None or a.status == status]) >= load.threads:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {load.threads} answers since {since}")


def wait_for_success(load: Load, since: float, timeout: float = PATIENCE) -> float:
    """When the first request asked after `since` succeeded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [a for a in load.between(since, time.monotonic()) if a.status == 200]
        if done:
            return min(a.asked + a.took for a in done)
        time.sleep(0.05)
    raise AssertionError("service did not come back by itself")
