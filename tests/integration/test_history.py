"""The case history (SPEC §6): one event per change, a SHA-256 chain, a database refusing edits."""

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from handoff import services
from handoff.history import chain as history
from handoff.history.chain import GENESIS_HASH, canonical
from handoff.services import queries
from handoff.store.db import Database
from handoff.store.models import CaseRow, Event, RequestRow
from tests.integration.world import World, tampering


def stored_events(db: Database, case_id: str) -> list[Event]:
    with db.reading() as session:
        return list(
            session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq))
        )


def stored_case(db: Database, case_id: str) -> CaseRow:
    with db.reading() as session:
        case = session.get(CaseRow, case_id)
        assert case is not None
        return case


def raw_event_row(db: Database, case_id: str, seq: int) -> tuple[Any, ...]:
    with db.engine.connect() as conn:
        return tuple(
            conn.execute(
                text("SELECT * FROM events WHERE case_id = :case_id AND seq = :seq"),
                {"case_id": case_id, "seq": seq},
            ).one()
        )


def edit_events(db: Database, sql: str, **params: Any) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(sql), params)


def tamper(db: Database, sql: str, **params: Any) -> None:
    """Play a tamperer: `sql` runs with the append-only triggers lifted (world.tampering)."""
    with tampering(db) as conn:
        conn.execute(text(sql), params)


def unclaimed_case(world: World) -> str:
    crm = world.system("acme-crm")
    customer = {"name": "Carla Diaz"}
    case = services.create_case(
        world.db, crm, customer=customer, subject="Pending charge", participants=["firstbank"]
    )
    return case.id


def worked_case(world: World) -> str:
    """A case with five events: created, claimed, a request, a note, the request acknowledged."""
    db, dana, ben = world.db, world.agent("dana"), world.agent("ben")
    case_id = unclaimed_case(world)
    services.claim(db, dana, case_id)
    request = services.create_request(db, dana, case_id, to_org="firstbank", action="Release it")
    services.add_note(db, ben, case_id, "Looking into it", "internal")
    services.acknowledge_request(db, ben, case_id, request.id)
    return case_id


def test_each_change_appends_exactly_one_event_with_the_next_seq(world: World) -> None:
    db, dana, ben = world.db, world.agent("dana"), world.agent("ben")
    case_id = unclaimed_case(world)
    changes: list[Callable[[], object]] = [
        lambda: services.claim(db, dana, case_id),
        lambda: services.add_note(db, dana, case_id, "Called the customer", "internal"),
        lambda: services.create_request(db, dana, case_id, to_org="firstbank", action="Release"),
        lambda: services.add_note(db, ben, case_id, "On it", "internal"),
        lambda: services.await_customer(db, dana, case_id, needed="a photo of the statement"),
    ]
    assert [e.seq for e in stored_events(db, case_id)] == [1]

    for count, change in enumerate(changes, start=2):
        change()
        events = stored_events(db, case_id)
        stored = stored_case(db, case_id)
        assert [e.seq for e in events] == list(range(1, count + 1))
        assert (stored.version, stored.last_seq, stored.last_hash) == (
            count,
            count,
            events[-1].hash,
        )


def test_each_hash_is_the_sha256_of_the_canonical_event_chained_to_the_one_before(
    world: World,
) -> None:
    case_id = worked_case(world)
    events = stored_events(world.db, case_id)

    prev_hash = GENESIS_HASH
    for event in events:
        encoded = canonical(
            case_id=event.case_id,
            seq=event.seq,
            type=event.type,
            actor_kind=event.actor_kind,
            actor_id=event.actor_id,
            org_id=event.org_id,
            at=event.at,
            data=event.data,
            prev_hash=prev_hash,
        )
        assert event.prev_hash == prev_hash
        assert event.hash == hashlib.sha256(encoded).hexdigest()
        prev_hash = event.hash
    assert len(events) == 5
    assert stored_case(world.db, case_id).last_hash == prev_hash
    assert queries.verify_case(world.db, world.auditor(), case_id) == history.Verification(
        valid=True, events=5, first_broken_seq=None
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET data = '{}' WHERE case_id = :case_id AND seq = 2",
        "UPDATE events SET hash = prev_hash WHERE case_id = :case_id AND seq = 2",
        "DELETE FROM events WHERE case_id = :case_id AND seq = 2",
        "DELETE FROM events WHERE case_id = :case_id",
    ],
    ids=["update-data", "update-hash", "delete-one", "delete-all"],
)
def test_the_database_refuses_to_update_or_delete_an_event(world: World, statement: str) -> None:
    case_id = worked_case(world)
    before = raw_event_row(world.db, case_id, 2)

    with pytest.raises(DBAPIError, match="append-only"):
        edit_events(world.db, statement, case_id=case_id)

    assert raw_event_row(world.db, case_id, 2) == before
    assert len(stored_events(world.db, case_id)) == 5
    assert queries.verify_case(world.db, world.auditor(), case_id).valid


def test_the_database_refuses_to_empty_the_events_even_by_truncating(world: World) -> None:
    case_id = worked_case(world)
    emptyings = (
        ["TRUNCATE events", "TRUNCATE cases CASCADE"]  # a cascade from cases reaches events
        if world.db.is_postgres
        else ["DELETE FROM events"]  # SQLite has no TRUNCATE
    )

    for emptying in emptyings:
        with pytest.raises(DBAPIError, match="append-only"):
            edit_events(world.db, emptying)

    assert len(stored_events(world.db, case_id)) == 5
    assert queries.verify_case(world.db, world.auditor(), case_id).valid


def test_verify_finds_the_event_whose_data_was_edited(world: World) -> None:
    case_id = worked_case(world)

    tamper(
        world.db,
        "UPDATE events SET data = :data WHERE case_id = :case_id AND seq = 3",
        data='{"action": "Nothing to see here"}',
        case_id=case_id,
    )

    verification = queries.verify_case(world.db, world.auditor(), case_id)
    assert (verification.valid, verification.first_broken_seq) == (False, 3)
    assert verification.events == 5


def test_a_rewritten_event_with_a_recomputed_hash_breaks_the_link_of_the_next_one(
    world: World,
) -> None:
    case_id = worked_case(world)
    forged = stored_events(world.db, case_id)[2]
    forged.data = {"action": "Nothing to see here"}
    forged_hash = history.event_hash(forged)

    tamper(
        world.db,
        "UPDATE events SET data = :data, hash = :hash WHERE case_id = :case_id AND seq = 3",
        data='{"action": "Nothing to see here"}',
        hash=forged_hash,
        case_id=case_id,
    )

    assert stored_events(world.db, case_id)[2].hash == forged_hash
    verification = queries.verify_case(world.db, world.auditor(), case_id)
    assert (verification.valid, verification.first_broken_seq) == (False, 4)


def test_a_deleted_middle_event_is_reported_as_the_gap(world: World) -> None:
    case_id = worked_case(world)

    tamper(world.db, "DELETE FROM events WHERE case_id = :case_id AND seq = 3", case_id=case_id)

    verification = queries.verify_case(world.db, world.auditor(), case_id)
    assert (verification.valid, verification.events, verification.first_broken_seq) == (
        False,
        4,
        3,
    )


def test_the_triggers_are_back_after_tampering(world: World) -> None:
    case_id = worked_case(world)
    with tampering(world.db):
        pass

    with pytest.raises(DBAPIError, match="append-only"):
        edit_events(world.db, "DELETE FROM events WHERE case_id = :case_id", case_id=case_id)


def test_a_command_failing_midway_leaves_neither_its_change_nor_any_event(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, dana = world.db, world.agent("dana")
    case_id = worked_case(world)
    before_case, before_events = stored_case(db, case_id), stored_events(db, case_id)
    real_next_event, calls = history.next_event, []

    def failing_on_the_second_event(*args: Any, **kwargs: Any) -> Event:
        calls.append(args[1].type)  # (case, event, …)
        if len(calls) == 2:
            raise RuntimeError("the disk is full")
        return real_next_event(*args, **kwargs)

    monkeypatch.setattr(history, "next_event", failing_on_the_second_event)

    with pytest.raises(RuntimeError, match="the disk is full"):
        services.withdraw(db, dana, case_id, reason="The customer sorted it out")

    assert calls == ["withdrawn", "request_cancelled"]
    after = stored_case(db, case_id)
    assert (after.state, after.version, after.closed_at, after.resolution_code) == (
        before_case.state,
        before_case.version,
        None,
        None,
    )
    assert (after.last_seq, after.last_hash) == (before_case.last_seq, before_case.last_hash)
    with db.reading() as session:
        assert [r.state for r in session.scalars(select(RequestRow))] == ["acknowledged"]
    assert [e.hash for e in stored_events(db, case_id)] == [e.hash for e in before_events]

    monkeypatch.undo()
    closed = services.withdraw(db, dana, case_id, reason="The customer sorted it out")
    assert closed.state == "closed"
    assert [e.type for e in stored_events(db, case_id)][-2:] == ["withdrawn", "request_cancelled"]
    assert queries.verify_case(db, world.auditor(), case_id).valid
