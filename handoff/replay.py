"""How a case stood after some of its events: state, owner and participants, from history alone."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from handoff.lifecycle import CASE_TABLE
from handoff.models import Event

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


@dataclass(frozen=True)
class Standing:
    state: str
    owner_org: str
    owner_agent: str | None
    participants: tuple[str, ...] = field(default=())


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
    return standing


def standings(events: Iterable[Event]) -> Iterator[tuple[Event, Standing | None]]:
    """Each event with the standing it left behind, in order."""
    standing: Standing | None = None
    for event in events:
        standing = after(standing, event)
        yield event, standing
