"""Every row of the lifecycle table, fired from every state: where it may fire and where it may not.

The (trigger, state) pairs come from `handoff.lifecycle.CASE_TABLE` itself, so a new row or a new
source state is tested as soon as it is in the table (and fails here until this file can fire it).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from handoff import services
from handoff.config import Settings
from handoff.domain.attachments import GivenFile
from handoff.domain.errors import Refusal
from handoff.domain.lifecycle import CASE_TABLE, ROWS, STATES
from handoff.domain.principals import Actor, customer_of
from handoff.services import attachments, queries, timers
from handoff.services.views import CaseView
from handoff.store.db import Database
from tests.conftest import database_url
from tests.integration.world import World, build_world


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One world per database for this whole file, to keep its ~150 tests fast: each test works
    on a fresh case of its own and changes nothing else (no org, agent or window)."""
    database = Database(
        Settings(database_url=database_url(request.param, request, tmp_path_factory.mktemp("db")))
    )
    yield build_world(database)
    database.dispose()


HANDOFF_SUMMARY = "Order 5521 was cancelled; the card still shows a hold. Customer verified."
# The id used while a case has no handoff, request or session of that kind: a trigger's source
# state is checked before any id in its input is looked up, so the refusal is still the table's.
NO_SUCH_ID = "0" * 32


@dataclass
class Scene:
    """A fresh case brought into one state, and the handoff, request and session made on it."""

    world: World
    case_id: str
    handoff_id: str = NO_SUCH_ID
    request_id: str = NO_SUCH_ID
    session_id: str = NO_SUCH_ID

    @property
    def db(self) -> Database:
        return self.world.db

    def agent(self, agent_id: str) -> Actor:
        return self.world.agent(agent_id)

    def case(self) -> CaseView:
        return queries.get_case(self.db, self.world.auditor(), self.case_id)

    def event_types(self) -> list[str]:
        return [e.type for e in queries.case_events(self.db, self.world.auditor(), self.case_id)]


def later(window: timedelta) -> datetime:
    """A moment just past a window that starts now."""
    return datetime.now(UTC) + window + timedelta(minutes=1)


def claim(s: Scene) -> None:
    services.claim(s.db, s.agent("dana"), s.case_id)


def escalate_unclaimed(s: Scene) -> None:
    with freeze_time(later(timedelta(minutes=15))):
        services.escalate_unclaimed(s.db, s.case_id)


def assign(s: Scene) -> None:
    services.assign(s.db, s.agent("dana"), s.case_id, "dave")


def propose_handoff(s: Scene) -> None:
    handoff = services.propose_handoff(
        s.db, s.agent("dana"), s.case_id, to_org="firstbank", summary=HANDOFF_SUMMARY
    )
    s.handoff_id = handoff.id


def accept_handoff(s: Scene) -> None:
    services.accept_handoff(s.db, s.agent("ben"), s.case_id, s.handoff_id)


def decline_handoff(s: Scene) -> None:
    reason = "The hold is the merchant's to release."
    services.decline_handoff(s.db, s.agent("ben"), s.case_id, s.handoff_id, reason=reason)


def cancel_handoff(s: Scene) -> None:
    services.cancel_handoff(s.db, s.agent("dana"), s.case_id, s.handoff_id)


def expire_handoff(s: Scene) -> None:
    with freeze_time(later(timedelta(hours=24))):
        services.expire_handoff(s.db, s.case_id)


def await_customer(s: Scene) -> None:
    services.await_customer(s.db, s.agent("dana"), s.case_id, needed="the card statement")


def customer_responded(s: Scene) -> None:
    note = "Statement attached."
    services.customer_responded(s.db, s.world.system("acme-crm"), s.case_id, note=note)


def propose_resolution(s: Scene) -> None:
    summary = "We refunded the order and the hold on your card is gone."
    services.propose_resolution(s.db, s.agent("dana"), s.case_id, "refunded", summary)


def confirm_resolution(s: Scene) -> None:
    services.confirm_resolution(s.db, customer_of(s.case_id), s.case_id)


def reject_resolution(s: Scene) -> None:
    reason = "The hold is still there."
    services.reject_resolution(s.db, customer_of(s.case_id), s.case_id, reason=reason)


def auto_close(s: Scene) -> None:
    with freeze_time(later(timedelta(days=7))):
        services.auto_close(s.db, s.case_id)


def reopen(s: Scene) -> None:
    services.reopen(s.db, customer_of(s.case_id), s.case_id, reason="The hold came back.")


def withdraw(s: Scene) -> None:
    # A supervisor, because an unclaimed case has no owner agent yet.
    reason = "The customer sorted it out."
    services.withdraw(s.db, s.agent("sam"), s.case_id, reason=reason)


def add_participant(s: Scene) -> None:
    reason = "The vending machine took the payment."
    services.add_participant(s.db, s.world.system("acme-crm"), s.case_id, "vendo", reason=reason)


def create_request(s: Scene) -> None:
    request = services.create_request(
        s.db, s.agent("dana"), s.case_id, to_org="firstbank", action="Release the hold"
    )
    s.request_id = request.id


def acknowledge_request(s: Scene) -> None:
    services.acknowledge_request(s.db, s.agent("ben"), s.case_id, s.request_id)


def complete_request(s: Scene) -> None:
    note = "Hold released."
    services.complete_request(s.db, s.agent("ben"), s.case_id, s.request_id, note=note)


def decline_request(s: Scene) -> None:
    reason = "No hold found."
    services.decline_request(s.db, s.agent("ben"), s.case_id, s.request_id, reason=reason)


def escalate_overdue_request(s: Scene) -> None:
    with freeze_time(later(timedelta(hours=24))):
        timers.escalate_overdue_request(s.db, s.case_id, s.request_id)


def start_session(s: Scene) -> None:
    s.session_id = services.start_session(s.db, s.agent("dana"), s.case_id).id


def join_session(s: Scene) -> None:
    dana = s.agent("dana")
    services.join_session(s.db, dana, s.case_id, s.session_id, party="owner", agent_id="dana")


def leave_session(s: Scene) -> None:
    dana = s.agent("dana")
    services.leave_session(s.db, dana, s.case_id, s.session_id, party="owner", agent_id="dana")


def end_session(s: Scene) -> None:
    services.end_session(s.db, s.agent("dana"), s.case_id, s.session_id)


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def add_attachments(s: Scene) -> None:
    given = [GivenFile("label.png", PNG)]
    attachments.attach(s.db, s.world.system("acme-crm"), s.case_id, given)


def post_message(s: Scene) -> None:
    services.post_message(s.db, s.agent("dana"), s.case_id, s.session_id, "I am looking into it.")


def add_note(s: Scene) -> None:
    services.add_note(s.db, s.agent("dana"), s.case_id, "Called the customer back.")


FIRE: dict[str, Callable[[Scene], None]] = {
    fire.__name__: fire
    for fire in (
        claim,
        escalate_unclaimed,
        assign,
        propose_handoff,
        accept_handoff,
        decline_handoff,
        cancel_handoff,
        expire_handoff,
        await_customer,
        customer_responded,
        propose_resolution,
        confirm_resolution,
        reject_resolution,
        auto_close,
        reopen,
        withdraw,
        add_participant,
        create_request,
        acknowledge_request,
        complete_request,
        decline_request,
        escalate_overdue_request,
        start_session,
        join_session,
        leave_session,
        end_session,
        post_message,
        add_attachments,
        add_note,
    )
}


def warm_session(s: Scene) -> None:
    """Owner, receiver and customer in a live session for the pending handoff."""
    dana, ben = s.agent("dana"), s.agent("ben")
    session = services.start_session(s.db, dana, s.case_id, handoff_id=s.handoff_id)
    s.session_id = session.id
    services.join_session(s.db, dana, s.case_id, session.id, party="owner", agent_id="dana")
    services.join_session(s.db, ben, s.case_id, session.id, party="receiver", agent_id="ben")
    services.join_session(s.db, dana, s.case_id, session.id, party="customer")


# What must already be there before a trigger can succeed, beyond the case's state.
PREPARE: dict[str, Callable[[Scene], None]] = {
    "accept_handoff": warm_session,
    "acknowledge_request": create_request,
    "complete_request": create_request,
    "decline_request": create_request,
    "escalate_overdue_request": create_request,
    "join_session": start_session,
    "leave_session": lambda s: (start_session(s), join_session(s)),
    "end_session": start_session,
    "post_message": lambda s: (start_session(s), join_session(s)),
}

# How a fresh case reaches each state, through the same public services.
PATH_TO: dict[str, tuple[Callable[[Scene], None], ...]] = {
    "unclaimed": (),
    "active": (claim,),
    "handoff_pending": (claim, propose_handoff),
    "awaiting_customer": (claim, await_customer),
    "resolution_proposed": (claim, propose_resolution),
    "closed": (claim, propose_resolution, confirm_resolution),
}

# Changes that bring further events after the trigger's own.
FOLLOWUPS = {("withdraw", "handoff_pending"): ["handoff_cancelled"]}

# Refused from these states with a code of their own rather than invalid_transition.
OWN_REFUSAL = {("propose_handoff", "handoff_pending"): "handoff_pending"}


def bring_case_to(world: World, state: str) -> Scene:
    """A new case from the owner's partner system, the bank taking part, walked into `state`."""
    case = services.create_case(
        world.db,
        world.system("acme-crm"),
        customer={"name": "Carla Diaz"},
        subject="Order cancelled, card still charged",
        participants=["firstbank"],
    )
    scene = Scene(world, case.id)
    for step in PATH_TO[state]:
        step(scene)
    assert scene.case().state == state
    return scene


def allowed_from(state: str) -> list[str]:
    return sorted(row.trigger for row in CASE_TABLE if state in row.source)


def pair(trigger: str, state: str) -> object:
    return pytest.param(trigger, state, id=f"{trigger}-from-{state}")


FIRING = [pair(row.trigger, state) for row in CASE_TABLE for state in row.source]
NOT_FROM = [
    pair(row.trigger, state)
    for row in CASE_TABLE
    for state in STATES
    if state not in row.source and (row.trigger, state) not in OWN_REFUSAL
]


def test_this_file_can_bring_a_case_into_every_state_and_fire_every_trigger() -> None:
    assert set(PATH_TO) == set(STATES)
    assert set(FIRE) == set(ROWS)


@pytest.mark.parametrize(("trigger", "state"), FIRING)
def test_a_trigger_from_one_of_its_source_states_moves_the_case_and_records_its_event(
    world: World, trigger: str, state: str
) -> None:
    scene = bring_case_to(world, state)
    PREPARE.get(trigger, lambda _s: None)(scene)
    before, history_before = scene.case(), scene.event_types()

    FIRE[trigger](scene)

    after, row = scene.case(), ROWS[trigger]
    assert after.state == (row.dest or state)
    assert after.version == before.version + 1
    new_events = scene.event_types()[len(history_before) :]
    assert new_events == [row.event, *FOLLOWUPS.get((trigger, state), [])]


@pytest.mark.parametrize(("trigger", "state"), NOT_FROM)
def test_a_trigger_from_any_other_state_is_refused_and_lists_the_triggers_that_state_allows(
    world: World, trigger: str, state: str
) -> None:
    scene = bring_case_to(world, state)
    before, history_before = scene.case(), scene.event_types()

    with pytest.raises(Refusal) as refused:
        FIRE[trigger](scene)

    assert refused.value.code == "invalid_transition"
    assert refused.value.details["allowed_triggers"] == allowed_from(state)
    after = scene.case()
    assert (after.state, after.version, after.owner) == (state, before.version, before.owner)
    assert scene.event_types() == history_before


@pytest.mark.parametrize(("trigger", "state", "code"), [(*p, c) for p, c in OWN_REFUSAL.items()])
def test_a_trigger_with_a_refusal_of_its_own_in_a_state_gets_that_code(
    world: World, trigger: str, state: str, code: str
) -> None:
    scene = bring_case_to(world, state)
    before, history_before = scene.case(), scene.event_types()

    with pytest.raises(Refusal) as refused:
        FIRE[trigger](scene)

    assert refused.value.code == code
    after = scene.case()
    assert (after.state, after.version, after.owner) == (state, before.version, before.owner)
    assert scene.event_types() == history_before
