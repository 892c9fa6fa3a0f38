"""The events of a case's history, one class per type, each with named fields (SPEC §6).

`data()` is the dict an event is stored as, byte for byte what the commands have always written,
and `parse` reads every dict ever stored for a type (see event_encoding); a type this version does
not know reads as `UnknownEvent`, so a chain written by a newer version still reads.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from handoff.domain.event_encoding import OMITTED_IF_NONE, THE_REST
from handoff.domain.event_encoding import DomainEvent as DomainEvent  # the base, for readers

# --- Opening, claiming, owning ------------------------------------------------------------------


@dataclass(frozen=True)
class CaseCreated(DomainEvent):
    TYPE = "case_created"
    subject: str
    priority: str
    participants: tuple[str, ...]  # the first-contact org first


@dataclass(frozen=True)
class Claimed(DomainEvent):
    TYPE = "claimed"
    agent_id: str
    on_create: bool  # an agent opened the case and owns it from the start


@dataclass(frozen=True)
class EscalatedUnclaimed(DomainEvent):
    TYPE = "escalated_unclaimed"
    agent_id: str
    role: str


@dataclass(frozen=True)
class EscalationFailed(DomainEvent):
    TYPE = "escalation_failed"
    reason: str


@dataclass(frozen=True)
class Assigned(DomainEvent):
    TYPE = "assigned"
    from_agent: str | None
    to_agent: str
    reason: str | None = field(default=None, metadata=OMITTED_IF_NONE)  # an agent deactivated


@dataclass(frozen=True)
class ParticipantAdded(DomainEvent):
    TYPE = "participant_added"
    org_id: str
    reason: str


# --- Handoffs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandoffProposed(DomainEvent):
    TYPE = "handoff_proposed"
    handoff_id: str
    to_org: str
    summary: str
    override_reason: str | None  # a supervisor's, handing back to an org that handed it off


@dataclass(frozen=True)
class HandoffAccepted(DomainEvent):
    TYPE = "handoff_accepted"
    handoff_id: str
    from_org: str
    from_agent: str | None
    to_org: str
    to_agent: str
    summary: str
    # The live session's parties relabelled with it: {"agent_id", "from", "to"} each (SPEC §12).
    relabelled: tuple[dict, ...] | None = field(default=None, metadata=OMITTED_IF_NONE)  # type: ignore[type-arg]


@dataclass(frozen=True)
class HandoffDeclined(DomainEvent):
    TYPE = "handoff_declined"
    handoff_id: str
    to_org: str
    reason: str | None


@dataclass(frozen=True)
class HandoffCancelled(DomainEvent):
    TYPE = "handoff_cancelled"
    handoff_id: str
    reason: str | None
    # Left out when a withdrawal cancels the pending handoff.
    to_org: str | None = field(default=None, metadata=OMITTED_IF_NONE)


@dataclass(frozen=True)
class HandoffExpired(DomainEvent):
    TYPE = "handoff_expired"
    handoff_id: str
    to_org: str
    owner: str | None  # the owner agent, who stays accountable


# --- Waiting on the customer, resolving, closing -------------------------------------------------


@dataclass(frozen=True)
class AwaitingCustomer(DomainEvent):
    TYPE = "awaiting_customer"
    needed: str


@dataclass(frozen=True)
class CustomerResponded(DomainEvent):
    TYPE = "customer_responded"
    note: str | None
    # From the customer's own page: "link"; the files given, {"id", "name", "content_type",
    # "size", "sha256"} each, so the hash chain covers them.
    via: str | None = field(default=None, metadata=OMITTED_IF_NONE)
    attachments: tuple[dict, ...] | None = field(default=None, metadata=OMITTED_IF_NONE)  # type: ignore[type-arg]


@dataclass(frozen=True)
class ResolutionProposed(DomainEvent):
    TYPE = "resolution_proposed"
    code: str
    summary: str


@dataclass(frozen=True)
class ResolutionConfirmed(DomainEvent):
    TYPE = "resolution_confirmed"
    code: str | None
    on_customer_word: bool  # confirmed by the owner org for the customer


@dataclass(frozen=True)
class ResolutionRejected(DomainEvent):
    TYPE = "resolution_rejected"
    reason: str
    code: str | None  # the code rejected
    owner_agent: str | None


@dataclass(frozen=True)
class AutoClosed(DomainEvent):
    TYPE = "auto_closed"
    code: str | None
    automatic: bool


@dataclass(frozen=True)
class Reopened(DomainEvent):
    TYPE = "reopened"
    reason: str
    owner_agent: str


@dataclass(frozen=True)
class Withdrawn(DomainEvent):
    TYPE = "withdrawn"
    reason: str
    # Written only when the case was unclaimed: whoever withdrew it became its owner.
    owner_agent: str | None = field(default=None, metadata=OMITTED_IF_NONE)


# --- Requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestCreated(DomainEvent):
    TYPE = "request_created"
    request_id: str
    to_org: str
    action: str
    respond_by: datetime | None  # stored as written (isoformat, with the offset given)


@dataclass(frozen=True)
class RequestAcknowledged(DomainEvent):
    TYPE = "request_acknowledged"
    request_id: str
    to_org: str
    action: str


@dataclass(frozen=True)
class RequestCompleted(DomainEvent):
    TYPE = "request_completed"
    request_id: str
    to_org: str
    action: str
    note: str | None = field(default=None, metadata=OMITTED_IF_NONE)


@dataclass(frozen=True)
class RequestDeclined(DomainEvent):
    TYPE = "request_declined"
    request_id: str
    to_org: str
    action: str
    reason: str | None = field(default=None, metadata=OMITTED_IF_NONE)


@dataclass(frozen=True)
class RequestCancelled(DomainEvent):
    TYPE = "request_cancelled"
    request_id: str
    to_org: str


@dataclass(frozen=True)
class RequestOverdue(DomainEvent):
    TYPE = "request_overdue"
    request_id: str
    to_org: str
    respond_by: datetime | None
    escalated_to: str | None  # the target org's supervisor (or rep) alerted; None: nobody


# --- Joint sessions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionStarted(DomainEvent):
    TYPE = "session_started"
    session_id: str
    handoff_id: str | None


@dataclass(frozen=True)
class SessionJoined(DomainEvent):
    TYPE = "session_joined"
    session_id: str
    party: str
    agent_id: str | None  # None for the customer
    via: str | None = field(default=None, metadata=OMITTED_IF_NONE)  # agent, link, system, attested


@dataclass(frozen=True)
class SessionLeft(DomainEvent):
    TYPE = "session_left"
    session_id: str
    party: str
    agent_id: str | None
    via: str | None = field(default=None, metadata=OMITTED_IF_NONE)
    reason: str | None = field(default=None, metadata=OMITTED_IF_NONE)  # "connection_lost"


@dataclass(frozen=True)
class SessionEnded(DomainEvent):
    TYPE = "session_ended"
    session_id: str
    # Written when closing the case ended the session.
    reason: str | None = field(default=None, metadata=OMITTED_IF_NONE)


@dataclass(frozen=True)
class SessionMessage(DomainEvent):
    TYPE = "session_message"
    session_id: str
    party: str
    agent_id: str | None  # None for the customer
    text: str


@dataclass(frozen=True)
class AttachmentsAdded(DomainEvent):
    """Files a participant (a partner system, say) gave for the case; each with its SHA-256."""

    TYPE = "attachments_added"
    attachments: tuple[dict, ...]  # type: ignore[type-arg]


# --- Notes and refusals --------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteAdded(DomainEvent):
    TYPE = "note_added"
    text: str
    visibility: str  # internal or customer


@dataclass(frozen=True)
class Refused(DomainEvent):
    """An attempt to send the customer away, refused and recorded; `details` are the refusal's
    own (the quoted phrase, who is missing, the open requests …), stored beside the code."""

    TYPE = "refused"
    trigger: str
    code: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict, metadata=THE_REST)

    @property
    def phrase(self) -> str | None:
        """The send-away phrase quoted, for send_away_language."""
        phrase = self.details.get("phrase")
        return phrase if isinstance(phrase, str) else None


@dataclass(frozen=True)
class UnknownEvent(DomainEvent):
    """A type this version does not know (written by a newer one): read, kept, never interpreted."""

    TYPE = ""
    event_type: str
    stored: Mapping[str, Any]

    @property
    def type(self) -> str:
        return self.event_type

    def data(self) -> dict[str, Any]:
        return dict(self.stored)


CLASSES: tuple[type[DomainEvent], ...] = (
    CaseCreated, Claimed, EscalatedUnclaimed, EscalationFailed, Assigned, ParticipantAdded,
    HandoffProposed, HandoffAccepted, HandoffDeclined, HandoffCancelled, HandoffExpired,
    AwaitingCustomer, CustomerResponded, ResolutionProposed, ResolutionConfirmed,
    ResolutionRejected, AutoClosed, Reopened, Withdrawn, RequestCreated, RequestAcknowledged,
    RequestCompleted, RequestDeclined, RequestCancelled, RequestOverdue, SessionStarted,
    SessionJoined, SessionLeft, SessionEnded, SessionMessage, AttachmentsAdded, NoteAdded,
    Refused,
)  # fmt: skip
CLASS_OF: dict[str, type[DomainEvent]] = {cls.TYPE: cls for cls in CLASSES}


def parse(type: str, data: Mapping[str, Any]) -> DomainEvent:
    """The typed event stored as `type` with `data`; an unknown type reads as UnknownEvent."""
    cls = CLASS_OF.get(type)
    if cls is None:
        return UnknownEvent(type, dict(data))
    return cls.from_data(data)


class StoredEvent(Protocol):
    """An event as the store holds it (the events table's row)."""

    @property
    def seq(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def actor_kind(self) -> str: ...
    @property
    def actor_id(self) -> str | None: ...
    @property
    def org_id(self) -> str | None: ...
    @property
    def at(self) -> datetime: ...
    @property
    def data(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Recorded:
    """One line of a case's history: the typed event, who wrote it and when."""

    seq: int
    at: datetime
    actor_kind: str
    actor_id: str | None
    org_id: str | None
    event: DomainEvent

    @classmethod
    def of(cls, stored: StoredEvent) -> "Recorded":
        event = parse(stored.type, stored.data)
        return cls(stored.seq, stored.at, stored.actor_kind, stored.actor_id, stored.org_id, event)
