"""The named guards, on in-memory cases: each passes or refuses with the spec's code."""

import pytest

from handoff.domain import guards
from handoff.domain.case import Case, Handoff, JointSession
from handoff.domain.errors import InvalidInput, Refusal
from handoff.domain.principals import Actor
from tests.unit.cases import (
    ACME_CRM,
    BEN,
    DANA,
    SAM,
    agent,
    attempt,
    case,
    live_session,
    open_request,
    pending_handoff,
)


def test_resolution_is_refused_while_another_org_still_owes_work() -> None:
    c = case()
    open_request(c)
    with pytest.raises(Refusal) as refused:
        guards.no_open_requests(attempt(c, DANA))
    assert refused.value.code == "open_requests"
    assert refused.value.details["requests"][0]["to_org"] == "firstbank"


def test_resolution_passes_once_every_request_is_answered() -> None:
    c = case()
    open_request(c).state = "done"
    guards.no_open_requests(attempt(c, DANA))


def test_a_request_the_owner_org_now_owes_itself_does_not_hold_the_resolution_up() -> None:
    """Acme asked First Bank, then handed the case to First Bank: the request is its own work."""
    c = case(owner_org="firstbank", owner_agent="ben")
    open_request(c, to_org="firstbank")
    guards.no_open_requests(attempt(c, BEN))
    open_request(c, to_org="acme")
    with pytest.raises(Refusal) as refused:
        guards.no_open_requests(attempt(c, BEN))
    assert [r["to_org"] for r in refused.value.details["requests"]] == ["acme"]


def test_a_summary_that_sends_the_customer_to_their_bank_is_refused_with_the_phrase() -> None:
    a = attempt(case(), DANA, summary="Sorry, please call your bank about it.")
    with pytest.raises(Refusal) as refused:
        guards.summary_not_send_away(a)
    assert refused.value.code == "send_away_language"
    assert refused.value.details["phrase"] == "please call your bank"


def test_internal_notes_are_not_checked_for_send_away_language() -> None:
    a = attempt(case(), DANA, text="customer should call their bank", visibility="internal")
    guards.customer_text_not_send_away(a)


def test_assigning_to_a_person_of_another_org_is_a_cold_transfer() -> None:
    a = attempt(case(), SAM, agent=agent("ben", "firstbank"))
    with pytest.raises(Refusal) as refused:
        guards.target_agent_in_owner_org(a)
    assert refused.value.code == "cold_transfer_forbidden"


def test_assigning_to_an_inactive_agent_would_leave_the_case_without_an_owner() -> None:
    a = attempt(case(), SAM, agent=agent("dave", "acme", active=False))
    with pytest.raises(Refusal) as refused:
        guards.target_agent_in_owner_org(a)
    assert refused.value.code == "owner_required"


def test_assigning_a_case_to_the_agent_who_owns_it_already_is_refused_as_no_change() -> None:
    c = case()
    a = attempt(c, SAM, agent=agent(str(c.owner_agent_id), "acme"))
    with pytest.raises(InvalidInput, match="already owns this case"):
        guards.target_agent_in_owner_org(a)


def test_handing_back_to_an_org_that_handed_the_case_off_is_ping_pong() -> None:
    c = case(owner_org="firstbank", owner_agent="ben")
    c.handoffs.append(Handoff(id="h0", from_org_id="acme", to_org_id="firstbank", state="accepted"))
    with pytest.raises(Refusal) as refused:
        guards.not_ping_pong(attempt(c, BEN, to_org="acme", override_reason="please"))
    assert refused.value.code == "ping_pong"


def test_a_supervisor_may_override_ping_pong_with_a_reason() -> None:
    c = case(owner_org="firstbank", owner_agent="ben")
    c.handoffs.append(Handoff(id="h0", from_org_id="acme", to_org_id="firstbank", state="accepted"))
    bea = SAM.__class__(kind="agent", id="bea", org_id="firstbank", role="supervisor")
    guards.not_ping_pong(attempt(c, bea, to_org="acme", override_reason="only they have the part"))
    with pytest.raises(Refusal):
        guards.not_ping_pong(attempt(c, bea, to_org="acme", override_reason="  "))


def test_a_handoff_to_an_org_not_on_the_case_is_refused() -> None:
    with pytest.raises(Refusal) as refused:
        guards.handoff_target_is_other_participant(attempt(case(), DANA, to_org="visa"))
    assert refused.value.code == "not_participant"


@pytest.mark.parametrize(
    ("present", "missing"),
    [
        ([], ["owner", "receiver", "customer"]),
        ([("owner", "dana"), ("receiver", "ben")], ["customer"]),
        ([("owner", "dana"), ("customer", None)], ["receiver"]),
        ([("receiver", "ben"), ("customer", None)], ["owner"]),
        # As collaborators, the agents are in the session but not as the handoff's two sides.
        ([("owner", "dana"), ("collaborator", "ben"), ("customer", None)], ["receiver"]),
        ([("collaborator", "dana"), ("receiver", "ben"), ("customer", None)], ["owner"]),
    ],
)
def test_acceptance_names_every_party_missing_from_the_joint_session(
    present: list[tuple[str, str | None]], missing: list[str]
) -> None:
    c = case(state="handoff_pending")
    live_session(c, pending_handoff(c), *present)
    a = attempt(c, BEN, agent=agent("ben", "firstbank"))
    with pytest.raises(Refusal) as refused:
        guards.warm_session_complete(a)
    assert refused.value.code == "warm_session_required"
    assert refused.value.details["missing"] == missing
    assert [w["party"] for w in refused.value.details["waiting_for"]] == missing


def test_acceptance_passes_with_owner_receiver_and_customer_all_present() -> None:
    c = case(state="handoff_pending")
    live_session(c, pending_handoff(c), ("owner", "dana"), ("receiver", "ben"), ("customer", None))
    guards.warm_session_complete(attempt(c, BEN, agent=agent("ben", "firstbank")))


def test_a_session_for_another_handoff_does_not_count_as_warm() -> None:
    c = case(state="handoff_pending")
    handoff = pending_handoff(c)
    live_session(c, None, ("owner", "dana"), ("receiver", "ben"), ("customer", None))
    with pytest.raises(Refusal):
        guards.warm_session_complete(attempt(c, BEN, agent=agent("ben", "firstbank")))
    assert handoff.state == "proposed"


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_decline_needs_a_reason(reason: str | None) -> None:
    with pytest.raises(InvalidInput) as invalid:
        guards.reason_given(attempt(case(), DANA, reason=reason))
    assert invalid.value.field == "reason"


def test_only_the_spec_resolution_codes_are_accepted() -> None:
    guards.resolution_code_valid(attempt(case(), DANA, code="credited"))
    with pytest.raises(InvalidInput):
        guards.resolution_code_valid(attempt(case(), DANA, code="call_your_bank"))


CUSTOMER = Actor(kind="customer", id="link", case_id="c1")


def _customer_present(via: str) -> tuple[Case, JointSession]:
    c = case(state="handoff_pending")
    session = live_session(c, pending_handoff(c), ("customer", None))
    session.parties[0].via = via
    return c, session


@pytest.mark.parametrize(("who", "via"), [(CUSTOMER, "link"), (ACME_CRM, "system")])
def test_a_customer_present_on_the_owners_word_may_still_prove_it(who: Actor, via: str) -> None:
    c, session = _customer_present("attested")
    guards.party_not_present(attempt(c, who, session=session, party="customer"))


@pytest.mark.parametrize(
    ("who", "present_via"),
    [(DANA, "attested"), (CUSTOMER, "link"), (ACME_CRM, "link"), (CUSTOMER, "system")],
)
def test_a_customer_already_present_or_proven_joins_again_only_as_a_conflict(
    who: Actor, present_via: str
) -> None:
    c, session = _customer_present(present_via)
    with pytest.raises(Refusal) as refused:
        guards.party_not_present(attempt(c, who, session=session, party="customer"))
    assert (refused.value.code, refused.value.details["party"]) == ("already_present", "customer")


def test_an_agent_present_joins_again_only_as_a_conflict() -> None:
    c = case(state="handoff_pending")
    session = live_session(c, pending_handoff(c), ("owner", "dana"))
    dana = agent("dana", "acme")
    with pytest.raises(Refusal) as refused:
        guards.party_not_present(attempt(c, ACME_CRM, session=session, party="owner", agent=dana))
    assert refused.value.code == "already_present"
