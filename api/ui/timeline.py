"""A case's events as sentences: "Dana Reyes (Acme Store) proposed a handoff to First Bank: “…”".

Each sentence reads the typed event; a whole history is also folded along (history.fold), so a
sentence may name what the event itself does not repeat: the org a handoff cancelled by a
withdrawal was addressed to.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from api.ui.refusals import in_words
from api.ui.words import ACTIONS, PARTIES, RESOLUTIONS, when
from handoff.domain import events as ev
from handoff.domain.events import DomainEvent, Recorded
from handoff.history.fold import CaseState, step
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
    """Names for the ids of one event: who did it, orgs, people, parties."""

    def __init__(
        self,
        event: EventView,
        names: Directory,
        before: CaseState | None,
        handoffs: Mapping[str, str] | None = None,
    ) -> None:
        self.event, self.names, self.before = event, names, before
        self.handoffs = handoffs or {}  # handoff id: the org it was addressed to

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

    def org(self, org_id: str | None) -> str:
        return self.names.org_name(org_id)

    def person(self, agent_id: str | None) -> str:
        if not agent_id:
            return "nobody"
        person = self.names.people.get(agent_id)
        org = f" ({self.names.org_name(person.org_id)})" if person else ""
        return f"{self.names.person_name(agent_id)}{org}"

    def party(self, party: str, agent_id: str | None) -> str:
        if party == "customer":
            return "The customer"
        return f"{self.person(agent_id)} as {PARTIES.get(party, party)}"

    def on_behalf(self, agent_id: str | None, how: str) -> str:
        """Who joined or left the party, when it was not the party itself."""
        actor = self.event.actor
        if actor["kind"] == "agent" and actor["id"] == agent_id:
            return ""
        return f" ({how} {self.who()})"

    def handoff_to(self, handoff_id: str) -> str | None:
        """The org a handoff was addressed to, as the history so far says (or, on a page that
        starts after it was proposed, as the case says)."""
        handoffs = self.before.handoffs if self.before else ()
        found = next((h.to_org for h in handoffs if h.id == handoff_id), None)
        return found or self.handoffs.get(handoff_id)


E = TypeVar("E", bound=DomainEvent)
Phrase = Callable[[Words, Any], str]
PHRASES: dict[str, Phrase] = {}


def phrase(cls: type[E]) -> Callable[[Callable[[Words, E], str]], Callable[[Words, E], str]]:
    """Registers the sentence for one event class."""

    def register(sentence: Callable[[Words, E], str]) -> Callable[[Words, E], str]:
        PHRASES[cls.TYPE] = sentence
        return sentence

    return register


@phrase(ev.CaseCreated)
def _created(w: Words, e: ev.CaseCreated) -> str:
    return f"{w.who()} opened the case{colon(e.subject)}"


@phrase(ev.Claimed)
def _claimed(w: Words, e: ev.Claimed) -> str:
    if e.on_create:
        return f"{w.who()} became the owner on opening the case"
    return f"{w.who()} claimed the case"


@phrase(ev.EscalatedUnclaimed)
def _escalated(w: Words, e: ev.EscalatedUnclaimed) -> str:
    return f"Nobody claimed the case in time; it went to {w.person(e.agent_id)}"


@phrase(ev.EscalationFailed)
def _escalation_failed(w: Words, e: ev.EscalationFailed) -> str:
    return f"Nobody claimed the case in time: {e.reason}"


@phrase(ev.Assigned)
def _assigned(w: Words, e: ev.Assigned) -> str:
    why = f" ({e.reason})" if e.reason else ""
    return f"{w.who()} gave the case to {w.person(e.to_agent)}{why}"


@phrase(ev.HandoffProposed)
def _handoff_proposed(w: Words, e: ev.HandoffProposed) -> str:
    overriding = f" — supervisor's override{colon(e.override_reason)}" if e.override_reason else ""
    return f"{w.who()} proposed a handoff to {w.org(e.to_org)}{colon(e.summary)}{overriding}"


@phrase(ev.HandoffAccepted)
def _handoff_accepted(w: Words, e: ev.HandoffAccepted) -> str:
    return (
        f"{w.person(e.to_agent)} accepted the handoff from {w.org(e.from_org)}; "
        f"{w.org(e.to_org)} now owns the case"
    )


@phrase(ev.HandoffDeclined)
def _handoff_declined(w: Words, e: ev.HandoffDeclined) -> str:
    return f"{w.who()} declined the handoff to {w.org(e.to_org)}{colon(e.reason)}"


@phrase(ev.HandoffCancelled)
def _handoff_cancelled(w: Words, e: ev.HandoffCancelled) -> str:
    # A withdrawal's cancellation does not name the org; the handoff it cancels does.
    to_org = e.to_org or w.handoff_to(e.handoff_id)
    return f"{w.who()} cancelled the handoff to {w.org(to_org)}{colon(e.reason)}"


@phrase(ev.HandoffExpired)
def _handoff_expired(w: Words, e: ev.HandoffExpired) -> str:
    return f"The handoff to {w.org(e.to_org)} expired unanswered; the owner stays accountable"


@phrase(ev.AwaitingCustomer)
def _awaiting(w: Words, e: ev.AwaitingCustomer) -> str:
    return f"{w.who()} is waiting for the customer{colon(e.needed)}"


@phrase(ev.CustomerResponded)
def _responded(w: Words, e: ev.CustomerResponded) -> str:
    files = f" with {files_of(e.attachments)}" if e.attachments else ""
    if e.via == "link":
        return f"The customer answered from their page{files}{colon(e.note)}"
    return f"{w.who()} recorded the customer's answer{files}{colon(e.note)}"


def files_of(attachments: Any) -> str:
    names = ", ".join(str(a.get("name")) for a in attachments or ())
    return f"{len(attachments or ())} file(s) ({names})"


@phrase(ev.AttachmentsAdded)
def _attachments_added(w: Words, e: ev.AttachmentsAdded) -> str:
    return f"{w.who()} added {files_of(e.attachments)}"


@phrase(ev.ResolutionProposed)
def _resolution(w: Words, e: ev.ResolutionProposed) -> str:
    code = RESOLUTIONS.get(e.code, e.code)
    return f"{w.who()} proposed a resolution ({code}){colon(e.summary)}"


@phrase(ev.ResolutionConfirmed)
def _confirmed(w: Words, e: ev.ResolutionConfirmed) -> str:
    if w.event.actor["kind"] == "customer":
        return "The customer confirmed the resolution; the case is closed"
    return f"{w.who()} confirmed the resolution on the customer's word; the case is closed"


@phrase(ev.ResolutionRejected)
def _rejected(w: Words, e: ev.ResolutionRejected) -> str:
    return f"{w.who()} said it is not solved{colon(e.reason)}"


@phrase(ev.AutoClosed)
def _auto_closed(w: Words, e: ev.AutoClosed) -> str:
    return "The case closed automatically: the customer did not answer the proposed resolution"


@phrase(ev.Reopened)
def _reopened(w: Words, e: ev.Reopened) -> str:
    return f"{w.who()} reopened the case{colon(e.reason)}; {w.person(e.owner_agent)} owns it"


@phrase(ev.Withdrawn)
def _withdrawn(w: Words, e: ev.Withdrawn) -> str:
    return f"{w.who()} withdrew the case on the customer's word{colon(e.reason)}"


@phrase(ev.ParticipantAdded)
def _participant_added(w: Words, e: ev.ParticipantAdded) -> str:
    return f"{w.who()} added {w.org(e.org_id)} to the case{colon(e.reason)}"


@phrase(ev.RequestCreated)
def _request_created(w: Words, e: ev.RequestCreated) -> str:
    by = f" (respond by {when(e.respond_by)})" if e.respond_by else ""
    return f"{w.who()} asked {w.org(e.to_org)}{colon(e.action)}{by}"


@phrase(ev.RequestAcknowledged)
def _request_acknowledged(w: Words, e: ev.RequestAcknowledged) -> str:
    return f"{w.who()} acknowledged the request {quoted(e.action)}"


@phrase(ev.RequestCompleted)
def _request_completed(w: Words, e: ev.RequestCompleted) -> str:
    return f"{w.who()} completed the request {quoted(e.action)}{colon(e.note)}"


@phrase(ev.RequestDeclined)
def _request_declined(w: Words, e: ev.RequestDeclined) -> str:
    return f"{w.who()} declined the request {quoted(e.action)}{colon(e.reason)}"


@phrase(ev.RequestCancelled)
def _request_cancelled(w: Words, e: ev.RequestCancelled) -> str:
    return f"The request to {w.org(e.to_org)} was cancelled"


@phrase(ev.RequestOverdue)
def _request_overdue(w: Words, e: ev.RequestOverdue) -> str:
    return f"The request to {w.org(e.to_org)} is overdue; {w.person(e.escalated_to)} was alerted"


@phrase(ev.SessionStarted)
def _session_started(w: Words, e: ev.SessionStarted) -> str:
    purpose = " for the handoff" if e.handoff_id else ""
    return f"{w.who()} started a joint session{purpose}"


@phrase(ev.SessionJoined)
def _session_joined(w: Words, e: ev.SessionJoined) -> str:
    who = w.party(e.party, e.agent_id)
    if e.via == "link":
        return f"{who} joined the joint session from their link"
    return f"{who} joined the joint session{w.on_behalf(e.agent_id, 'added by')}"


@phrase(ev.SessionLeft)
def _session_left(w: Words, e: ev.SessionLeft) -> str:
    who = w.party(e.party, e.agent_id)
    if e.reason == "connection_lost":
        return f"{who} left the joint session: their page was closed"
    if e.via == "link":
        return f"{who} left the joint session"
    return f"{who} left the joint session{w.on_behalf(e.agent_id, 'reported by')}"


@phrase(ev.SessionEnded)
def _session_ended(w: Words, e: ev.SessionEnded) -> str:
    return f"{w.who()} ended the joint session" + (f" ({e.reason})" if e.reason else "")


@phrase(ev.SessionMessage)
def _session_message(w: Words, e: ev.SessionMessage) -> str:
    return f"{w.party(e.party, e.agent_id)} said in the joint session{colon(e.text)}"


@phrase(ev.NoteAdded)
def _note(w: Words, e: ev.NoteAdded) -> str:
    to = "to the customer" if e.visibility == "customer" else "an internal note"
    return f"{w.who()} wrote {to}{colon(e.text)}"


@phrase(ev.Refused)
def _refused(w: Words, e: ev.Refused) -> str:
    tried = ACTIONS.get(e.trigger, e.trigger or "something").lower()
    return f"{w.who()} tried to {tried}; refused: {in_words(e.code, e.message, e.details, w.names)}"


EVENT_TYPES = sorted(PHRASES)


def recorded(view: EventView) -> Recorded:
    actor = view.actor
    typed = ev.parse(view.type, view.data)
    return Recorded(view.seq, view.at, str(actor["kind"]), actor["id"], view.org_id, typed)


def line(view: EventView, names: Directory) -> Line:
    """One event's sentence, out of its history (as an audit search finds it)."""
    return _line(view, recorded(view).event, names, None)


def _line(
    view: EventView,
    event: DomainEvent,
    names: Directory,
    before: CaseState | None,
    handoffs: Mapping[str, str] | None = None,
) -> Line:
    words = Words(view, names, before, handoffs)
    sentence = PHRASES.get(event.type)
    text = sentence(words, event) if sentence else f"{words.who()}: {view.type.replace('_', ' ')}"
    code = event.code if isinstance(event, ev.Refused) else None
    return Line(view.seq, view.at, text, view.type, code)


def timeline(
    events: list[EventView], names: Directory, handoffs: Mapping[str, str] | None = None
) -> list[Line]:
    """A case's history (in seq order), each event phrased with the case as it stood. A page
    that starts after the case's first event names a handoff by `handoffs` (id: its target org),
    the case's own."""
    lines, case = [], None
    for view in events:
        event = recorded(view)
        lines.append(_line(view, event.event, names, case, handoffs))
        case = step(case, event)
    return lines
