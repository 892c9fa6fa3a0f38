"""Two changes that exclude each other, fired at the same instant many times over: the case row
lock must make the second see what the first did, on every database."""

from collections.abc import Iterator
from functools import partial

import pytest

from handoff import services
from handoff.config import Settings
from handoff.domain.errors import Refusal
from handoff.domain.principals import Actor, customer_of
from handoff.history.check import check
from handoff.store.db import Database, make_engine
from tests.integration.world import ADMIN, World, build_world, race
from tests.reliability.conftest import scaled
from tests.reliability.scenarios import warm_session_ready

ROUNDS = scaled(25, 200)


@pytest.fixture
def racing_world(db_url: str) -> Iterator[World]:
    engine = make_engine(db_url, pool_size=4, max_overflow=2)
    database = Database(Settings(database_url=db_url), engine=engine)
    yield build_world(database)
    database.dispose()


def hire(db: Database, org_id: str, agent_id: str, role: str = "rep") -> Actor:
    """A new agent of the org, as the actor their token would give."""
    services.create_agent(db, ADMIN, org_id, agent_id, agent_id.title(), role)
    return Actor(kind="agent", id=agent_id, org_id=org_id, role=role)


def test_a_request_and_a_resolution_at_the_same_instant_never_both_happen(
    racing_world: World,
) -> None:
    world, dana = racing_world, racing_world.agent("dana")
    db, both = world.db, []
    for _ in range(ROUNDS):
        case_id = services.create_case(
            db, dana, customer={"name": "C"}, subject="S", participants=["firstbank"]
        ).id

        asked, resolved = race(
            [
                partial(
                    services.create_request, db, dana, case_id, "firstbank", "Release the hold"
                ),
                partial(services.propose_resolution, db, dana, case_id, "fixed", "We fixed it."),
            ]
        )

        if not isinstance(asked, Refusal) and not isinstance(resolved, Refusal):
            both.append(case_id)
    assert both == []
    assert check(db) == []


def test_an_agent_deactivated_while_being_assigned_a_case_never_owns_an_open_one(
    racing_world: World,
) -> None:
    world, sam = racing_world, racing_world.agent("sam")
    db = world.db
    for n in range(ROUNDS):
        leaving = f"leaving{n:03d}"
        services.create_agent(db, ADMIN, "acme", leaving, f"Leaving {n}", "rep")
        case_id = services.create_case(db, sam, customer={"name": "C"}, subject="S").id

        race(
            [
                partial(services.deactivate_agent, db, ADMIN, "acme", leaving),
                partial(services.assign, db, sam, case_id, leaving),
            ]
        )

    assert check(db) == []


def test_an_agent_deactivated_while_claiming_a_case_never_owns_an_open_one(
    racing_world: World,
) -> None:
    db, acme_crm = racing_world.db, racing_world.system("acme-crm")
    for n in range(ROUNDS):
        claimer = hire(db, "acme", f"claimer{n:03d}")
        case_id = services.create_case(db, acme_crm, customer={"name": "C"}, subject="S").id

        race(
            [
                partial(services.deactivate_agent, db, ADMIN, "acme", claimer.id),
                partial(services.claim, db, claimer, case_id),
            ]
        )

    assert check(db) == []


def test_an_agent_deactivated_while_opening_a_case_never_owns_it(racing_world: World) -> None:
    db = racing_world.db
    for n in range(ROUNDS):
        opener = hire(db, "acme", f"opener{n:03d}")

        race(
            [
                partial(services.deactivate_agent, db, ADMIN, "acme", opener.id),
                partial(services.create_case, db, opener, customer={"name": "C"}, subject="S"),
            ]
        )

    assert check(db) == []


def test_an_agent_deactivated_while_accepting_a_handoff_never_owns_the_case(
    racing_world: World,
) -> None:
    world = racing_world
    db, dana = world.db, world.agent("dana")
    for n in range(ROUNDS):
        taker = hire(db, "firstbank", f"taker{n:03d}")
        case_id = services.create_case(
            db, dana, customer={"name": "C"}, subject="S", participants=["firstbank"]
        ).id
        handoff_id = warm_session_ready(world, case_id, dana, taker)

        race(
            [
                partial(services.deactivate_agent, db, ADMIN, "firstbank", taker.id),
                partial(services.accept_handoff, db, taker, case_id, handoff_id),
            ]
        )

    assert check(db) == []


def test_two_agents_deactivated_at_once_hand_their_cases_to_someone_active(
    racing_world: World,
) -> None:
    db = racing_world.db
    for n in range(ROUNDS):
        first = hire(db, "vendo", f"va{n:03d}", "supervisor")
        second = hire(db, "vendo", f"vb{n:03d}", "supervisor")
        for owner in (first, second):
            services.create_case(db, owner, customer={"name": "C"}, subject="S")

        results = race(
            [
                partial(services.deactivate_agent, db, ADMIN, "vendo", first.id),
                partial(services.deactivate_agent, db, ADMIN, "vendo", second.id),
            ]
        )

        assert not any(isinstance(r, Exception) and not isinstance(r, Refusal) for r in results)

    assert check(db) == []


def test_an_agent_deactivated_while_their_closed_case_is_reopened_never_owns_it(
    racing_world: World,
) -> None:
    db = racing_world.db
    for n in range(ROUNDS):
        closer = hire(db, "acme", f"closer{n:03d}")
        case_id = services.create_case(db, closer, customer={"name": "C"}, subject="S").id
        services.propose_resolution(db, closer, case_id, "fixed", "We fixed it.")
        services.confirm_resolution(db, customer_of(case_id), case_id)

        race(
            [
                partial(services.deactivate_agent, db, ADMIN, "acme", closer.id),
                partial(services.reopen, db, customer_of(case_id), case_id, "It broke again"),
            ]
        )

    assert check(db) == []
