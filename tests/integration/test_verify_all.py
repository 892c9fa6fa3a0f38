"""`verify_all` (the `handoff verify` command): every chain, in case order, in this process or
in worker processes; rows written before JSON was stored canonically still verify."""

import json
import multiprocessing
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, text
from sqlalchemy.pool import StaticPool

from handoff import services
from handoff.config import Settings
from handoff.history import chain
from handoff.history.chain import Verification
from handoff.services import queries
from handoff.store.db import Database, make_engine
from handoff.store.models import Base, CaseRow, Event
from tests.integration.test_history import tamper, worked_case
from tests.integration.world import World, build_world

START = datetime(2025, 1, 1, tzinfo=UTC)


def synthetic_cases(db: Database, count: int) -> list[str]:
    """`count` cases of 0 to 4 events each, written straight into the tables; their ids."""
    cases, events = [], []
    for number in range(1, count + 1):
        case_id, prev = uuid.uuid4().hex, chain.GENESIS_HASH  # ids in no order but their own
        for seq in range(1, number % 5 + 1):
            event = Event(
                case_id=case_id, seq=seq, type="note_added", actor_kind="agent", actor_id="dana",
                org_id="acme", at=START + timedelta(seconds=number, microseconds=seq),
                data={"text": f"Note {seq} — ünïcode", "visibility": "internal"}, prev_hash=prev,
            )  # fmt: skip
            event.hash = prev = chain.event_hash(event)
            events.append({c: getattr(event, c) for c in chain.STORED_EVENT})
        cases.append(
            {"id": case_id, "number": 1000 + number, "state": "active", "subject": "Synthetic",
             "customer": {"name": "Carla Diaz"}, "owner_org_id": "acme",
             "first_contact_org_id": "acme", "customer_link": uuid.uuid4().hex,
             "last_seq": number % 5, "last_hash": prev}
        )  # fmt: skip
    with db.engine.begin() as conn:
        conn.execute(insert(CaseRow), cases)
        conn.execute(insert(Event), events)
    return [c["id"] for c in cases]


def stored_data(db: Database, case_id: str) -> list[str]:
    with db.engine.connect() as conn:
        query = text("SELECT CAST(data AS TEXT) FROM events WHERE case_id = :id ORDER BY seq")
        return list(conn.scalars(query, {"id": case_id}))


def writing_json_as_before(db: Database) -> Database:
    """The same database, its JSON written as it was before it was stored canonically."""
    return Database(db.settings, make_engine(db.settings.database_url, json_serializer=json.dumps))


def test_rows_written_before_json_was_stored_canonically_still_verify(world: World) -> None:
    before = writing_json_as_before(world.db)
    old_only, case_id = worked_case(World(before)), worked_case(World(before))
    services.add_note(before, world.agent("dana"), case_id, "Rückruf — morgen", "internal")
    before.dispose()
    services.add_note(world.db, world.agent("dana"), case_id, "Rückruf — heute", "internal")

    old, new = stored_data(world.db, case_id)[-2:]
    assert (old, new) == (
        '{"text": "R\\u00fcckruf \\u2014 morgen", "visibility": "internal"}',
        '{"text":"Rückruf — heute","visibility":"internal"}',
    )
    for workers in (1, 2):
        assert list(queries.verify_all(world.db, workers=workers, slice_size=1)) == [
            (old_only, Verification(True, 5, None)),
            (case_id, Verification(True, 7, None)),
        ]


def test_an_old_row_edited_is_reported_at_its_seq(world: World) -> None:
    before = writing_json_as_before(world.db)
    case_id = worked_case(World(before))
    before.dispose()

    tamper(
        world.db,
        "UPDATE events SET data = :data WHERE case_id = :case_id AND seq = 3",
        data='{"action": "Nothing to see here"}',
        case_id=case_id,
    )

    assert dict(queries.verify_all(world.db)) == {case_id: Verification(False, 5, 3)}


@pytest.mark.parametrize(
    ("statement", "verification"),
    [
        (
            'UPDATE events SET data = \'{"text":"rewritten"}\' WHERE case_id = :id AND seq = 2',
            Verification(False, 4, 2),
        ),
        ("DELETE FROM events WHERE case_id = :id AND seq = 3", Verification(False, 3, 3)),
    ],
    ids=["edited", "deleted"],
)
def test_worker_processes_report_a_tampered_chain_at_its_first_broken_seq(
    world: World, statement: str, verification: Verification
) -> None:
    cases = synthetic_cases(world.db, 40)
    tampered = cases[23]  # number 1024: four events
    tamper(world.db, statement, id=tampered)

    verified = list(queries.verify_all(world.db, workers=2, slice_size=3))

    assert [case_id for case_id, _ in verified] == cases
    assert {c: v for c, v in verified if not v.valid} == {tampered: verification}


def test_worker_processes_verify_every_chain_as_this_process_does(world: World) -> None:
    cases = synthetic_cases(world.db, 3000)
    broken = cases[1233]  # number 2234: four events
    tamper(world.db, "UPDATE events SET hash = prev_hash WHERE case_id = :id", id=broken)

    here = list(queries.verify_all(world.db, workers=1, slice_size=100))
    in_workers = list(queries.verify_all(world.db, workers=2, slice_size=100))

    assert in_workers == here
    assert [case_id for case_id, _ in here] == cases
    assert sum(v.events for _, v in here) == 6000
    assert [c for c, v in here if not v.valid] == [broken]


def test_closing_the_walk_early_ends_the_worker_processes(world: World) -> None:
    first = synthetic_cases(world.db, 200)[0]
    verified = queries.verify_all(world.db, workers=2, slice_size=5)

    assert next(verified) == (first, Verification(True, 1, None))
    assert multiprocessing.active_children()
    verified.close()
    assert not multiprocessing.active_children()


def test_a_case_written_to_after_the_walk_began_is_not_taken_for_a_broken_one(
    world: World,
) -> None:
    first, second = worked_case(world), worked_case(world)
    verified = queries.verify_all(world.db, workers=1, slice_size=1)

    assert next(verified) == (first, Verification(True, 5, None))
    services.add_note(world.db, world.agent("dana"), second, "Called back", "internal")

    assert next(verified) == (second, Verification(True, 6, None))


def test_an_in_memory_database_is_verified_in_this_process() -> None:
    # No other process can open it: workers would find an empty database.
    engine = make_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    db = Database(Settings(database_url="sqlite://"), engine)
    world = build_world(db)
    case_ids = [worked_case(world), worked_case(world)]

    verified = list(queries.verify_all(db, workers=2, slice_size=1))

    assert verified == [(c, Verification(True, 5, None)) for c in case_ids]
    db.dispose()
