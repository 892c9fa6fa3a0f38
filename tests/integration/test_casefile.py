"""The case store reads a case with its children and writes back exactly what a command changed."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from handoff import services
from handoff.domain.case import Request, SessionParty
from handoff.store import casefile, sql
from handoff.store.models import utcnow as now
from tests.integration.world import World


def open_case(world: World) -> str:
    dana = world.agent("dana")
    return services.create_case(
        world.db, dana, customer={"name": "Carla"}, subject="Hold", participants=["firstbank"]
    ).id


@contextmanager
def statements_sent() -> Iterator[list[str]]:
    sent: list[str] = []

    def remember(statement: str, _params: Mapping[str, Any]) -> None:
        sent.append(statement)

    with sql.watching(remember):
        yield sent


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

    with world.db.session() as session:
        loaded = casefile.load(session.connection(), case_id, lock=True)
        assert loaded is not None
        case = loaded.case
        case.priority = "urgent"
        case.requests.append(
            Request(from_org_id="acme", to_org_id="firstbank", action="Call back", respond_by=now())
        )
        with statements_sent() as statements:
            casefile.save(session.connection(), loaded)
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


def test_a_change_to_every_kind_of_child_is_written_and_read_back(world: World) -> None:
    case_id, dana = open_case(world), world.agent("dana")
    request = services.create_request(world.db, dana, case_id, "firstbank", "Release the hold")
    handoff = services.propose_handoff(world.db, dana, case_id, "firstbank", "Carla's pending hold")
    services.start_session(world.db, dana, case_id, handoff_id=handoff.id)
    services.join_session(world.db, dana, case_id, session_id_of(world, case_id), "owner", "dana")
    later = now() + timedelta(minutes=5)

    with world.db.session() as session:
        loaded = casefile.load(session.connection(), case_id, lock=True)
        assert loaded is not None
        case = loaded.case
        case.customer = {"name": "Carla", "phone": "+44 20 7946 0000"}
        case.participants[1].reason = "holds the charge"
        case.requests[0].state, case.requests[0].note = "done", "Released"
        case.handoffs[0].summary = "Carla's pending hold, with the receipt"
        case.sessions[0].state, case.sessions[0].ended_at = "ended", later
        case.sessions[0].parties[0].left_at = later
        casefile.save(session.connection(), loaded)
        session.commit()

    with world.db.reading() as session:
        again = casefile.load(session.connection(), case_id, lock=False)
        assert again is not None
        settled = again.request(request.id)
    case = again.case
    assert case.customer == {"name": "Carla", "phone": "+44 20 7946 0000"}
    assert case.participants[1].reason == "holds the charge"
    assert case.request_counts["done"] == 1  # settled: carried once a command names it
    assert settled is not None
    assert (settled.id, settled.state, settled.note) == (request.id, "done", "Released")
    assert case.handoffs[0].summary == "Carla's pending hold, with the receipt"
    assert (case.sessions[0].state, case.sessions[0].ended_at) == ("ended", later)
    assert case.sessions[0].parties[0].left_at == later


def session_id_of(world: World, case_id: str) -> str:
    with world.db.reading() as session:
        loaded = casefile.load(session.connection(), case_id, lock=False)
    assert loaded is not None
    return loaded.case.sessions[0].id


def test_loading_costs_the_same_statements_whatever_the_case_holds(world: World) -> None:
    """No statement's rows multiply one child list by another: each returns at most the
    longest child list (here six requests, not three participants times six requests)."""
    small, large, dana = open_case(world), open_case(world), world.agent("dana")
    services.add_participant(world.db, dana, large, "vendo", "ships the part")
    for n in range(6):
        services.create_request(world.db, dana, large, "firstbank", f"Step {n}")

    def load_watching(case_id: str) -> list[tuple[str, dict[str, Any]]]:
        sent: list[tuple[str, dict[str, Any]]] = []
        with world.db.reading() as session:
            with sql.watching(lambda statement, params: sent.append((statement, dict(params)))):
                assert casefile.load(session.connection(), case_id, lock=False) is not None
            selects = [(s, p) for s, p in sent if s.startswith("SELECT")]
            rows = [len(session.connection().exec_driver_sql(s, p).all()) for s, p in selects]
        assert max(rows) <= 6
        return sent

    assert len(load_watching(large)) == len(load_watching(small))


def test_loading_a_case_reads_its_open_requests_and_counts_the_settled_ones(world: World) -> None:
    """Whatever a case has settled and written, its load sends the statements a fresh case's
    does, and no statement returns more rows than the case has open requests or participants."""
    fresh, grown, dana, ben = (
        open_case(world),
        open_case(world),
        world.agent("dana"),
        world.agent("ben"),
    )
    for n in range(12):
        made = services.create_request(world.db, dana, grown, "firstbank", f"Step {n}")
        if n >= 2:
            services.complete_request(world.db, ben, grown, made.id, note="Done.")
    for n in range(20):
        services.add_note(world.db, ben, grown, f"Called, {n}.")

    def rows_per_statement(case_id: str) -> list[int]:
        sent: list[tuple[str, dict[str, Any]]] = []
        with world.db.reading() as session:
            with sql.watching(lambda statement, params: sent.append((statement, dict(params)))):
                assert casefile.load(session.connection(), case_id, lock=False) is not None
            conn = session.connection()
            return [
                len(conn.exec_driver_sql(s, p).all()) if s.startswith("SELECT") else 0
                for s, p in sent
            ]

    assert len(rows_per_statement(grown)) == len(rows_per_statement(fresh))
    assert max(rows_per_statement(grown)) == 2  # the two open requests (and two participants)
    with world.db.reading() as session:
        loaded = casefile.load(session.connection(), grown, lock=False)
    assert loaded is not None
    assert len(loaded.case.requests) == 2
    assert loaded.case.request_counts == {
        "open": 2,
        "acknowledged": 0,
        "done": 10,
        "declined": 0,
        "cancelled": 0,
    }
