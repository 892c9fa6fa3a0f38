"""Who a warm handoff still waits for (Case.awaited): the one rule behind the acceptance guard's
refusal and the session panel's "Waiting for"."""

from handoff.domain.case import Awaited
from tests.unit.cases import case, live_session, pending_handoff


def test_a_session_with_nobody_yet_waits_for_owner_receiver_and_customer() -> None:
    c = case(state="handoff_pending")
    live_session(c, pending_handoff(c))
    assert c.awaited(receiver_id=None, verified=False) == [
        Awaited("owner", "acme", "dana"),
        Awaited("receiver", "firstbank", None),
        Awaited("customer"),
    ]


def test_any_person_of_the_receiving_org_counts_unless_one_agent_is_named() -> None:
    c = case(state="handoff_pending")
    live_session(c, pending_handoff(c), ("owner", "dana"), ("receiver", "bo"), ("customer", None))
    assert c.awaited(receiver_id=None, verified=False) == []
    assert c.awaited(receiver_id="ben", verified=False) == [Awaited("receiver", "firstbank", "ben")]


def test_a_customer_on_the_owners_word_is_still_awaited_where_presence_is_verified() -> None:
    c = case(state="handoff_pending")
    present = (("owner", "dana"), ("receiver", "ben"), ("customer", None))
    customer = live_session(c, pending_handoff(c), *present).parties[-1]
    customer.via = "attested"
    assert c.awaited(receiver_id="ben", verified=False) == []
    assert c.awaited(receiver_id="ben", verified=True) == [Awaited("customer")]

    customer.via = "link"  # the customer confirmed from their own page
    assert c.awaited(receiver_id="ben", verified=True) == []


def test_a_session_for_another_handoff_leaves_every_party_awaited() -> None:
    c = case(state="handoff_pending")
    pending_handoff(c)
    live_session(c, None, ("owner", "dana"), ("receiver", "ben"), ("customer", None))
    assert [w.party for w in c.awaited(receiver_id=None, verified=False)] == [
        "owner",
        "receiver",
        "customer",
    ]
