"""A request that changes a case has its caller read in the round trip that begins the command's
transaction and locks the case (PostgreSQL): the command then takes that transaction, and what
the caller may not do lets the case go before anything else happens."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from handoff import services
from handoff.config import Settings
from handoff.services.authentication import PRINCIPAL_OF_TOKEN, admitted_to_change
from handoff.store import sql
from handoff.store.db import Database
from handoff.store.models import TokenFailures
from tests.conftest import database_url
from tests.e2e.conftest import auth, issue_tokens
from tests.integration.world import World, build_world

ADDRESS = "192.0.2.7"


@pytest.fixture
def pg_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """The world on PostgreSQL only: SQLite has no round trips to save, and reads the caller on
    its own (the tests that take `world` run there too)."""
    database = Database(Settings(database_url=database_url("postgres", request, tmp_path)))
    yield build_world(database)
    database.dispose()


# The statements told apart by their first words (as sent: parameters in the driver's style).
CALLER = " ".join(PRINCIPAL_OF_TOKEN.sql.split())[:60]
CASE_LOCK = "SELECT id FROM cases WHERE id = %(case_id)s"  # FOR UPDATE, alone or in the caller's
AGENT_LOCK = "FROM agents WHERE id = %(agent_id)s FOR SHARE"


def first(seen: list[str], words: str) -> int:
    return next(i for i, s in enumerate(seen) if words in s)


@contextmanager
def sent() -> Iterator[list[str]]:
    """The statements sent to the database inside, each on one line."""
    seen: list[str] = []
    with sql.watching(lambda statement, _params: seen.append(" ".join(statement.split()))):
        yield seen


def open_case(world: World, *, claimed: bool = True) -> str:
    issue_tokens(world.db)
    actor = world.agent("dana") if claimed else world.system("acme-crm")
    return services.create_case(world.db, actor, customer={"name": "Carla"}, subject="Hold").id


def notes_of(world: World, case_id: str) -> int:
    events = services.queries.case_events(world.db, world.agent("dana"), case_id)
    return sum(1 for e in events if e.type == "note_added")


@pytest.mark.postgres
def test_the_caller_is_read_in_the_cases_lock_and_the_command_takes_that_transaction(
    pg_world: World,
) -> None:
    world = pg_world
    case_id = open_case(world)

    with sent() as seen, admitted_to_change(world.db, "tok-dana", ADDRESS, case_id) as dana:
        assert dana is not None
        assert dana.id == "dana"
        services.add_note(world.db, dana, case_id, "Called the bank.")

    begins = [s for s in seen if s.startswith("BEGIN")]
    assert len(begins) == 1  # one transaction: the command took the one begun for it
    assert first(seen, "BEGIN") < first(seen, CALLER) == first(seen, CASE_LOCK)  # one statement
    assert sum(CASE_LOCK in s for s in seen) == 1  # the case was locked and read once
    assert seen[-1] == "COMMIT"
    assert notes_of(world, case_id) == 1


@pytest.mark.postgres
def test_a_command_that_holds_agents_begins_again_and_holds_them_before_the_case(
    pg_world: World,
) -> None:
    world = pg_world
    case_id = open_case(world, claimed=False)

    with sent() as seen, admitted_to_change(world.db, "tok-dana", ADDRESS, case_id) as dana:
        assert dana is not None
        services.claim(world.db, dana, case_id)

    last_transaction = seen[max(i for i, s in enumerate(seen) if s.startswith("BEGIN")) :]
    assert first(last_transaction, AGENT_LOCK) < first(last_transaction, CASE_LOCK)
    assert last_transaction[-1] == "COMMIT"
    case = services.queries.get_case(world.db, world.agent("dana"), case_id)
    assert case.owner is not None
    assert case.owner.agent_id == "dana"


@pytest.mark.postgres
def test_a_token_that_is_not_valid_never_waits_for_the_case(pg_world: World) -> None:
    """A guess locks nothing: with the case held by a command under way, it is answered at once
    (a lock asked for would wait out the lock timeout, and fail)."""
    world = pg_world
    case_id = open_case(world)

    with world.db.work() as busy:
        assert busy.lock_case(case_id) is not None  # held until this block ends
        with admitted_to_change(world.db, "tok-nobody", ADDRESS, case_id) as nobody:
            assert nobody is None

    with world.db.reading() as session:
        counted = session.get(TokenFailures, ADDRESS)
    assert counted is not None
    assert counted.failures == 1


def test_a_token_that_is_not_valid_lets_the_case_go_and_is_counted(world: World) -> None:
    case_id = open_case(world)

    with admitted_to_change(world.db, "tok-nobody", ADDRESS, case_id) as nobody:
        assert nobody is None
        # The case is not held: another command changes it at once (a held row would wait).
        services.add_note(world.db, world.agent("dana"), case_id, "Called the bank.")

    with world.db.reading() as session:
        counted = session.get(TokenFailures, ADDRESS)
    assert counted is not None
    assert counted.failures == 1
    assert notes_of(world, case_id) == 1


def test_a_command_that_breaks_off_leaves_nothing_and_lets_the_case_go(world: World) -> None:
    case_id = open_case(world)

    def broken_off() -> None:
        with (
            admitted_to_change(world.db, "tok-dana", ADDRESS, case_id) as dana,
            world.db.work() as work,
        ):
            assert dana is not None
            loaded = work.lock_case(case_id)
            assert loaded is not None
            loaded.case.priority = "urgent"
            work.save(loaded, [])
            raise RuntimeError("the request broke off before its command committed")

    with pytest.raises(RuntimeError):
        broken_off()

    services.add_note(world.db, world.agent("dana"), case_id, "Called the bank.")
    case = services.queries.get_case(world.db, world.agent("dana"), case_id)
    assert (case.priority, notes_of(world, case_id)) == ("normal", 1)


@pytest.mark.postgres
def test_every_post_on_a_case_reads_its_caller_with_the_cases_lock(pg_world: World) -> None:
    world = pg_world
    case_id = open_case(world)
    note = {"text": "Called the bank.", "visibility": "internal"}
    with TestClient(create_app(world.db)) as client, sent() as seen:
        answer = client.post(f"/v1/cases/{case_id}/notes", json=note, headers=auth("dana"))
        assert answer.status_code == 200, answer.text
        fetched = client.get(f"/v1/cases/{case_id}", headers=auth("dana"))
        assert fetched.status_code == 200

    assert first(seen, "BEGIN") < first(seen, CALLER) == first(seen, CASE_LOCK)
    assert sum(CASE_LOCK in s for s in seen) == 1  # the read locks nothing
    assert sum(CALLER in s for s in seen) == 2


@pytest.mark.postgres
def test_a_claim_holds_its_agent_before_its_case_and_reads_its_caller_apart(
    pg_world: World,
) -> None:
    """A route whose command holds agents first is not begun ahead (`locks_its_case_late`): its
    case is locked once, after the agent."""
    world = pg_world
    case_id = open_case(world, claimed=False)
    with TestClient(create_app(world.db)) as client, sent() as seen:
        answer = client.post(f"/v1/cases/{case_id}/claim", json={}, headers=auth("dana"))
        assert answer.status_code == 200, answer.text

    assert sum(CASE_LOCK in s for s in seen) == 1
    assert first(seen, CALLER) < first(seen, "BEGIN") < first(seen, AGENT_LOCK)
    assert first(seen, AGENT_LOCK) < first(seen, CASE_LOCK)
