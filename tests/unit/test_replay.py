"""How a case stood after some of its events, rebuilt from those events alone (no database)."""

from typing import Any

from handoff.history.replay import Presence, Standing, standings
from handoff.store.models import Event


def event(type_: str, **data: Any) -> Event:
    return Event(type=type_, org_id="acme", data=data)


def last(*events: Event) -> Standing:
    standing = list(standings(events))[-1][1]
    assert standing is not None
    return standing


def test_one_of_two_people_in_the_same_party_leaving_leaves_the_other_in_the_session() -> None:
    standing = last(
        event("case_created", participants=["acme", "firstbank"]),
        event("session_started", session_id="s1", handoff_id=None),
        event("session_joined", session_id="s1", party="collaborator", agent_id="dana"),
        event("session_joined", session_id="s1", party="collaborator", agent_id="ben"),
        event("session_left", session_id="s1", party="collaborator", agent_id="dana"),
    )

    assert standing.session is not None
    assert standing.session.present == (Presence("collaborator", "ben"),)


def test_a_request_is_in_the_state_its_last_event_left_it_and_a_decided_handoff_is_gone() -> None:
    standing = last(
        event("case_created", participants=["acme", "firstbank"]),
        event("request_created", request_id="r1", to_org="firstbank", action="Release"),
        event("request_created", request_id="r2", to_org="firstbank", action="Refund"),
        event("request_acknowledged", request_id="r1"),
        event("request_declined", request_id="r2"),
        event("handoff_proposed", handoff_id="h1", to_org="firstbank", summary="Card"),
        event("handoff_declined", handoff_id="h1"),
    )

    assert [(r.id, r.state) for r in standing.requests] == [
        ("r1", "acknowledged"),
        ("r2", "declined"),
    ]
    assert standing.handoff is None
