"""The events of a case's history, one class per type, each with named fields (SPEC §6).

`data()` is the dict an event is stored as, and `parse` reads every dict ever stored for a type.
Events are hash-chained, so a stored shape never changes: a key an older version did not write
reads as its fallback (None, "", False, ()) and is left out again by `data()`; a key this version
does not name, or a value not of the field's type, is kept as it was (`unnamed`); a type this
version does not know reads as `UnknownEvent`. So `data()` gives back exactly what was stored.
"""

import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar, Protocol, Union, get_args, get_origin

# A key written only when it has a value (only some of the writers, or only newer ones, write it).
OMITTED_IF_NONE = {"omitted_if_none": True}
# The field that holds every key the others do not name, stored beside them (a refusal's details).
THE_REST = {"the_rest": True}


@dataclass(frozen=True)
class DomainEvent:
    """What one event says; who wrote it and when is the envelope's (`Recorded`)."""

    TYPE: ClassVar[str]
    # Keys the class names that the stored data lacked, and keys (or values) it could not read:
    # both are kept so that `data()` re-encodes the event byte for byte.
    absent: frozenset[str] = field(default=frozenset(), kw_only=True, repr=False)
    unnamed: Mapping[str, Any] = field(default_factory=dict, kw_only=True, repr=False)

    @property
    def type(self) -> str:
        return self.TYPE

    def data(self) -> dict[str, Any]:
        rest = _rest_field(type(self))
        stored: dict[str, Any] = dict(getattr(self, rest)) if rest else {}
        for key in _keys(type(self)):
            value = getattr(self, key.name)
            if key.name in self.absent or (value is None and key.omitted_if_none):
                continue
            stored[key.name] = key.encode(value)
        return stored | dict(self.unnamed)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> "DomainEvent":
        values: dict[str, Any] = {}
        absent: set[str] = set()
        unnamed = dict(data)
        for key in _keys(cls):
            decoded = key.decode(data[key.name]) if key.name in data else _UNREADABLE
            if decoded is None and key.omitted_if_none:  # stored as null: kept as it was
                decoded = _UNREADABLE
            if decoded is _UNREADABLE:
                values[key.name] = key.fallback
                if key.name in data or not key.omitted_if_none:
                    absent.add(key.name)
            else:
                values[key.name] = decoded
                del unnamed[key.name]
        rest = _rest_field(cls)
        if rest:
            values[rest] = {k: v for k, v in unnamed.items() if k not in values}
            unnamed = {k: v for k, v in unnamed.items() if k in values}
        return cls(**values, absent=frozenset(absent), unnamed=unnamed)


_UNREADABLE = object()


@dataclass(frozen=True)
class _Key:
    """How one named field is stored: its key, its fallback, its encoding."""

    name: str
    fallback: Any
    omitted_if_none: bool
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


def _rest_field(cls: type[DomainEvent]) -> str | None:
    return next((f.name for f in fields(cls) if f.metadata.get("the_rest")), None)


def _keys(cls: type[DomainEvent]) -> tuple[_Key, ...]:
    """The fields stored each under its own key (not the bookkeeping, not the rest)."""
    keys = _KEYS.get(cls)
    if keys is None:
        keys = _KEYS[cls] = _keys_of(cls)
    return keys


_KEYS: dict[type[DomainEvent], tuple[_Key, ...]] = {}


def _keys_of(cls: type[DomainEvent]) -> tuple[_Key, ...]:
    keys = []
    for f in fields(cls):
        if f.kw_only or f.metadata.get("the_rest"):
            continue
        kinds = [k for k in _alternatives(f.type) if k is not type(None)]
        nullable = len(kinds) < len(_alternatives(f.type))
        (kind,) = kinds  # one kind of value per field (optionally None)
        keys.append(
            _Key(
                name=f.name,
                fallback=None if nullable else _FALLBACK[get_origin(kind) or kind],
                omitted_if_none=bool(f.metadata.get("omitted_if_none")),
                encode=_encoder(kind),
                decode=_decoder(kind, nullable),
            )
        )
    return tuple(keys)


def _alternatives(annotation: Any) -> tuple[Any, ...]:
    if isinstance(annotation, types.UnionType) or get_origin(annotation) is Union:
        return get_args(annotation)
    return (annotation,)


_FALLBACK: dict[Any, Any] = {str: "", bool: False, tuple: ()}


def _encoder(kind: Any) -> Callable[[Any], Any]:
    if kind is datetime:
        return lambda v: None if v is None else v.isoformat()
    if get_origin(kind) is tuple:
        return lambda v: None if v is None else list(v)
    return lambda v: v


def _decoder(kind: Any, nullable: bool) -> Callable[[Any], Any]:
    def decode(value: Any) -> Any:
        if value is None:
            return None if nullable else _UNREADABLE
        if kind is datetime:  # read only as written: isoformat's own spelling
            try:
                read = datetime.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                read = None
            return read if read is not None and read.isoformat() == value else _UNREADABLE
        if get_origin(kind) is tuple:
            (item, _ellipsis) = get_args(kind)
            fits = isinstance(value, list) and all(isinstance(v, item) for v in value)
            return tuple(value) if fits else _UNREADABLE
        if kind is str:
            return value if isinstance(value, str) else _UNREADABLE
        return value if type(value) is kind else _UNREADABLE

    return decode


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


@dataclass(frozen=True)
class SessionLeft(DomainEvent):
    TYPE = "session_left"
    session_id: str
    party: str
    agent_id: str | None


@dataclass(frozen=True)
class SessionEnded(DomainEvent):
    TYPE = "session_ended"
    session_id: str
    # Written when closing the case ended the session.
    reason: str | None = field(default=None, metadata=OMITTED_IF_NONE)


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
    SessionJoined, SessionLeft, SessionEnded, NoteAdded, Refused,
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
