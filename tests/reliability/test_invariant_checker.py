"""The invariant checker (`handoff check`) passes everything the engine writes and names each
kind of damage: a missing owner, a gap, a broken chain, a transition the table does not allow."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from handoff import services
from handoff.cli import app
from handoff.domain.principals import Actor
from handoff.history import chain
from handoff.history.check import check
from handoff.history.table_replay import FOLLOWUPS, ROW_OF_EVENT
from handoff.store.db import Database
from handoff.store.models import CaseRow, Event
from tests.integration.world import World
from tests.reliability.scenarios import every_kind_of_event, warm_accept

NOT_TRANSITIONS = {"case_created", "refused", "escalation_failed", "request_cancelled"}


def invariants(db: Database, case_id: str | None = None) -> set[tuple[str, str]]:
    """(case, invariant) pairs the checker reports."""
    found = check(db, None if case_id is None else [case_id])
    return {(v.case_id, v.invariant) for v in found}


def active_case(world: World) -> str:
    """Dana's active case with First Bank taking part."""
    dana = world.agent("dana")
    customer = {"name": "Carla Diaz"}
    return services.create_case(
        world.db, dana, customer=customer, subject="Hold", participants=["firstbank"]
    ).id


def execute(db: Database, statement: str, **params: Any) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(statement), params)


@contextmanager
def locked_case(db: Database, case_id: str) -> Iterator[tuple[Session, CaseRow]]:
    with db.session() as session:
        case = session.scalars(select(CaseRow).where(CaseRow.id == case_id).with_for_update()).one()
        yield session, case
        session.commit()


def forge_event(db: Database, case_id: str, type: str, data: dict[str, Any], **row: Any) -> None:
    """Append an event the engine would not have written, chained correctly, changing the row."""
    with locked_case(db, case_id) as (session, case):
        actor = Actor(kind="agent", id="dana", org_id="acme", role="rep")
        chain.append(session.connection(), case, type, actor, datetime.now(UTC), data)
        case.version += 1
        for name, value in row.items():
            setattr(case, name, value)


def test_every_kind_of_event_the_engine_writes_breaks_no_invariant(world: World) -> None:
    case_ids = every_kind_of_event(world)

    with world.db.reading() as session:
        written = set(session.scalars(select(Event.type).where(Event.case_id.in_(case_ids))))
    every_type = set(ROW_OF_EVENT) | NOT_TRANSITIONS | set().union(*FOLLOWUPS.values())
    assert written == every_type
    assert check(world.db) == []


def test_an_owner_org_that_is_no_participant_is_reported(world: World) -> None:
    case_id = active_case(world)

    execute(world.db, "DELETE FROM participants WHERE case_id = :c AND org_id = 'acme'", c=case_id)

    assert (case_id, "one_owner_org") in invariants(world.db)


@pytest.mark.parametrize(
    ("owner", "why"),
    [(None, "no owner agent"), ("ben", "of firstbank"), ("ada", "an auditor")],
)
def test_an_active_case_without_a_rightful_owner_agent_is_reported(
    world: World, owner: str | None, why: str
) -> None:
    case_id = active_case(world)

    execute(world.db, "UPDATE cases SET owner_agent_id = :a WHERE id = :c", a=owner, c=case_id)

    found = [v for v in check(world.db) if v.invariant == "owner_agent"]
    assert [v.case_id for v in found] == [case_id]
    assert why in found[0].detail


def test_an_open_case_owned_by_a_deactivated_agent_is_reported(world: World) -> None:
    case_id = active_case(world)

    execute(world.db, "UPDATE agents SET active = :no WHERE id = 'dana'", no=False)

    assert invariants(world.db) == {(case_id, "owner_agent")}


def test_a_case_whose_history_skips_a_seq_is_reported_as_a_gap_and_a_broken_chain(
    world: World,
) -> None:
    case_id = active_case(world)

    with locked_case(world.db, case_id) as (_session, case):
        case.last_seq += 1  # the next event lands one seq too far
    forge_event(world.db, case_id, "note_added", {"text": "x"})

    found = invariants(world.db)
    assert {(case_id, "gapless_seq"), (case_id, "chain_verifies")} <= found


def test_a_case_whose_head_is_ahead_of_its_history_is_reported(world: World) -> None:
    case_id = active_case(world)

    execute(world.db, "UPDATE cases SET last_seq = last_seq + 1 WHERE id = :c", c=case_id)

    assert {(case_id, "gapless_seq"), (case_id, "chain_verifies")} <= invariants(world.db)


def test_an_event_whose_hash_is_wrong_breaks_the_chain(world: World) -> None:
    case_id = active_case(world)
    with locked_case(world.db, case_id) as (session, case):
        event = Event(
            case_id=case_id,
            seq=case.last_seq + 1,
            type="note_added",
            actor_kind="agent",
            actor_id="dana",
            org_id="acme",
            at=datetime.now(UTC),
            data={"text": "real"},
            prev_hash=case.last_hash,
        )
        event.hash = chain.event_hash(event)
        event.data = {"text": "forged after hashing"}
        session.add(event)
        case.last_seq, case.last_hash, case.version = event.seq, event.hash, case.version + 1

    assert invariants(world.db) == {(case_id, "chain_verifies")}


def test_a_transition_from_a_state_the_table_does_not_allow_is_reported(world: World) -> None:
    case_id = active_case(world)

    forge_event(world.db, case_id, "resolution_confirmed", {"code": "fixed"}, state="closed")

    found = [v for v in check(world.db) if v.case_id == case_id]
    assert [(v.invariant, v.seq) for v in found] == [("table_allows_transition", 3)]
    assert "confirm_resolution fired from active" in found[0].detail


def forge_acceptance_by_ben(db: Database, case_id: str, handoff_id: str) -> None:
    """First Bank's Ben takes the case over by `handoff_id`, whatever the session looked like."""
    data = {"handoff_id": handoff_id, "from_org": "acme", "to_org": "firstbank", "to_agent": "ben"}
    forge_event(
        db,
        case_id,
        "handoff_accepted",
        data,
        state="active",
        owner_org_id="firstbank",
        owner_agent_id="ben",
    )


def test_ownership_moved_without_a_warm_session_is_reported(world: World) -> None:
    case_id = active_case(world)
    handoff = services.propose_handoff(world.db, world.agent("dana"), case_id, "firstbank", "Yours")

    forge_acceptance_by_ben(world.db, case_id, handoff.id)

    found = [v for v in check(world.db) if v.case_id == case_id]
    assert [v.invariant for v in found] == ["warm_handoff"]
    assert "without owner (dana), receiver (ben), customer present" in found[0].detail


def test_a_handoff_taken_by_someone_present_only_as_collaborator_is_reported(
    world: World,
) -> None:
    db, dana, ben = world.db, world.agent("dana"), world.agent("ben")
    case_id = active_case(world)
    handoff = services.propose_handoff(db, dana, case_id, "firstbank", "Yours")
    session = services.start_session(db, dana, case_id, handoff_id=handoff.id)
    services.join_session(db, dana, case_id, session.id, "owner", "dana")
    services.join_session(db, ben, case_id, session.id, "collaborator", "ben")
    services.join_session(db, dana, case_id, session.id, "customer")

    forge_acceptance_by_ben(db, case_id, handoff.id)

    found = [v for v in check(db) if v.case_id == case_id]
    assert [v.invariant for v in found] == ["warm_handoff"]
    assert "without receiver (ben) present" in found[0].detail


def test_a_warm_handoff_is_not_reported(world: World) -> None:
    case_id = active_case(world)

    warm_accept(world, case_id, world.agent("dana"), world.agent("ben"))

    assert check(world.db) == []


@pytest.mark.parametrize(
    ("column", "value", "what"),
    [
        ("state", "handoff_pending", "state"),
        ("version", 9, "version"),
        ("owner_org_id", "firstbank", "owner org"),
    ],
)
def test_a_case_row_that_its_history_does_not_explain_is_reported(
    world: World, column: str, value: object, what: str
) -> None:
    case_id = active_case(world)

    execute(world.db, f"UPDATE cases SET {column} = :v WHERE id = :c", v=value, c=case_id)

    found = [v for v in check(world.db) if v.invariant == "history_matches_case"]
    assert [v.case_id for v in found] == [case_id]
    assert f"history leads to {what}" in found[0].detail


def test_a_closed_case_with_a_request_still_open_is_reported(world: World) -> None:
    db, dana = world.db, world.agent("dana")
    case_id = active_case(world)
    request = services.create_request(db, dana, case_id, "firstbank", "Release the hold")
    services.withdraw(db, dana, case_id, "The customer sorted it out")

    execute(db, "UPDATE requests SET state = 'open' WHERE id = :r", r=request.id)

    assert invariants(db) == {(case_id, "closed_leaves_nothing_open")}


def test_a_resolution_proposed_while_a_request_is_open_is_reported(world: World) -> None:
    db, dana = world.db, world.agent("dana")
    case_id = active_case(world)
    services.create_request(db, dana, case_id, "firstbank", "Release the hold")
    execute(db, "UPDATE requests SET state = 'done' WHERE case_id = :c", c=case_id)

    forge_event(db, case_id, "resolution_proposed", {"code": "fixed"}, state="resolution_proposed")

    assert invariants(db) == {(case_id, "no_open_requests")}


def test_a_resolution_while_the_owner_org_owes_itself_a_request_is_not_reported(
    world: World,
) -> None:
    """As the guard: a request to First Bank made before First Bank took the case over is its
    own work, and holds its resolution up no more than in the engine."""
    db, dana, ben = world.db, world.agent("dana"), world.agent("ben")
    case_id = active_case(world)
    services.create_request(db, dana, case_id, "firstbank", "Release the hold")
    warm_accept(world, case_id, dana, ben)

    services.propose_resolution(db, ben, case_id, "fixed", "Released the hold ourselves.")

    assert check(db) == []


def test_the_checker_can_be_asked_about_one_case(world: World) -> None:
    broken, sound = active_case(world), active_case(world)
    execute(world.db, "UPDATE cases SET version = 9 WHERE id = :c", c=broken)

    assert invariants(world.db, sound) == set()
    assert invariants(world.db, broken) == {(broken, "history_matches_case")}


def test_handoff_check_says_in_one_line_that_every_invariant_holds(world: World) -> None:
    every_kind_of_event(world)

    result = CliRunner().invoke(app, ["check"], env={"HANDOFF_DATABASE_URL": db_url_of(world)})

    assert (result.exit_code, result.stdout) == (0, "7 cases checked: every invariant holds\n")


def test_handoff_check_exits_1_listing_each_violation(world: World) -> None:
    broken, _sound = active_case(world), active_case(world)
    execute(world.db, "UPDATE cases SET owner_agent_id = NULL WHERE id = :c", c=broken)

    result = CliRunner().invoke(app, ["check"], env={"HANDOFF_DATABASE_URL": db_url_of(world)})

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "2 cases checked: 2 violations in 1 case",
        f"  case {broken}: owner_agent: the active case has no owner agent",
        f"  case {broken}: history_matches_case: history leads to owner agent 'dana', "
        "the case has None",
    ]


def db_url_of(world: World) -> str:
    return world.db.settings.database_url


def test_a_case_withdrawn_before_anyone_claimed_it_is_owned_by_whoever_withdrew_it(
    world: World,
) -> None:
    db, sam = world.db, world.agent("sam")
    case_id = services.create_case(
        db, world.system("acme-crm"), customer={"name": "Carla Diaz"}, subject="Hold"
    ).id

    closed = services.withdraw(db, sam, case_id, "The customer sorted it out")

    assert (closed.state, closed.owner.agent_id) == ("closed", "sam")
    assert check(db) == []
