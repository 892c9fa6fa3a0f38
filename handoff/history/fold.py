"""The one fold from a case's events to the case as it stood after them (SPEC §6).

As-of answers, `handoff check`'s replay, the audit metrics and the UI's timeline all read a
history through it. Each event gives a new, immutable state: the case's state (by the lifecycle
table's destinations), its owners, participants, requests, handoffs and joint sessions, its
resolution and times, and the running counts the metrics need. It never refuses an event: what a
history should not hold is for `handoff check` to say (table_replay).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from handoff.domain import events as ev
from handoff.domain.errors import RECORDED_CODES
from handoff.domain.events import DomainEvent, Recorded
from handoff.domain.lifecycle import CASE_TABLE

# The state each event leads to; an event not named here leaves the state as it was.
STATE_AFTER = {row.event: row.dest for row in CASE_TABLE if row.dest is not None}
# What a closing trigger writes right after its own event, with the same time and actor, in the
# same transaction: withdraw cancels what others still owe, and every close ends the live session.
# These follow the close; they are no transitions of their own (the case stays closed).
FOLLOWUPS = {
    "withdrawn": frozenset({"request_cancelled", "handoff_cancelled", "session_ended"}),
    "resolution_confirmed": frozenset({"session_ended"}),
    "auto_closed": frozenset({"session_ended"}),
}
# Events that change nothing the case row counts (its version).
UNCOUNTED = (ev.Refused, ev.EscalationFailed, ev.UnknownEvent)


@dataclass(frozen=True)
class RequestState:
    id: str
    to_org: str
    action: str
    state: str  # open, acknowledged, done, declined, cancelled

    @property
    def is_open(self) -> bool:
        return self.state in ("open", "acknowledged")


@dataclass(frozen=True)
class HandoffState:
    id: str
    from_org: str  # the owner org when it was proposed
    to_org: str
    summary: str
    state: str  # proposed, accepted, declined, cancelled, expired


@dataclass(frozen=True)
class Presence:
    party: str
    agent_id: str | None  # None for the customer


@dataclass(frozen=True)
class SessionState:
    id: str
    handoff_id: str | None
    present: tuple[Presence, ...] = ()  # in the order they joined
    live: bool = True


@dataclass(frozen=True)
class Closing:
    """The close just recorded, which the events after it at the same time and by the same actor
    may follow (FOLLOWUPS)."""

    type: str
    at: datetime
    actor_kind: str
    actor_id: str | None


@dataclass(frozen=True)
class CaseState:
    """A case as its history says it stood."""

    state: str
    owner_org: str
    owner_agent: str | None
    participants: tuple[str, ...]
    created_at: datetime
    last_event_at: datetime
    requests: tuple[RequestState, ...] = ()  # every request made, as it stands
    handoffs: tuple[HandoffState, ...] = ()  # every handoff proposed, as it stands
    sessions: tuple[SessionState, ...] = ()  # every joint session started
    resolution_code: str | None = None  # proposed, or closed with
    resolution_summary: str | None = None
    closed_at: datetime | None = None  # the latest close, unless reopened since
    first_closed_at: datetime | None = None
    version: int = 1  # as the case row counts its changes
    closing: Closing | None = None
    # For the audit metrics (SPEC §6), counted along the way.
    owner_orgs: tuple[str, ...] = ()  # the owner orgs, in turn
    agent_changes: int = 0  # the named owner changed from one person to another
    bounces: int = 0  # an org became owner again after handing the case off
    reopens: int = 0
    refusals: tuple[tuple[str, str], ...] = ()  # (org of whoever tried, code), recorded codes
    ownerless_since: datetime | None = None
    without_owner: tuple[tuple[str, float], ...] = ()  # (owner org, seconds) per ownerless spell
    claimed_after: tuple[str, float] | None = None  # (org, seconds) until first claimed
    ever_owned: bool = False

    @property
    def handoff(self) -> HandoffState | None:
        """The pending handoff."""
        return next((h for h in reversed(self.handoffs) if h.state == "proposed"), None)

    @property
    def session(self) -> SessionState | None:
        """The live joint session."""
        return next((s for s in reversed(self.sessions) if s.live), None)

    @property
    def open_requests(self) -> tuple[RequestState, ...]:
        return tuple(r for r in self.requests if r.is_open)


def fold(history: Iterable[Recorded]) -> CaseState | None:
    """The case after all of `history` (None: it holds no `case_created` yet)."""
    state = None
    for recorded in history:
        state = step(state, recorded)
    return state


def step(state: CaseState | None, recorded: Recorded) -> CaseState | None:
    """The state once `recorded` has happened."""
    event = recorded.event
    if isinstance(event, ev.CaseCreated):
        return opened(recorded)
    if state is None:
        return None
    followup = is_followup(state, recorded)
    after = _changed(state, event, recorded.at)
    if not followup:
        after = replace(
            after,
            state=STATE_AFTER.get(event.type, state.state),
            version=state.version + (not isinstance(event, UNCOUNTED)),
            closing=_closing(recorded),
        )
    return _counted(state, after, recorded)


def opened(recorded: Recorded) -> CaseState:
    """A case as it opens: unclaimed, owned by the org that opened it."""
    event, org = recorded.event, str(recorded.org_id)
    participants = event.participants if isinstance(event, ev.CaseCreated) else ()
    return CaseState(
        state="unclaimed",
        owner_org=org,
        owner_agent=None,
        participants=participants or (org,),
        created_at=recorded.at,
        last_event_at=recorded.at,
        owner_orgs=(org,),
        ownerless_since=recorded.at,
    )


def is_followup(state: CaseState, recorded: Recorded) -> bool:
    """Whether the event is one its case's close wrote after it (FOLLOWUPS)."""
    closing = state.closing
    return (
        closing is not None
        and recorded.event.type in FOLLOWUPS[closing.type]
        and (recorded.at, recorded.actor_kind, recorded.actor_id)
        == (closing.at, closing.actor_kind, closing.actor_id)
    )


def _closing(recorded: Recorded) -> Closing | None:
    if recorded.event.type not in FOLLOWUPS:
        return None
    return Closing(recorded.event.type, recorded.at, recorded.actor_kind, recorded.actor_id)


def new_owner_agent(event: DomainEvent) -> str | None:
    """The agent an event makes owner of the case, if it names one."""
    match event:
        case ev.Claimed(agent_id=agent) | ev.EscalatedUnclaimed(agent_id=agent):
            return agent
        case ev.Assigned(to_agent=agent) | ev.HandoffAccepted(to_agent=agent):
            return agent
        case ev.Reopened(owner_agent=agent):
            return agent
        case ev.Withdrawn(owner_agent=agent):
            return agent  # None unless the case was unclaimed
    return None


REQUEST_STATE_AFTER: dict[type[DomainEvent], str] = {
    ev.RequestAcknowledged: "acknowledged",
    ev.RequestCompleted: "done",
    ev.RequestDeclined: "declined",
    ev.RequestCancelled: "cancelled",
}
HANDOFF_STATE_AFTER: dict[type[DomainEvent], str] = {
    ev.HandoffAccepted: "accepted",
    ev.HandoffDeclined: "declined",
    ev.HandoffCancelled: "cancelled",
    ev.HandoffExpired: "expired",
}


def _changed(s: CaseState, event: DomainEvent, at: datetime) -> CaseState:
    """What the event changes besides the state: owners, parts of the case, resolution, times."""
    s = replace(s, last_event_at=at)
    owner = new_owner_agent(event)
    if owner is not None:
        s = replace(s, owner_agent=owner)
    if isinstance(event, ev.HandoffAccepted):
        relabelled = tuple(_relabelled(x, event.relabelled or ()) for x in s.sessions)
        s = replace(s, owner_org=event.to_org, sessions=relabelled)
    if event.type in FOLLOWUPS:  # a close
        s = replace(s, closed_at=at, first_closed_at=s.first_closed_at or at)
    match event:
        case ev.ParticipantAdded(org_id=org_id):
            return replace(s, participants=(*s.participants, org_id))
        case ev.RequestCreated(request_id=rid, to_org=to_org, action=action):
            return replace(s, requests=(*s.requests, RequestState(rid, to_org, action, "open")))
        case (
            ev.RequestAcknowledged(request_id=rid)
            | ev.RequestCompleted(request_id=rid)
            | ev.RequestDeclined(request_id=rid)
            | ev.RequestCancelled(request_id=rid)
        ):
            now = REQUEST_STATE_AFTER[type(event)]
            return replace(s, requests=tuple(_settled(r, rid, now) for r in s.requests))
        case ev.HandoffProposed(handoff_id=hid, to_org=to_org, summary=summary):
            proposed = HandoffState(hid, s.owner_org, to_org, summary, "proposed")
            return replace(s, handoffs=(*s.handoffs, proposed))
        case (
            ev.HandoffAccepted(handoff_id=hid)
            | ev.HandoffDeclined(handoff_id=hid)
            | ev.HandoffCancelled(handoff_id=hid)
            | ev.HandoffExpired(handoff_id=hid)
        ):
            now = HANDOFF_STATE_AFTER[type(event)]
            return replace(s, handoffs=tuple(_settled(h, hid, now) for h in s.handoffs))
        case ev.SessionStarted(session_id=sid, handoff_id=hid):
            return replace(s, sessions=(*s.sessions, SessionState(sid, hid)))
        case (
            ev.SessionJoined(session_id=sid)
            | ev.SessionLeft(session_id=sid)
            | ev.SessionEnded(session_id=sid)
        ):
            return replace(s, sessions=tuple(_session_after(x, sid, event) for x in s.sessions))
        case ev.ResolutionProposed(code=code, summary=summary):
            return replace(s, resolution_code=code, resolution_summary=summary)
        case ev.ResolutionRejected() | ev.Reopened():
            return replace(s, resolution_code=None, resolution_summary=None, closed_at=None)
        case ev.Withdrawn(reason=reason):
            return replace(s, resolution_code="withdrawn_by_customer", resolution_summary=reason)
    return s


Settled = TypeVar("Settled", RequestState, HandoffState)


def _settled(item: Settled, item_id: str, state: str) -> Settled:
    return replace(item, state=state) if item.id == item_id else item


def _relabelled(session: SessionState, changes: Iterable[Mapping[str, Any]]) -> SessionState:
    """The live session goes on under the new owner: each party the acceptance relabelled (the
    receiver now `owner`, the previous owner a `collaborator`) under its new label."""
    if not session.live:
        return session
    to = {(c.get("from"), c.get("agent_id")): c.get("to") for c in changes}
    present = tuple(
        Presence(str(to[p.party, p.agent_id]), p.agent_id) if (p.party, p.agent_id) in to else p
        for p in session.present
    )
    return replace(session, present=present)


def _session_after(session: SessionState, session_id: str, event: DomainEvent) -> SessionState:
    if not session.live or session.id != session_id:
        return session
    match event:
        case ev.SessionJoined(party=party, agent_id=agent):
            # Once present, a party stays so; a customer's second join proves the first.
            joined = Presence(party, agent)
            if joined in session.present:
                return session
            return replace(session, present=(*session.present, joined))
        case ev.SessionLeft(party=party, agent_id=agent):
            gone = Presence(party, agent)
            return replace(session, present=tuple(p for p in session.present if p != gone))
    return replace(session, live=False)  # ended


def _counted(before: CaseState, s: CaseState, recorded: Recorded) -> CaseState:
    """The metrics' running counts, from the change the event made."""
    event, at = recorded.event, recorded.at
    if before.owner_agent not in (None, s.owner_agent):
        s = replace(s, agent_changes=s.agent_changes + 1)
    if s.owner_org != before.owner_org:
        bounced = s.owner_org in s.owner_orgs
        s = replace(s, owner_orgs=(*s.owner_orgs, s.owner_org), bounces=s.bounces + bounced)
    if isinstance(event, ev.Reopened):
        s = replace(s, reopens=s.reopens + 1)
    if isinstance(event, ev.Refused) and event.code in RECORDED_CODES:
        s = replace(s, refusals=(*s.refusals, (str(recorded.org_id), event.code)))
    if s.owner_agent is None:
        return replace(s, ownerless_since=s.ownerless_since or at)
    if s.ownerless_since is None:
        return s
    spell = (s.owner_org, seconds(s.ownerless_since, at))
    s = replace(s, without_owner=(*s.without_owner, spell), ownerless_since=None, ever_owned=True)
    # A case an agent opened came claimed: it never waited to be claimed. One withdrawn before
    # anyone claimed it was never claimed either (whoever withdrew it owns it from then on).
    on_create = isinstance(event, ev.Claimed) and event.on_create
    if not before.ever_owned and not on_create and not isinstance(event, ev.Withdrawn):
        s = replace(s, claimed_after=(s.owner_org, seconds(s.created_at, at)))
    return s


def seconds(since: datetime, until: datetime) -> float:
    return (until - since).total_seconds()
