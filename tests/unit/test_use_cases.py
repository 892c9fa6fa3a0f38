"""The main use cases, run on an in-memory store: no database, the same services the API calls."""

import pytest

from handoff import services
from handoff.domain.case import Agent
from handoff.domain.errors import Refusal
from handoff.domain.principals import Actor, customer_of
from tests.unit.memory import MemoryStore

DANA = Actor(kind="agent", id="dana", org_id="acme", role="rep")
SAM = Actor(kind="agent", id="sam", org_id="acme", role="supervisor")
BEN = Actor(kind="agent", id="ben", org_id="firstbank", role="rep")
ACME_CRM = Actor(kind="system", id="acme-crm", org_id="acme")


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore(orgs={"acme": None, "firstbank": None})
    for actor, name in ((DANA, "Dana Reyes"), (SAM, "Sam Ortiz"), (BEN, "Ben Okafor")):
        assert actor.org_id is not None
        assert actor.role is not None
        store.agents[actor.id] = Agent(id=actor.id, org_id=actor.org_id, name=name, role=actor.role)
    return store


def open_case(store: MemoryStore, by: Actor = DANA) -> str:
    case = services.create_case(
        store, by, customer={"name": "Carla"}, subject="Pending charge", participants=["firstbank"]
    )
    return case.id


def test_a_rep_claims_a_case_a_partner_system_opened(store: MemoryStore) -> None:
    case_id = open_case(store, by=ACME_CRM)

    claimed = services.claim(store, DANA, case_id)

    assert (claimed.state, claimed.owner.agent_id) == ("active", "dana")
    assert store.history(case_id) == ["case_created", "claimed"]


def test_an_open_request_holds_the_resolution_back_and_the_refusal_is_recorded(
    store: MemoryStore,
) -> None:
    case_id = open_case(store)
    services.create_request(store, DANA, case_id, "firstbank", "Release the hold")

    with pytest.raises(Refusal) as refused:
        services.propose_resolution(store, DANA, case_id, "fixed", "The hold was released.")

    assert refused.value.code == "open_requests"
    assert store.cases[case_id].state == "active"
    assert store.history(case_id)[-1] == "refused"


def warm_session(store: MemoryStore, case_id: str, *, with_customer: bool) -> str:
    handoff = services.propose_handoff(store, DANA, case_id, "firstbank", "Carla's pending hold")
    session = services.start_session(store, DANA, case_id, handoff_id=handoff.id)
    services.join_session(store, DANA, case_id, session.id, "owner", "dana")
    services.join_session(store, BEN, case_id, session.id, "receiver", "ben")
    if with_customer:
        services.join_session(store, DANA, case_id, session.id, "customer")
    return handoff.id


def test_a_warm_handoff_moves_the_case_and_keeps_the_previous_owner_a_participant(
    store: MemoryStore,
) -> None:
    case_id = open_case(store)
    handoff_id = warm_session(store, case_id, with_customer=True)

    accepted = services.accept_handoff(store, BEN, case_id, handoff_id)

    assert (accepted.owner.org_id, accepted.owner.agent_id) == ("firstbank", "ben")
    assert "acme" in [p.org_id for p in accepted.participants]
    assert store.history(case_id)[-1] == "handoff_accepted"


def test_an_agent_joining_without_naming_an_agent_joins_itself(store: MemoryStore) -> None:
    case_id = open_case(store)
    handoff = services.propose_handoff(store, DANA, case_id, "firstbank", "Carla's pending hold")
    session = services.start_session(store, DANA, case_id, handoff_id=handoff.id)

    services.join_session(store, DANA, case_id, session.id, "owner")
    joined = services.join_session(store, BEN, case_id, session.id, "receiver")

    present = [(p.party, p.agent_id, p.via) for p in joined.session.present]
    assert present == [("owner", "dana", "agent"), ("receiver", "ben", "agent")]


def test_accepting_without_the_customer_present_is_refused_and_recorded(
    store: MemoryStore,
) -> None:
    case_id = open_case(store)
    handoff_id = warm_session(store, case_id, with_customer=False)

    with pytest.raises(Refusal) as refused:
        services.accept_handoff(store, BEN, case_id, handoff_id)

    assert refused.value.code == "warm_session_required"
    assert refused.value.details["missing"] == ["customer"]
    assert store.cases[case_id].owner_org_id == "acme"
    assert store.history(case_id)[-1] == "refused"


def test_a_bank_that_verifies_presence_takes_no_owners_word_for_the_customer(
    store: MemoryStore,
) -> None:
    store.presence["firstbank"] = "verified"
    case_id = open_case(store)
    handoff_id = warm_session(store, case_id, with_customer=False)
    session_id = store.cases[case_id].sessions[0].id
    vouched = services.join_session(store, DANA, case_id, session_id, "customer")  # Dana's word

    with pytest.raises(Refusal) as refused:
        services.accept_handoff(store, BEN, case_id, handoff_id)

    assert vouched.session is not None
    assert vouched.session.missing == ["customer"]  # the panel says so before Ben tries
    assert refused.value.details["missing"] == ["customer"]
    assert refused.value.details["customer_presence"] == "verified"


def test_a_case_is_resolved_confirmed_and_reopened_with_the_same_owner(store: MemoryStore) -> None:
    case_id = open_case(store)
    services.propose_resolution(store, DANA, case_id, "refunded", "We refunded the charge.")

    closed = services.confirm_resolution(store, customer_of(case_id), case_id)
    reopened = services.reopen(store, customer_of(case_id), case_id, "The charge came back")

    assert closed.state == "closed"
    assert (reopened.state, reopened.owner.agent_id) == ("active", "dana")
    assert store.history(case_id)[-3:] == [
        "resolution_proposed",
        "resolution_confirmed",
        "reopened",
    ]


def test_assigning_to_another_orgs_agent_is_a_cold_transfer(store: MemoryStore) -> None:
    case_id = open_case(store)

    with pytest.raises(Refusal) as refused:
        services.assign(store, SAM, case_id, "ben")

    assert refused.value.code == "cold_transfer_forbidden"
    assert store.cases[case_id].owner_agent_id == "dana"


def test_handing_a_case_back_to_the_org_that_handed_it_off_is_ping_pong(
    store: MemoryStore,
) -> None:
    case_id = open_case(store)
    handoff_id = warm_session(store, case_id, with_customer=True)
    services.accept_handoff(store, BEN, case_id, handoff_id)

    with pytest.raises(Refusal) as refused:
        services.propose_handoff(store, BEN, case_id, "acme", "Back to the store")

    assert refused.value.code == "ping_pong"
    assert store.history(case_id)[-1] == "refused"


def test_a_customer_note_that_sends_the_customer_away_is_refused_with_its_phrase(
    store: MemoryStore,
) -> None:
    case_id = open_case(store)
    events_before = len(store.history(case_id))

    with pytest.raises(Refusal) as refused:
        services.add_note(store, DANA, case_id, "Please contact your bank.", "customer")

    assert refused.value.code == "send_away_language"
    assert "contact your bank" in refused.value.details["phrase"].lower()
    assert store.history(case_id)[events_before:] == ["refused"]


def test_a_stale_version_changes_nothing(store: MemoryStore) -> None:
    case_id = open_case(store)
    version = store.cases[case_id].version

    with pytest.raises(Refusal) as refused:
        services.add_note(store, DANA, case_id, "Called Carla", expected_version=version - 1)

    assert refused.value.code == "version_conflict"
    assert store.cases[case_id].version == version


def test_a_case_holds_a_bounded_number_of_open_requests(store: MemoryStore) -> None:
    store.settings = store.settings.model_copy(update={"max_open_requests": 3})
    case_id = open_case(store)
    for n in range(3):
        services.create_request(store, DANA, case_id, "firstbank", f"Step {n}")

    with pytest.raises(Refusal) as refused:
        services.create_request(store, DANA, case_id, "firstbank", "One too many")

    assert (refused.value.code, refused.value.details["limit"]) == ("limit_reached", 3)
    assert len(store.cases[case_id].open_requests) == 3
