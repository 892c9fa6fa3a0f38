"""A case's events as sentences: "Dana Reyes (Acme Store) proposed a handoff to First Bank: “…”"."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.ui.words import ACTIONS, PARTIES, RESOLUTIONS, when
from handoff.services.directory import Directory
from handoff.services.views import EventView

TIMERS = {
    "claim_window": "the claim window",
    "handoff_window": "the handoff window",
    "request_window": "the request window",
    "auto_close_window": "the auto-close window",
}


@dataclass(frozen=True)
class Line:
    seq: int
    at: datetime
    text: str
    type: str
    code: str | None = None  # a refusal's code


def quoted(text: Any) -> str:
    return f"“{text}”" if text else ""


def colon(text: Any) -> str:
    return f": “{text}”" if text else ""


class Words:
    """Turns the ids in one event's data into names."""

    def __init__(self, event: EventView, names: Directory) -> None:
        self.event, self.names, self.data = event, names, event.data

    def who(self) -> str:
        kind, actor_id = self.event.actor["kind"], self.event.actor["id"]
        if kind == "agent":
            return f"{self.names.person_name(actor_id)} ({self.names.org_name(self.event.org_id)})"
        if kind == "system":
            return f"{self.names.org_name(self.event.org_id)}'s system {actor_id}"
        if kind == "customer":
            return "The customer"
        if kind == "timer":
            return f"The timer ({TIMERS.get(actor_id or '', actor_id)})"
        return "An administrator"

    def org(self, key: str) -> str:
        return self.names.org_name(self.data.get(key))

    def person(self, key: str) -> str:
        agent_id = self.data.get(key)
        if not agent_id:
            return "nobody"
        person = self.names.people.get(agent_id)
        org = f" ({self.names.org_name(person.org_id)})" if person else ""
        return f"{self.names.person_name(agent_id)}{org}"

    def party(self) -> str:
        if self.data.get("party") == "customer":
            return "The customer"
        party = PARTIES.get(self.data.get("party", ""), self.data.get("party"))
        return f"{self.person('agent_id')} as {party}"

    def on_behalf(self, how: str) -> str:
        """Who joined or left the party, when it was not the party itself."""
        if self.event.actor["kind"] == "agent" and self.event.actor["id"] == self.data.get(
            "agent_id"
        ):
            return ""
        return f" ({how} {self.who()})"


def _claimed(w: Words) -> str:
    if w.data.get("on_create"):
        return f"{w.who()} became the owner on opening the case"
    return f"{w.who()} claimed the case"


def _assigned(w: Words) -> str:
    why = f" ({w.data['reason']})" if w.data.get("reason") else ""
    return f"{w.who()} gave the case to {w.person('to_agent')}{why}"


def _handoff_proposed(w: Words) -> str:
    override = w.data.get("override_reason")
    overriding = f" — supervisor's override{colon(override)}" if override else ""
    summary = colon(w.data.get("summary"))
    return f"{w.who()} proposed a handoff to {w.org('to_org')}{summary}{overriding}"


def _confirmed(w: Words) -> str:
    if w.event.actor["kind"] == "customer":
        return "The customer confirmed the resolution; the case is closed"
    return f"{w.who()} confirmed the resolution on the customer's word; the case is closed"


def _note(w: Words) -> str:
    to = "to the customer" if w.data.get("visibility") == "customer" else "an internal note"
    return f"{w.who()} wrote {to}{colon(w.data.get('text'))}"


def _refused(w: Words) -> str:
    tried = ACTIONS.get(w.data.get("trigger", ""), w.data.get("trigger", "something")).lower()
    return f"{w.who()} tried to {tried}; refused: {w.data.get('message', '')}"


def _resolution(w: Words) -> str:
    code = RESOLUTIONS.get(w.data.get("code", ""), w.data.get("code"))
    return f"{w.who()} proposed a resolution ({code}){colon(w.data.get('summary'))}"


def _request_created(w: Words) -> str:
    due = w.data.get("respond_by")
    by = f" (respond by {when(datetime.fromisoformat(due))})" if due else ""
    return f"{w.who()} asked {w.org('to_org')}{colon(w.data.get('action'))}{by}"


def _session_started(w: Words) -> str:
    purpose = " for the handoff" if w.data.get("handoff_id") else ""
    return f"{w.who()} started a joint session{purpose}"


PHRASES: dict[str, Callable[[Words], str]] = {
    "case_created": lambda w: f"{w.who()} opened the case{colon(w.data.get('subject'))}",
    "claimed": _claimed,
    "escalated_unclaimed": lambda w: (
        f"Nobody claimed the case in time; it went to {w.person('agent_id')}"
    ),
    "escalation_failed": lambda w: f"Nobody claimed the case in time: {w.data.get('reason', '')}",
    "assigned": _assigned,
    "handoff_proposed": _handoff_proposed,
    "handoff_accepted": lambda w: (
        f"{w.person('to_agent')} accepted the handoff from {w.org('from_org')}; "
        f"{w.org('to_org')} now owns the case"
    ),
    "handoff_declined": lambda w: (
        f"{w.who()} declined the handoff to {w.org('to_org')}{colon(w.data.get('reason'))}"
    ),
    "handoff_cancelled": lambda w: (
        f"{w.who()} cancelled the handoff to {w.org('to_org')}{colon(w.data.get('reason'))}"
    ),
    "handoff_expired": lambda w: (
        f"The handoff to {w.org('to_org')} expired unanswered; the owner stays accountable"
    ),
    "awaiting_customer": lambda w: (
        f"{w.who()} is waiting for the customer{colon(w.data.get('needed'))}"
    ),
    "customer_responded": lambda w: (
        f"{w.who()} recorded the customer's answer{colon(w.data.get('note'))}"
    ),
    "resolution_proposed": _resolution,
    "resolution_confirmed": _confirmed,
    "resolution_rejected": lambda w: (
        f"{w.who()} said it is not solved{colon(w.data.get('reason'))}"
    ),
    "auto_closed": lambda w: (
        "The case closed automatically: the customer did not answer the proposed resolution"
    ),
    "reopened": lambda w: (
        f"{w.who()} reopened the case{colon(w.data.get('reason'))}; "
        f"{w.person('owner_agent')} owns it"
    ),
    "withdrawn": lambda w: (
        f"{w.who()} withdrew the case on the customer's word{colon(w.data.get('reason'))}"
    ),
    "participant_added": lambda w: (
        f"{w.who()} added {w.org('org_id')} to the case{colon(w.data.get('reason'))}"
    ),
    "request_created": _request_created,
    "request_acknowledged": lambda w: (
        f"{w.who()} acknowledged the request {quoted(w.data.get('action'))}"
    ),
    "request_completed": lambda w: (
        f"{w.who()} completed the request {quoted(w.data.get('action'))}{colon(w.data.get('note'))}"
    ),
    "request_declined": lambda w: (
        f"{w.who()} declined the request {quoted(w.data.get('action'))}"
        f"{colon(w.data.get('reason'))}"
    ),
    "request_cancelled": lambda w: f"The request to {w.org('to_org')} was cancelled",
    "request_overdue": lambda w: (
        f"The request to {w.org('to_org')} is overdue; {w.person('escalated_to')} was alerted"
    ),
    "session_started": _session_started,
    "session_joined": lambda w: f"{w.party()} joined the joint session{w.on_behalf('added by')}",
    "session_left": lambda w: f"{w.party()} left the joint session{w.on_behalf('reported by')}",
    "session_ended": lambda w: (
        f"{w.who()} ended the joint session"
        + (f" ({w.data['reason']})" if w.data.get("reason") else "")
    ),
    "note_added": _note,
    "refused": _refused,
}
EVENT_TYPES = sorted(PHRASES)


def line(event: EventView, names: Directory) -> Line:
    words = Words(event, names)
    phrase = PHRASES.get(event.type)
    text = phrase(words) if phrase else f"{words.who()}: {event.type.replace('_', ' ')}"
    code = event.data.get("code") if event.type == "refused" else None
    return Line(event.seq, event.at, text, event.type, code)


def timeline(events: list[EventView], names: Directory) -> list[Line]:
    return [line(e, names) for e in events]
