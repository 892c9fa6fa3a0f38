"""Each refusal of SPEC §3, provoked as a real user would, and what it leaves on the record (§6).

The refusals that would send the customer away append one `refused` event and change nothing
else; every other refusal leaves no trace at all.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from handoff import services
from handoff.domain.errors import Forbidden, NotFound, Refusal
from handoff.domain.lifecycle import CASE_TABLE
from handoff.domain.principals import customer_of
from handoff.services import queries
from handoff.services.views import EventView, Owner
from handoff.store.models import AgentRow
from tests.integration.world import ADMIN, World

SUMMARY = "Order 5521 was cancelled by the shop; the card still shows a hold. Identity verified."


@dataclass(frozen=True)
class Snapshot:
    state: str
    owner: Owner
    version: int
    events: list[EventView]


def snapshot(world: World, case_id: str) -> Snapshot:
    case = queries.get_case(world.db, world.auditor(), case_id)
    events = queries.case_events(world.db, world.auditor(), case_id)
    return Snapshot(case.state, case.owner, case.version, events)


def assert_unchanged_but_for(world: World, case_id: str, before: Snapshot) -> list[EventView]:
    """The case's state, owner and version are as before; returns the events added since."""
    after = snapshot(world, case_id)
    assert (after.state, after.owner, after.version) == (before.state, before.owner, before.version)
    assert after.events[: len(before.events)] == before.events
    return after.events[len(before.events) :]


def assert_no_trace(world: World, case_id: str, before: Snapshot) -> None:
    assert assert_unchanged_but_for(world, case_id, before) == []


def assert_refusal_on_record(
    world: World, case_id: str, before: Snapshot, code: str, actor_id: str
) -> EventView:
    """Exactly one `refused` event, naming who tried and the code, and nothing else changed."""
    (event,) = assert_unchanged_but_for(world, case_id, before)
    assert event.type == "refused"
    assert event.data["code"] == code
    assert event.actor["id"] == actor_id
    return event


def active_case(
    world: World, owner: str = "dana", participants: tuple[str, ...] = ("firstbank",)
) -> str:
    """A case the agent opened, and so owns at once."""
    case = services.create_case(
        world.db,
        world.agent(owner),
        customer={"name": "Carla Diaz", "email": "carla@example.com"},
        subject="Order cancelled, card still charged",
        participants=list(participants),
    )
    assert (case.state, case.owner.agent_id) == ("active", owner)
    return case.id


def warm_handoff(world: World, case_id: str, owner: str, receiver: str, to_org: str) -> None:
    """Propose, meet the customer in a joint session, and let the receiver accept."""
    db, giver, taker = world.db, world.agent(owner), world.agent(receiver)
    handoff = services.propose_handoff(db, giver, case_id, to_org=to_org, summary=SUMMARY)
    session = services.start_session(db, giver, case_id, handoff_id=handoff.id)
    services.join_session(db, giver, case_id, session.id, party="owner", agent_id=owner)
    services.join_session(db, taker, case_id, session.id, party="receiver", agent_id=receiver)
    services.join_session(db, giver, case_id, session.id, party="customer")
    case = services.accept_handoff(db, taker, case_id, handoff.id)
    assert case.owner == Owner(to_org, receiver)


def closed_case(world: World) -> str:
    case_id = active_case(world)
    services.propose_resolution(
        world.db, world.agent("dana"), case_id, "refunded", "We refunded the order."
    )
    services.confirm_resolution(world.db, customer_of(case_id), case_id)
    return case_id


def agent_is_active(world: World, agent_id: str) -> bool:
    with world.db.reading() as session:
        agent = session.get(AgentRow, agent_id)
        assert agent is not None
        return agent.active


# invalid_transition


def test_claiming_a_case_someone_already_claimed_is_refused_and_lists_what_the_case_allows(
    world: World,
) -> None:
    db = world.db
    case = services.create_case(
        db, world.system("acme-crm"), customer={"name": "Carla Diaz"}, subject="Card charged"
    )
    services.claim(db, world.agent("dana"), case.id)
    before = snapshot(world, case.id)

    with pytest.raises(Refusal) as refused:
        services.claim(db, world.agent("dave"), case.id)

    assert refused.value.code == "invalid_transition"
    assert refused.value.details["state"] == "active"
    assert refused.value.details["allowed_triggers"] == sorted(
        row.trigger for row in CASE_TABLE if "active" in row.source
    )
    assert before.owner.agent_id == "dana"
    assert_no_trace(world, case.id, before)


def test_accepting_a_handoff_that_was_cancelled_is_refused_with_what_the_case_allows_now(
    world: World,
) -> None:
    db, dana, ben = world.db, world.agent("dana"), world.agent("ben")
    case_id = active_case(world)
    handoff = services.propose_handoff(db, dana, case_id, to_org="firstbank", summary=SUMMARY)
    services.cancel_handoff(db, dana, case_id, handoff.id, reason="Solved it ourselves.")
    before = snapshot(world, case_id)

    with pytest.raises(Refusal) as refused:
        services.accept_handoff(db, ben, case_id, handoff.id)

    assert refused.value.code == "invalid_transition"
    assert refused.value.details["allowed_triggers"] == sorted(
        row.trigger for row in CASE_TABLE if "active" in row.source
    )
    assert_no_trace(world, case_id, before)


# owner_required


def test_deactivating_the_only_agent_who_owns_open_cases_is_refused_and_keeps_them_owned(
    world: World,
) -> None:
    case_id = active_case(world, owner="tom", participants=("dealer",))
    before = snapshot(world, case_id)

    with pytest.raises(Refusal) as refused:
        services.deactivate_agent(world.db, ADMIN, "thermo", "tom")

    assert refused.value.code == "owner_required"
    assert refused.value.details["cases"] == [case_id]
    assert agent_is_active(world, "tom")
    assert before.owner == Owner("thermo", "tom")
    assert_no_trace(world, case_id, before)


def test_assigning_a_case_to_an_agent_who_was_deactivated_is_refused_as_owner_required(
    world: World,
) -> None:
    services.deactivate_agent(world.db, ADMIN, "acme", "dave")
    case_id = active_case(world)
    before = snapshot(world, case_id)

    with pytest.raises(Refusal) as refused:
        services.assign(world.db, world.agent("dana"), case_id, "dave")

    assert refused.value.code == "owner_required"
    assert refused.value.details["agent_id"] == "dave"
    assert_no_trace(world, case_id, before)


# cold_transfer_forbidden


def test_assigning_a_case_to_an_agent_of_another_org_is_a_cold_transfer_refused_on_the_record(
    world: World,
) -> None:
    case_id = active_case(world)
    before = snapshot(world, case_id)

    with pytest.raises(Refusal) as refused:
        services.assign(world.db, world.agent("dana"), case_id, "ben")

    assert refused.value.code == "cold_transfer_forbidden"
    event = assert_refusal_on_record(world, case_id, before, "cold_transfer_forbidden", "dana")
    assert event.data["trigger"] == "assign"
    assert event.data["agent_org"] == "firstbank"


# warm_session_required


def test_accepting_a_handoff_without_a_joint_session_is_refused_and_names_everyone_missing(
    world: World,
) -> None:
    db, dana, ben = world.db, world.agent("dana"), world.agent("ben")
    case_id = active_case(world)
    handoff = services.propose_handoff(db, dana, case_id, to_org="firstbank", summary=SUMMARY)
    before = snapshot(world, case_id)

    with pytest.raises(Refusal) as refused:
        services.accept_handoff(db, ben, case_id, handoff.id)

    assert refused.value.code == "warm_session_required"
    assert refused.value.details["missing"] == ["owner", "receiver", "customer"]
    assert refused.value.details["waiting_for"] == [
        {"party": "owner", "agent_id": "dana"},
        {"party": "receiver", "agent_id": "ben"},
        {"party": "customer"},
    ]
    assert before.owner == Owner("acme", "dana")
    assert_refusal_on_record(world, case_id, before, "warm_session_required", "ben")


def test_accepting_without_the_customer_present_is_refused_and_names_the_missing_party(
    world: World,
) -> None:
    db, dana, ben = world.db, world.agent("dana"), world.agent("ben")
    case_id = active_case(world)
    handoff = services.propose_handoff(db, dana, case_id, to_org="firstbank", summary=SUMMARY)
    session = services.start_session(db, dana, case_id, handoff_id=handoff.id)
    services.join_session(db, dana, case_id, session.id, party="owner", agent_id="dana")
    services.join_session(db, ben, case_id, session.id, party="receiver", agent_id="ben")
    before = snapshot(world, case_id)

    with pytest.raises(Refusal) as refused:
        services.accept_handoff(db, ben, case_id, handoff.id)

    assert refused.value.code == "warm_session_required"
    assert refused.value.details["missing"] == ["customer"]
    event = assert_refusal_on_record(world, case_id, before, "warm_session_required", "ben")
    assert event.data["missing"] == ["customer"]


# ping_pong


@pytest.mark.parametrize(
    ("who", "override_reason"),
    [
        pytest.param("ben", None, id="rep"),
        pytest.param("ben", "The merchant must refund the order.", id="rep-with-a-reason"),
        pytest.param("bea", None, id="supervisor-without-a-reason"),
        pytest.param("bea", "   ", id="supervisor-with-a-blank-reason"),
    ],
)
def test_handing_a_case_back_to_the_org_that_handed_it_off_is_refused_as_ping_pong(
    world: World, who: str, override_reason: str | None
) -> None:
    case_id = active_case(world)
    warm_handoff(world, case_id, owner="dana", receiver="ben", to_org="firstbank")
    before = snapshot(world, case_id)

    with pytest.raises(Refusal) as refused:
        services.propose_handoff(
            world.db,
            world.agent(who),
            case_id,
            to_org="acme",
            summary="The refund is the merchant's to make.",
            override_reason=override_reason,
        )

    assert refused.value.code == "ping_pong"
    event = assert_refusal_on_record(world, case_id, before, "ping_pong", who)
    assert event.data["org_id"] == "acme"


def test_a_supervisor_may_hand_a_case_back_when_giving_a_reason_for_the_override(
    world: World,
) -> None:
    case_id = active_case(world)
    warm_handoff(world, case_id, owner="dana", receiver="ben", to_org="firstbank")
    reason = "The charge is valid; only the merchant can refund the cancelled order."

    handoff = services.propose_handoff(
        world.db,
        world.agent("bea"),
        case_id,
        to_org="acme",
        summary="The refund is the merchant's to make.",
        override_reason=reason,
    )

    assert (handoff.state, handoff.to_org, handoff.override_reason) == ("proposed", "acme", reason)
    after = snapshot(world, case_id)
    assert after.state == "handoff_pending"
    assert after.events[-1].type == "handoff_proposed"
    assert after.events[-1].data["override_reason"] == reason


# open_requests


@pytest.mark.parametrize("answered_so_far", ["not at all", "acknowledged"])
def test_proposing_a_resolution_while_another_org_still_owes_work_is_refused_on_the_record(
    world: World, answered_so_far: str
) -> None:
    db, dana = world.db, world.agent("dana")
    case_id = active_case(world)
    request = services.create_request(db, dana, case_id, "firstbank", "Release the hold")
    if answered_so_far == "acknowledged":
        services.acknowledge_request(db, world.agent("ben"), case_id, request.id)
    before = snapshot(world, case_id)

    with pytest.raises(Refusal) as refused:
        services.propose_resolution(db, dana, case_id, "refunded", "We refunded the order.")

    assert refused.value.code == "open_requests"
    (owed,) = refused.value.details["requests"]
    assert (owed["id"], owed["to_org"]) == (request.id, "firstbank")
    event = assert_refusal_on_record(world, case_id, before, "open_requests", "dana")
    assert event.data["requests"] == refused.value.details["requests"]


@pytest.mark.parametrize("again", ["complete", "decline", "acknowledge"])
def test_answering_a_request_that_was_answered_already_is_an_invalid_transition(
    world: World, again: str
) -> None:
    db, ben = world.db, world.agent("ben")
    case_id = active_case(world)
    request = services.create_request(db, world.agent("dana"), case_id, "firstbank", "Release it")
    services.complete_request(db, ben, case_id, request.id, note="Released.")
    before = snapshot(world, case_id)

    answer_again = {
        "complete": lambda: services.complete_request(db, ben, case_id, request.id, note="Again."),
        "decline": lambda: services.decline_request(db, ben, case_id, request.id, reason="No."),
        "acknowledge": lambda: services.acknowledge_request(db, ben, case_id, request.id),
    }[again]
    with pytest.raises(Refusal) as refused:
        answer_again()

    assert refused.value.code == "invalid_transition"
    assert_no_trace(world, case_id, before)


def test_a_request_the_new_owner_org_was_asked_before_the_handoff_does_not_block_it(
    world: World,
) -> None:
    db, dana, ben = world.db, world.agent("dana"), world.agent("ben")
    case_id = active_case(world)
    services.create_request(db, dana, case_id, "firstbank", "Check the hold")
    warm_handoff(world, case_id, "dana", "ben", "firstbank")

    case = services.propose_resolution(db, ben, case_id, "explained", "The hold is released.")

    assert case.state == "resolution_proposed"


# send_away_language


def test_a_resolution_summary_sending_the_customer_to_their_bank_is_refused_quoting_the_phrase(
    world: World,
) -> None:
    case_id = active_case(world)
    before = snapshot(world, case_id)

    with pytest.raises(Refusal) as refused:
        services.propose_resolution(
            world.db,
            world.agent("dana"),
            case_id,
            "explained",
            "We cannot do more here. Please contact your bank about the hold.",
        )

    assert refused.value.code == "send_away_language"
    assert refused.value.details["phrase"] == "Please contact your bank"
    event = assert_refusal_on_record(world, case_id, before, "send_away_language", "dana")
    assert event.data["phrase"] == "Please contact your bank"
    assert queries.get_case(world.db, world.auditor(), case_id).resolution is None


SENDS_TO_THE_MANUFACTURER = "You will need to contact the manufacturer for the part."


def test_a_customer_note_sending_the_customer_elsewhere_is_refused_quoting_the_phrase(
    world: World,
) -> None:
    case_id = active_case(world)
    before = snapshot(world, case_id)

    with pytest.raises(Refusal) as refused:
        services.add_note(
            world.db, world.agent("dana"), case_id, SENDS_TO_THE_MANUFACTURER, "customer"
        )

    assert refused.value.code == "send_away_language"
    event = assert_refusal_on_record(world, case_id, before, "send_away_language", "dana")
    assert event.data["phrase"] == "You will need to contact the manufacturer"
    assert event.data["field"] == "text"


def test_asking_the_customer_to_go_to_another_party_while_awaiting_them_is_refused(
    world: World,
) -> None:
    case_id = active_case(world)
    before = snapshot(world, case_id)

    with pytest.raises(Refusal) as refused:
        services.await_customer(
            world.db, world.agent("dana"), case_id, "Please call your bank for a statement."
        )

    assert refused.value.code == "send_away_language"
    event = assert_refusal_on_record(world, case_id, before, "send_away_language", "dana")
    assert (event.data["phrase"], event.data["field"]) == ("Please call your bank", "needed")
    assert queries.get_case(world.db, world.auditor(), case_id).state == "active"


def test_an_internal_note_with_the_same_words_is_accepted(world: World) -> None:
    case_id = active_case(world)
    before = snapshot(world, case_id)

    services.add_note(world.db, world.agent("dana"), case_id, SENDS_TO_THE_MANUFACTURER, "internal")

    after = snapshot(world, case_id)
    (event,) = after.events[len(before.events) :]
    assert event.type == "note_added"
    assert event.data == {"text": SENDS_TO_THE_MANUFACTURER, "visibility": "internal"}


# not_participant


def test_asking_an_org_that_is_not_on_the_case_to_act_is_refused_as_not_participant(
    world: World,
) -> None:
    case_id = active_case(world)
    before = snapshot(world, case_id)

    with pytest.raises(Refusal) as refused:
        services.create_request(
            world.db, world.agent("dana"), case_id, to_org="vendo", action="Refund the snack"
        )

    assert refused.value.code == "not_participant"
    assert refused.value.details["org_id"] == "vendo"
    assert_no_trace(world, case_id, before)


def test_handing_off_to_an_org_that_is_not_on_the_case_is_refused_as_not_participant(
    world: World,
) -> None:
    case_id = active_case(world)
    before = snapshot(world, case_id)

    with pytest.raises(Refusal) as refused:
        services.propose_handoff(
            world.db, world.agent("dana"), case_id, to_org="vendo", summary=SUMMARY
        )

    assert refused.value.code == "not_participant"
    assert refused.value.details["org_id"] == "vendo"
    assert_no_trace(world, case_id, before)


# handoff_pending


def test_a_second_handoff_while_one_is_pending_is_refused_as_handoff_pending(world: World) -> None:
    db, dana = world.db, world.agent("dana")
    case_id = active_case(world, participants=("firstbank", "vendo"))
    first = services.propose_handoff(db, dana, case_id, to_org="firstbank", summary=SUMMARY)
    before = snapshot(world, case_id)

    with pytest.raises(Refusal) as refused:
        services.propose_handoff(db, dana, case_id, to_org="vendo", summary=SUMMARY)

    assert refused.value.code == "handoff_pending"
    assert_no_trace(world, case_id, before)
    pending = queries.get_case(db, world.auditor(), case_id).handoff
    assert pending is not None
    assert (pending.id, pending.to_org) == (first.id, "firstbank")


# window_passed


def test_reopening_after_the_reopen_window_is_refused_as_window_passed(world: World) -> None:
    case_id = closed_case(world)
    before = snapshot(world, case_id)

    with freeze_time(datetime.now(UTC) + timedelta(days=31)), pytest.raises(Refusal) as refused:
        services.reopen(world.db, customer_of(case_id), case_id, reason="The hold came back.")

    assert refused.value.code == "window_passed"
    assert_no_trace(world, case_id, before)


def test_reopening_shortly_before_the_reopen_window_ends_is_still_allowed(world: World) -> None:
    case_id = closed_case(world)

    with freeze_time(datetime.now(UTC) + timedelta(days=29)):
        case = services.reopen(
            world.db, customer_of(case_id), case_id, reason="The hold came back."
        )

    assert (case.state, case.owner) == ("active", Owner("acme", "dana"))


# version_conflict


def test_acting_on_a_stale_version_of_the_case_is_refused_as_version_conflict(
    world: World,
) -> None:
    db, dana = world.db, world.agent("dana")
    case_id = active_case(world)
    seen_by_dana = queries.get_case(db, dana, case_id).version
    services.assign(db, world.agent("sam"), case_id, "dave")
    before = snapshot(world, case_id)

    with pytest.raises(Refusal) as refused:
        services.add_note(db, dana, case_id, "Called the bank.", expected_version=seen_by_dana)

    assert refused.value.code == "version_conflict"
    assert refused.value.details["current_version"] == before.version == seen_by_dana + 1
    assert_no_trace(world, case_id, before)


# Ownership and visibility


def test_deactivating_an_agent_moves_each_of_their_open_cases_to_the_supervisor_one_event_each(
    world: World,
) -> None:
    db, dana = world.db, world.agent("dana")
    open_cases = [active_case(world), active_case(world)]
    services.await_customer(db, dana, open_cases[1], needed="the card statement")
    done = closed_case(world)
    before = {case_id: snapshot(world, case_id) for case_id in [*open_cases, done]}

    services.deactivate_agent(db, ADMIN, "acme", "dana")

    assert not agent_is_active(world, "dana")
    for case_id in open_cases:
        after = snapshot(world, case_id)
        (event,) = after.events[len(before[case_id].events) :]
        assert event.type == "assigned"
        assert (event.data["from_agent"], event.data["to_agent"]) == ("dana", "sam")
        assert after.owner == Owner("acme", "sam")
        assert after.state == before[case_id].state
    assert_no_trace(world, done, before[done])


def test_the_previous_owner_org_stays_a_participant_and_can_still_see_the_case_after_a_handoff(
    world: World,
) -> None:
    db, dana = world.db, world.agent("dana")
    case_id = active_case(world)

    warm_handoff(world, case_id, owner="dana", receiver="ben", to_org="firstbank")

    seen_by_dana = queries.get_case(db, dana, case_id)
    assert seen_by_dana.owner == Owner("firstbank", "ben")
    roles = {p.org_id: p.role for p in seen_by_dana.participants}
    assert roles == {"acme": "participant", "firstbank": "owner"}
    assert "handoff_accepted" in [e.type for e in queries.case_events(db, dana, case_id)]
    with pytest.raises(Forbidden):
        services.await_customer(db, dana, case_id, needed="the card statement")


def test_a_rep_of_an_org_not_on_the_case_finds_no_such_case(world: World) -> None:
    db, vic = world.db, world.agent("vic")
    case_id = active_case(world)
    before = snapshot(world, case_id)

    with pytest.raises(NotFound):
        queries.get_case(db, vic, case_id)
    with pytest.raises(NotFound):
        queries.case_events(db, vic, case_id)
    with pytest.raises(NotFound):
        services.add_note(db, vic, case_id, "Is this ours?")
    assert_no_trace(world, case_id, before)


def test_an_auditor_can_read_a_case_but_is_forbidden_to_act_on_it(world: World) -> None:
    db, auditor = world.db, world.auditor()
    case = services.create_case(
        db, world.system("acme-crm"), customer={"name": "Carla Diaz"}, subject="Card charged"
    )
    before = snapshot(world, case.id)

    assert queries.get_case(db, auditor, case.id).allowed_actions == []
    assert [e.type for e in queries.case_events(db, auditor, case.id)] == ["case_created"]
    assert queries.verify_case(db, auditor, case.id).valid
    with pytest.raises(Forbidden):
        services.claim(db, auditor, case.id)
    with pytest.raises(Forbidden):
        services.add_note(db, auditor, case.id, "Checked the history.")
    assert_no_trace(world, case.id, before)
