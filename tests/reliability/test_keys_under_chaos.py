"""SPEC §14 as a crash would test it, on PostgreSQL: `handoff serve --workers 2` and
`handoff worker` killed with SIGKILL at random and restarted, under 24 clients that retry by
`Idempotency-Key`. Afterwards no acknowledged change is lost, none was made twice, no key was
blocked, every stored answer is replayed as it was first given, and `handoff check` finds nothing
wrong.

It runs for HANDOFF_CHAOS_SECONDS (default: 90 under CI or HANDOFF_LONG_TESTS, else 20).
"""

import os
import random
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from handoff.config import Settings
from handoff.store.db import Database
from handoff.store.models import Event
from tests.conftest import IN_CI, database_url
from tests.reliability.conftest import LONG
from tests.reliability.keyed_clients import ANSWERED_WITHIN, Change, KeyedClients
from tests.reliability.servers import HANDOFF, Api, Process, bearer, populated, worker

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
SECONDS = float(os.environ.get("HANDOFF_CHAOS_SECONDS") or (90 if IN_CI or LONG else 20))
CLIENTS = 24
EVENT_OF = {"case": "case_created", "claim": "claimed", "note": "note_added"}
EVENT_OF |= {"request": "request_created"}


@pytest.fixture
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = Database(Settings(database_url=database_url("postgres", request, tmp_path)))
    populated(database)
    yield database
    database.dispose()


def test_processes_killed_at_random_under_clients_retrying_by_key_lose_and_repeat_nothing(
    db: Database, tmp_path: Path
) -> None:
    url = db.settings.database_url
    api = Api(url, tmp_path / "api.log", workers=2).start()
    timers = worker(url, tmp_path / "worker.log", {"HANDOFF_CLAIM_WINDOW": "3"}).start()
    kills: Counter[str] = Counter()
    try:
        with KeyedClients(api.base, CLIENTS) as clients:
            _kill_at_random(api, timers, kills, until=time.monotonic() + SECONDS)
        with httpx.Client(base_url=api.base, timeout=ANSWERED_WITHIN) as client:
            for change in clients.unfinished():  # cut off when the clients stopped
                clients.finish(client, change, deadline=time.monotonic() + 60)
            replays = [_replayed(client, c) for c in clients.changes if c.acknowledged]
    finally:
        api.kill()
        timers.kill()

    changes = clients.changes
    acked = _acked(changes)
    print(f"{len(changes)} changes, {len(acked)} acknowledged, kills {dict(kills)}")
    assert kills["api"] >= 1, kills
    assert kills["worker"] >= 1, kills
    assert len(changes) >= CLIENTS, "the clients hardly got to work"
    assert [c for c in changes if c.status is None] == []
    assert [c for c in changes if c.blocked] == []  # no key answered "still in progress"
    assert [c for c in changes if c.status is not None and c.status >= 500] == []
    made = _made(db)
    counted = [c for c in changes if c.kind != "claim"]  # a claim finds no mark of its own
    assert [c for c in counted if c.acknowledged and made[(c.kind, c.mark)] == 0] == []
    assert [c for c in counted if made[(c.kind, c.mark)] > 1] == []
    assert [c.key for c, same in zip(acked, replays, strict=True) if not same] == []
    checked = subprocess.run(
        [*HANDOFF, "check"], env={**os.environ, "HANDOFF_DATABASE_URL": url}, timeout=300
    )
    assert checked.returncode == 0


def _kill_at_random(api: Api, timers: Process, kills: Counter[str], until: float) -> None:
    """SIGKILL the API, the worker, the API, … at random moments, each started again at once,
    until the time is up and each was killed at least once."""
    moments = random.Random()
    while time.monotonic() < until or sum(kills.values()) < 2:
        time.sleep(moments.uniform(1.0, 4.0))  # the kill lands at a random moment
        if sum(kills.values()) % 2 == 0:
            api.kill()
            api.start()
            kills["api"] += 1
        else:
            timers.kill()
            timers.start()
            kills["worker"] += 1


def _acked(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.acknowledged]


def _replayed(client: httpx.Client, change: Change) -> bool:
    """The key retried once more answers what it answered first, byte for byte."""
    headers = bearer(change.who) | {"Idempotency-Key": change.key}
    again = client.post(change.path, json=change.body, headers=headers)
    return (again.status_code, again.content) == (change.status, change.content)


def _made(db: Database) -> Counter[tuple[str, str]]:
    """How many times each change's mark is in the history."""
    kinds = {event: kind for kind, event in EVENT_OF.items()}
    made: Counter[tuple[str, str]] = Counter()
    with db.reading() as session:
        for type, data in session.execute(
            select(Event.type, Event.data).where(Event.type.in_(kinds))
        ):
            mark = data.get("subject") or data.get("text") or data.get("action") or ""
            made[(kinds[type], str(mark))] += 1
    return made
