"""The one fold: how a case stood after some of its events, from those events alone."""

from datetime import UTC, datetime, timedelta
from typing import Any

from handoff.domain.events import Recorded, parse
from handoff.history.fold import CaseState, Presence, fold, step

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class History:
    """Events of one case, each a minute after the last unless told `at`."""

    def __init__(self) -> None:
        self.events: list[Recorded] = []

    def add(
        self,
        type_: str,
        *,
        minutes: float | None = None,
        by: tuple[str, str | None] = ("agent", "dana"),
        org: str = "acme",
        **data: Any,
    ) -> "History":
        seq = len(self.events) + 1
        at = T0 + timedelta(minutes=seq - 1 if minutes is None else minutes)
        self.events.append(Recorded(seq, at, by[0], by[1], org, parse(type_, data)))
        return self

    def last(self) -> CaseState:
        state = fold(self.events)
        assert state is not None
        return state


def accepted(handoff: str, handoff_from: tuple[str, str], to: tuple[str, str]) -> dict[str, Any]:
    """A handoff_accepted event's data: from (org, agent) to (org, agent)."""
    return {
        "handoff_id": handoff,
        "from_org": handoff_from[0],
        "from_agent": handoff_from[1],
        "to_org": to[0],
        "to_agent": to[1],
        "summary": "S",
    }


def opened(*participants: str) -> History:
    return History().add(
        "case_created",
        subject="Hold",
        priority="normal",
        participants=list(participants) or ["acme", "firstbank"],
    )


def test_one_of_two_people_in_the_same_party_leaving_leaves_the_other_in_the_session() -> None:
    state = (
        opened()
        .add("session_started", session_id="s1", handoff_id=None)
        .add("session_joined", session_id="s1", party="collaborator", agent_id="dana")
        .add("session_joined", session_id="s1", party="collaborator", agent_id="ben")
        .add("session_left", session_id="s1", party="collaborator", agent_id="dana")
        .last()
    )

    assert state.session is not None
    assert state.session.present == (Presence("collaborator", "ben"),)


def test_a_request_is_in_the_state_its_last_event_left_it_and_a_decided_handoff_is_gone() -> None:
    state = (
        opened()
        .add("request_created", request_id="r1", to_org="firstbank", action="Release")
        .add("request_created", request_id="r2", to_org="firstbank", action="Refund")
        .add("request_acknowledged", request_id="r1")
        .add("request_declined", request_id="r2")
        .add("handoff_proposed", handoff_id="h1", to_org="firstbank", summary="Card")
        .add("handoff_declined", handoff_id="h1")
        .last()
    )

    assert [(r.id, r.state) for r in state.requests] == [("r1", "acknowledged"), ("r2", "declined")]
    assert [r.id for r in state.open_requests] == ["r1"]
    assert state.handoff is None
    assert [(h.id, h.state) for h in state.handoffs] == [("h1", "declined")]


def test_nothing_stands_before_the_case_is_created() -> None:
    history = History().add("note_added", text="early", visibility="internal")

    assert fold(history.events) is None


def test_a_warm_handoff_moves_the_owner_org_and_the_agent() -> None:
    state = (
        opened()
        .add("claimed", agent_id="dana", on_create=False)
        .add("handoff_proposed", handoff_id="h1", to_org="firstbank", summary="S")
        .add("session_started", session_id="s1", handoff_id="h1")
        .add("handoff_accepted", **accepted("h1", ("acme", "dana"), ("firstbank", "ben")))
        .last()
    )  # fmt: skip

    assert (state.state, state.owner_org, state.owner_agent) == ("active", "firstbank", "ben")
    assert state.owner_orgs == ("acme", "firstbank")
    assert state.agent_changes == 1
    assert state.handoffs[0].from_org == "acme"
    assert state.version == 5


def test_what_a_withdrawal_writes_after_it_leaves_the_case_closed() -> None:
    """The handoff cancelled after a withdrawal is no cancel_handoff: the case stays closed."""
    at = 10.0
    state = (
        opened()
        .add("claimed", agent_id="dana", on_create=True, minutes=0)
        .add("handoff_proposed", handoff_id="h1", to_org="firstbank", summary="S")
        .add("request_created", request_id="r1", to_org="firstbank", action="A", respond_by=None)
        .add("session_started", session_id="s1", handoff_id="h1")
        .add("withdrawn", reason="sorted", minutes=at)
        .add("request_cancelled", request_id="r1", to_org="firstbank", minutes=at)
        .add("handoff_cancelled", handoff_id="h1", reason="case withdrawn", minutes=at)
        .add("session_ended", session_id="s1", reason="case closed", minutes=at)
        .last()
    )  # fmt: skip

    assert state.state == "closed"
    assert (state.handoff, state.session, state.open_requests) == (None, None, ())
    assert state.resolution_code == "withdrawn_by_customer"
    assert state.closed_at == state.first_closed_at == T0 + timedelta(minutes=at)
    assert state.version == 6  # created, claimed, proposed, requested, started, withdrawn


def test_a_case_withdrawn_unclaimed_is_owned_by_whoever_withdrew_it() -> None:
    state = opened().add("withdrawn", reason="twice", owner_agent="sam", by=("agent", "sam")).last()

    assert (state.state, state.owner_agent) == ("closed", "sam")


def test_a_refusal_and_an_unknown_event_change_nothing_but_the_counts() -> None:
    history = (
        opened()
        .add("claimed", agent_id="dana", on_create=False)
        .add("refused", trigger="add_note", code="send_away_language", message="M", phrase="call")
        .add("refused", trigger="add_note", code="handoff_pending", message="M")
        .add("case_teleported", to="mars")
    )
    before, after = fold(history.events[:2]), history.last()

    assert after.refusals == (("acme", "send_away_language"),)
    assert before is not None
    assert (after.state, after.version) == (before.state, before.version)


def test_the_metrics_counts_follow_the_owners() -> None:
    """Claimed after 15 minutes; acme -> firstbank -> acme is one bounce; reopened once."""
    state = (
        opened()
        .add("claimed", agent_id="dana", on_create=False, minutes=15)
        .add("handoff_accepted", **accepted("h1", ("acme", "dana"), ("bank", "ben")), minutes=20)
        .add("handoff_accepted", **accepted("h2", ("bank", "ben"), ("acme", "sam")), minutes=30)
        .add("resolution_proposed", code="fixed", summary="Done", minutes=40)
        .add("resolution_confirmed", code="fixed", on_customer_word=True, minutes=50)
        .add("reopened", reason="again", owner_agent="sam", minutes=60)
        .add("resolution_proposed", code="fixed", summary="Done", minutes=70)
        .add("auto_closed", code="fixed", automatic=True, minutes=80)
        .last()
    )  # fmt: skip

    assert state.claimed_after == ("acme", 15 * 60.0)
    assert state.without_owner == (("acme", 15 * 60.0),)
    assert state.owner_orgs == ("acme", "bank", "acme")
    assert (state.bounces, state.agent_changes) == (1, 2)
    assert state.reopens == 1
    assert state.first_closed_at == T0 + timedelta(minutes=50)
    assert state.closed_at == T0 + timedelta(minutes=80)


def test_each_step_gives_the_state_the_event_left() -> None:
    created, claimed = opened().add("claimed", agent_id="dana", on_create=False).events

    first = step(None, created)
    second = step(first, claimed)

    assert (first and first.state, second and second.state) == ("unclaimed", "active")
    assert step(None, claimed) is None


def test_an_acceptance_relabels_the_parties_of_the_live_session() -> None:
    """The receiver goes on as owner, the previous owner as collaborator (SPEC §12)."""
    relabelled = [
        {"agent_id": "dana", "from": "owner", "to": "collaborator"},
        {"agent_id": "ben", "from": "receiver", "to": "owner"},
    ]
    state = (
        opened()
        .add("claimed", agent_id="dana", on_create=False)
        .add("handoff_proposed", handoff_id="h1", to_org="firstbank", summary="S")
        .add("session_started", session_id="s1", handoff_id="h1")
        .add("session_joined", session_id="s1", party="owner", agent_id="dana")
        .add("session_joined", session_id="s1", party="receiver", agent_id="ben")
        .add("session_joined", session_id="s1", party="customer", agent_id=None)
        .add(
            "handoff_accepted",
            **accepted("h1", ("acme", "dana"), ("firstbank", "ben")),
            relabelled=relabelled,
        )
        .add("session_left", session_id="s1", party="owner", agent_id="ben")
        .last()
    )

    assert state.session is not None
    assert state.session.present == (Presence("collaborator", "dana"), Presence("customer", None))
