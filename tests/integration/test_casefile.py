"""Commands read a case with one Core statement and write back exactly what they changed."""

from datetime import timedelta

from sqlalchemy import event

from handoff import services
from handoff.services.flow import now
from handoff.store import casefile
from handoff.store.models import Request, SessionParty
from tests.integration.world import World


def open_case(world: World) -> str:
    dana = world.agent("dana")
    return services.create_case(
        world.db, dana, customer={"name": "Carla"}, subject="Hold", participants=["firstbank"]
    ).id


def test_a_case_read_back_has_every_collection_in_its_order(world: World) -> None:
    case_id, dana = open_case(world), world.agent("dana")
    first = services.create_request(world.db, dana, case_id, "firstbank", "Release the hold")
    second = services.create_request(world.db, dana, case_id, "firstbank", "Refund the fee")
    services.start_session(world.db, dana, case_id)

    with world.db.reading() as session:
        loaded = casefile.load(session.connection(), case_id, lock=False)

    assert loaded is not None
    case = loaded.case
    assert case.participant_org_ids == ["acme", "firstbank"]
    assert [r.id for r in case.requests] == [first.id, second.id]
    assert [s.state for s in case.sessions] == ["live"]
    assert case.handoffs == []


def test_saving_writes_only_the_changed_columns_and_inserts_new_children(world: World) -> None:
    case_id = open_case(world)
    statements: list[str] = []

    def remember(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    with world.db.session() as session:
        loaded = casefile.load(session.connection(), case_id, lock=True)
        assert loaded is not None
        case = loaded.case
        case.priority = "urgent"
        case.requests.append(
            Request(from_org_id="acme", to_org_id="firstbank", action="Call back", respond_by=now())
        )
        event.listen(world.db.engine, "before_cursor_execute", remember)
        try:
            casefile.save(session.connection(), loaded)
        finally:
            event.remove(world.db.engine, "before_cursor_execute", remember)
        session.commit()
    new_request = case.requests[-1]

    updates = [s for s in statements if s.startswith("UPDATE")]
    assert len(updates) == 1
    assert "priority" in updates[0]
    assert "state" not in updates[0]
    assert sum(s.startswith("INSERT INTO requests") for s in statements) == 1
    assert new_request.id
    assert (new_request.case_id, new_request.state) == (case_id, "open")
    with world.db.reading() as session:
        again = casefile.load(session.connection(), case_id, lock=False)
    assert again is not None
    assert again.case.priority == "urgent"
    assert [r.id for r in again.case.requests] == [new_request.id]


def test_a_new_session_party_gets_the_id_the_database_gave_it(world: World) -> None:
    case_id, dana = open_case(world), world.agent("dana")
    session_id = services.start_session(world.db, dana, case_id).id

    with world.db.session() as session:
        loaded = casefile.load(session.connection(), case_id, lock=True)
        assert loaded is not None
        live = loaded.case.sessions[0]
        live.parties.append(SessionParty(party="customer", joined_at=now() - timedelta(1)))
        casefile.save(session.connection(), loaded)
        session.commit()

    party = live.parties[-1]
    assert isinstance(party.id, int)
    assert party.session_id == session_id
