"""Many people acting on one case at the same instant, each on their own connection.

PostgreSQL holds the case row with FOR UPDATE; SQLite serializes writers with BEGIN IMMEDIATE.
Either way one change happens at a time, so the history stays a gapless, verifiable chain.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from handoff import services
from handoff.config import Settings
from handoff.domain.errors import Refusal
from handoff.domain.principals import Actor
from handoff.services import queries
from handoff.store.db import Database, make_engine
from handoff.store.models import CaseRow, Event, RequestRow
from tests.integration.world import ADMIN, World, build_world, race

THREADS = 20


@pytest.fixture
def racing_world(db_url: str) -> Iterator[World]:
    """The world on a pool with a connection for every thread, so all of them really race."""
    engine = make_engine(db_url, pool_size=THREADS + 5, max_overflow=5)
    database = Database(Settings(database_url=db_url), engine=engine)
    yield build_world(database)
    database.dispose()


def acme_reps(world: World, count: int) -> list[Actor]:
    reps = []
    for n in range(1, count + 1):
        agent_id = f"racer{n:02d}"
        services.create_agent(world.db, ADMIN, "acme", agent_id, f"Racer {n:02d}", "rep")
        reps.append(Actor(kind="agent", id=agent_id, org_id="acme", role="rep"))
    return reps


def stored(world: World, case_id: str) -> tuple[CaseRow, list[Event]]:
    with world.db.reading() as session:
        case = session.get(CaseRow, case_id)
        assert case is not None
        events = session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq))
        return case, list(events)


def test_of_twenty_reps_claiming_one_case_at_once_exactly_one_wins(racing_world: World) -> None:
    world, reps = racing_world, acme_reps(racing_world, THREADS)
    customer = {"name": "Carla Diaz"}
    case_id = services.create_case(
        world.db, world.system("acme-crm"), customer=customer, subject="Pending charge"
    ).id

    results = race([lambda rep=rep: services.claim(world.db, rep, case_id) for rep in reps])

    won = [r for r in results if not isinstance(r, Refusal)]
    refused = [r for r in results if isinstance(r, Refusal)]
    assert len(won) == 1
    assert [r.code for r in refused] == ["invalid_transition"] * (THREADS - 1)
    winner = won[0].owner.agent_id
    assert winner in {rep.id for rep in reps}
    case, events = stored(world, case_id)
    assert (case.state, case.owner_agent_id, case.version) == ("active", winner, 2)
    assert [(e.seq, e.type) for e in events] == [(1, "case_created"), (2, "claimed")]
    assert events[1].actor_id == winner
    verification = queries.verify_case(world.db, world.auditor(), case_id)
    assert (verification.valid, verification.events) == (True, 2)


def test_two_reps_working_one_case_at_once_all_succeed_on_one_gapless_chain(
    racing_world: World,
) -> None:
    world, dana, ben = racing_world, racing_world.agent("dana"), racing_world.agent("ben")
    db = world.db
    customer = {"name": "Carla Diaz"}
    case = services.create_case(
        db, dana, customer=customer, subject="Pending charge", participants=["firstbank"]
    )
    start_version = case.version
    actions: list[Callable[[], Any]] = []
    for n in range(THREADS):
        if n % 4 == 0:
            actions.append(
                lambda n=n: services.create_request(db, dana, case.id, "firstbank", f"Act {n}")
            )
        elif n % 4 == 1:
            actions.append(lambda n=n: services.add_note(db, dana, case.id, f"Dana note {n}"))
        else:
            actions.append(lambda n=n: services.add_note(db, ben, case.id, f"Ben note {n}"))

    results = race(actions)

    assert [r for r in results if isinstance(r, Refusal)] == []
    stored_case, events = stored(world, case.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.type for e in events[:2]] == ["case_created", "claimed"]
    assert sorted(e.type for e in events[2:]) == sorted(
        ["request_created"] * 5 + ["note_added"] * (THREADS - 5)
    )
    # Version 1 is the case as created; each change since (auto-claim, the race) adds one.
    assert stored_case.version == start_version + THREADS == 1 + (len(events) - 1)
    assert (stored_case.last_seq, stored_case.last_hash) == (len(events), events[-1].hash)
    with db.reading() as session:
        assert len(session.scalars(select(RequestRow)).all()) == 5
    verification = queries.verify_case(db, world.auditor(), case.id)
    assert (verification.valid, verification.events) == (True, 2 + THREADS)
