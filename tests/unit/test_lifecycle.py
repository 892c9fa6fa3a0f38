"""The lifecycle table fired on in-memory cases: states, who may act, and refusals."""

from datetime import timedelta

import pytest

from handoff.domain import lifecycle
from handoff.domain.errors import Forbidden, Refusal
from tests.unit.cases import (
    ACME_CRM,
    AUDITOR,
    BANK_SYSTEM,
    BEN,
    DANA,
    DAVE,
    NOW,
    SAM,
    agent,
    attempt,
    case,
    live_session,
    pending_handoff,
)


def test_claiming_an_unclaimed_case_makes_it_active() -> None:
    c = case(state="unclaimed")
    lifecycle.fire("claim", attempt(c, DANA, agent=agent("dana", "acme")))
    assert c.state == "active"


def test_an_agent_deactivated_since_signing_in_cannot_claim() -> None:
    c = case(state="unclaimed")
    with pytest.raises(Refusal) as refused:
        lifecycle.fire("claim", attempt(c, DANA, agent=agent("dana", "acme", active=False)))
    assert refused.value.code == "owner_required"
    assert c.state == "unclaimed"


def test_a_trigger_from_the_wrong_state_lists_the_triggers_that_are_allowed() -> None:
    c = case(state="closed")
    with pytest.raises(Refusal) as refused:
        lifecycle.fire("claim", attempt(c, DANA, agent=agent("dana", "acme")))
    assert refused.value.code == "invalid_transition"
    assert refused.value.details["allowed_triggers"] == ["add_note", "reopen"]
    assert c.state == "closed"


def test_a_second_handoff_while_one_is_pending_has_its_own_code() -> None:
    with pytest.raises(Refusal) as refused:
        lifecycle.fire("propose_handoff", attempt(case(state="handoff_pending"), DANA))
    assert refused.value.code == "handoff_pending"


def test_the_target_orgs_partner_system_may_not_decline_a_handoff_but_its_rep_may() -> None:
    c = case(state="handoff_pending")
    pending_handoff(c)
    with pytest.raises(Forbidden):
        lifecycle.fire("decline_handoff", attempt(c, BANK_SYSTEM, reason="Not ours."))
    assert c.state == "handoff_pending"
    lifecycle.fire("decline_handoff", attempt(c, BEN, reason="Not ours."))
    assert c.state == "active"


def test_a_rep_who_is_not_the_owner_agent_may_not_act_on_the_case() -> None:
    c = case()
    with pytest.raises(Forbidden):
        lifecycle.fire("await_customer", attempt(c, DAVE, needed="photo"))
    assert c.state == "active"


def test_a_supervisor_may_act_on_any_case_of_their_org() -> None:
    c = case()
    lifecycle.fire("await_customer", attempt(c, SAM, needed="photo"))
    assert c.state == "awaiting_customer"


def test_an_auditor_reads_but_may_not_do_anything() -> None:
    assert lifecycle.allowed_actions(attempt(case(), AUDITOR)) == []


def test_allowed_actions_follow_the_table_for_the_owner_agent() -> None:
    assert lifecycle.allowed_actions(attempt(case(), DANA)) == [
        row.trigger
        for row in lifecycle.CASE_TABLE
        if "active" in row.source
        and row.trigger
        in {
            "assign",
            "propose_handoff",
            "await_customer",
            "propose_resolution",
            "withdraw",
            "add_participant",
            "create_request",
            "start_session",
            "join_session",
            "leave_session",
            "end_session",
            "add_note",
        }
    ]


def test_another_orgs_rep_may_only_note_and_join_sessions_on_a_case_they_take_part_in() -> None:
    assert lifecycle.allowed_actions(attempt(case(), BEN)) == [
        "join_session",
        "leave_session",
        "add_note",
    ]


def test_a_partner_system_of_the_owner_org_may_record_the_customers_answer() -> None:
    c = case(state="awaiting_customer")
    assert "customer_responded" in lifecycle.allowed_actions(attempt(c, ACME_CRM))
    lifecycle.fire("customer_responded", attempt(c, ACME_CRM))
    assert c.state == "active"


def test_every_state_is_reachable_and_every_open_state_can_reach_closed() -> None:
    reachable = {"unclaimed", "active"}
    changed = True
    while changed:
        changed = False
        for row in lifecycle.CASE_TABLE:
            if row.dest and row.dest not in reachable and set(row.source) & reachable:
                reachable.add(row.dest)
                changed = True
    assert reachable == set(lifecycle.STATES)
    withdraw = lifecycle.ROWS["withdraw"]
    assert set(withdraw.source) == set(lifecycle.OPEN)


def test_reopen_is_offered_within_its_window_and_not_after() -> None:
    c = case(state="closed")
    c.reopen_until = NOW + timedelta(days=30)
    assert "reopen" in lifecycle.allowed_actions(attempt(c, DANA))
    c.reopen_until = NOW - timedelta(seconds=1)
    assert "reopen" not in lifecycle.allowed_actions(attempt(c, DANA))
    assert "add_note" in lifecycle.allowed_actions(attempt(c, DANA))


def test_a_second_joint_session_is_not_offered_while_one_is_live() -> None:
    c = case()
    assert "start_session" in lifecycle.allowed_actions(attempt(c, DANA))
    live_session(c, None)
    assert "start_session" not in lifecycle.allowed_actions(attempt(c, DANA))
