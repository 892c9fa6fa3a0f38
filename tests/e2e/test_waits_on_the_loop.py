"""On PostgreSQL the API runs a request's database work on its event loop (psycopg's asyncio
connections): a request that waits for a case's row lock leaves the loop free, and others are
answered meanwhile, those on other cases included."""

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import database_url
from tests.e2e.conftest import auth
from tests.integration.world import World


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """PostgreSQL only: row locks, and the asyncio connections, are its."""
    return database_url("postgres", request, tmp_path)


PATIENCE = 60.0  # seconds any wait here may last at most, however loaded the machine


def new_case(client: TestClient) -> str:
    opened = client.post(
        "/v1/cases", json={"customer": {"name": "Carla"}, "subject": "Hold"}, headers=auth("dana")
    )
    assert opened.status_code == 201, opened.text
    return str(opened.json()["id"])


def wait_until_one_waits_for_a_lock(world: World) -> None:
    """Until a session of the database waits for a row lock (pg_stat_activity says so)."""
    deadline = time.monotonic() + PATIENCE
    with world.db.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            conn.rollback()
            if waiting:
                return
    pytest.fail("no request came to wait for the case's lock")


def test_a_request_waiting_for_a_cases_lock_does_not_hold_up_the_others(
    world: World, client: TestClient
) -> None:
    held, other = new_case(client), new_case(client)
    answers: dict[str, Any] = {}

    def note_on_the_held_case() -> None:
        answers["held"] = client.post(
            f"/v1/cases/{held}/notes", json={"text": "Called back."}, headers=auth("dana")
        )

    with world.db.engine.connect() as holder:  # another process, as it were, holds the case
        holder.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": held})
        waiting = threading.Thread(target=note_on_the_held_case)
        waiting.start()
        wait_until_one_waits_for_a_lock(world)
        meanwhile = client.post(
            f"/v1/cases/{other}/notes", json={"text": "Called back."}, headers=auth("dana")
        )
        health = client.get("/healthz")
        still_waiting = waiting.is_alive()
        holder.rollback()
    waiting.join(PATIENCE)

    assert meanwhile.status_code == 200
    assert health.status_code == 200
    assert still_waiting  # both were answered while the first still waited for the lock
    held_answer: httpx.Response = answers["held"]
    assert held_answer.status_code == 200
