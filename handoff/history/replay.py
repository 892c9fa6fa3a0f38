"""How a case stood after some of its events, from history alone: state, owner, participants,
requests, the pending handoff and the live joint session."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from handoff.domain.lifecycle import CASE_TABLE
from handoff.store.models import Event

# The state each event leads to; an event not named here leaves the state as it was.
STATE_AFTER = {"case_created": "unclaimed"} | {
    row.event: row.dest for row in CASE_TABLE if row.dest is not None
}
# Where each ownership event names the new owner agent in its data.
NEW_OWNER_AGENT = {
    "claimed": "agent_id",
    "escalated_unclaimed": "agent_id",
    "assigned": "to_agent",
    "handoff_accepted": "to_agent",
    "reopened": "owner_agent",
}


# The state each request event leaves its request in.
REQUEST_STATE_AFTER = {
    "request_created": "open",
    "request_acknowledged": "acknowledged",
    "request_completed": "done",
    "request_declined": "declined",
    "request_cancelled": "cancelled",
}
HANDOFF_DECIDED = frozenset(
    {"handoff_accepted", "handoff_declined", "handoff_cancelled", "handoff_expired"}
)


@dataclass(frozen=True)
class RequestStanding:
    id: str
    to_org: str
    action: str
    state: str


@dataclass(frozen=True)
class HandoffStanding:
    id: str
    to_org: str
    summary: str


@dataclass(frozen=True)
class Presence:
    party: str
    agent_id: str | None  # None for the customer


@dataclass(frozen=True)
class SessionStanding:
    id: str
    handoff_id: str | None
    present: tuple[Presence, ...] = ()  # in the order they joined


@dataclass(frozen=True)
class Standing:
    state: str
    owner_org: str
    owner_agent: str | None
    participants: tuple[str, ...] = field(default=())
    requests: tuple[RequestStanding, ...] = field(default=())
    handoff: HandoffStanding | None = None
    session: SessionStanding | None = None


def after(standing: Standing | None, event: Event) -> Standing | None:
    """The standing once `event` has happened (None: the case did not exist yet)."""
    data = event.data
    if event.type == "case_created":
        orgs = tuple(data.get("participants") or [event.org_id])
        return Standing("unclaimed", str(event.org_id), None, orgs)
    if standing is None:
        return None
    standing = replace(standing, state=STATE_AFTER.get(event.type, standing.state))
    if event.type in NEW_OWNER_AGENT:
        standing = replace(standing, owner_agent=data.get(NEW_OWNER_AGENT[event.type]))
    if event.type == "handoff_accepted":
        standing = replace(standing, owner_org=data["to_org"])
    if event.type == "participant_added":
        standing = replace(standing, participants=(*standing.participants, data["org_id"]))
    if event.type in REQUEST_STATE_AFTER:
        standing = replace(standing, requests=_requests_after(standing.requests, event))
    if event.type == "handoff_proposed":
        handoff = HandoffStanding(data["handoff_id"], data["to_org"], data.get("summary") or "")
        standing = replace(standing, handoff=handoff)
    if event.type in HANDOFF_DECIDED:
        standing = replace(standing, handoff=None)
    return replace(standing, session=_session_after(standing.session, event))


def _requests_after(
    requests: tuple[RequestStanding, ...], event: Event
) -> tuple[RequestStanding, ...]:
    data, state = event.data, REQUEST_STATE_AFTER[event.type]
    if event.type == "request_created":
        created = RequestStanding(data["request_id"], data["to_org"], data["action"], state)
        return (*requests, created)
    return tuple(replace(r, state=state) if r.id == data["request_id"] else r for r in requests)


def _session_after(session: SessionStanding | None, event: Event) -> SessionStanding | None:
    data = event.data
    if event.type == "session_started":
        return SessionStanding(data["session_id"], data.get("handoff_id"))
    if session is None or data.get("session_id") != session.id:
        return session
    if event.type == "session_ended":
        return None
    if event.type not in ("session_joined", "session_left"):
        return session
    who = Presence(data["party"], data.get("agent_id"))
    if event.type == "session_joined":
        return replace(session, present=(*session.present, who))
    return replace(session, present=tuple(p for p in session.present if p != who))


def standings(events: Iterable[Event]) -> Iterator[tuple[Event, Standing | None]]:
    """Each event with the standing it left behind, in order."""
    standing: Standing | None = None
    for event in events:
        standing = after(standing, event)
        yield event, standing
