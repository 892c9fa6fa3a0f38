"""A customer present by their link stays while their page's stream beats, and is let go by the
worker a minute after it stops (SPEC §12)."""

from collections import Counter
from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from handoff import services
from handoff.delivery.worker import tick
from handoff.domain.principals import customer_of
from handoff.services import queries
from handoff.services.sessions import customer_seen
from tests.integration.world import World

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def customer_in_a_session(world: World) -> tuple[str, str]:
    dana = world.agent("dana")
    with freeze_time(T0):
        case = services.create_case(world.db, dana, customer={"name": "Carla"}, subject="Hold")
        session = services.start_session(world.db, dana, case.id)
        services.join_session(world.db, customer_of(case.id), case.id, session.id, "customer")
    return case.id, session.id


def present(world: World, case_id: str) -> list[tuple[str, str]]:
    session = queries.get_case(world.db, world.agent("dana"), case_id).session
    assert session is not None
    return [(p.party, p.via) for p in session.present]


def test_the_customer_stays_while_their_page_beats_and_is_let_go_a_minute_after(
    world: World,
) -> None:
    case_id, _ = customer_in_a_session(world)
    assert present(world, case_id) == [("customer", "link")]
    with freeze_time(T0 + timedelta(seconds=45)):
        assert customer_seen(world.db, case_id)  # the page's stream is still open
    with freeze_time(T0 + timedelta(seconds=100)):
        assert tick(world.db) == Counter()  # 55 s after the last beat
    assert present(world, case_id) == [("customer", "link")]
    with freeze_time(T0 + timedelta(seconds=106)):
        assert tick(world.db) == Counter(customer_connections_lost=1)
        assert tick(world.db) == Counter()
    assert present(world, case_id) == []
    left = queries.case_events(world.db, world.auditor(), case_id)[-1]
    assert (left.type, left.data["reason"], left.data["via"]) == (
        "session_left",
        "connection_lost",
        "link",
    )


def test_a_beat_with_nobody_present_by_link_changes_nothing(world: World) -> None:
    case_id, session_id = customer_in_a_session(world)
    services.leave_session(world.db, customer_of(case_id), case_id, session_id, "customer")
    assert not customer_seen(world.db, case_id)
    with freeze_time(T0 + timedelta(minutes=5)):
        assert tick(world.db) == Counter()
