"""The case aggregate as plain classes: a case with its participants, requests, handoffs and joint
sessions. Nothing here knows about SQL; the case store reads and writes these (handoff.store)."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from handoff.domain.vocabulary import OPEN_REQUEST_STATES, PROVEN_CUSTOMER_VIAS, REQUEST_STATES

GENESIS_HASH = "0" * 64


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """Now, in UTC: the one clock of the engine (freezegun moves it in tests)."""
    return datetime.now(UTC)


@dataclass(eq=False)
class Agent:
    """A person of one org, as a command sees them: who they are and whether they may own cases."""

    id: str
    org_id: str
    name: str
    role: str
    active: bool = True
    created_at: datetime = field(default_factory=utcnow)
    deactivated_at: datetime | None = None


@dataclass(eq=False)
class Participant:
    org_id: str
    case_id: str = ""
    reason: str = ""
    added_at: datetime = field(default_factory=utcnow)


@dataclass(eq=False)
class Request:
    from_org_id: str
    to_org_id: str
    action: str
    respond_by: datetime
    id: str = field(default_factory=new_id)
    case_id: str = ""
    details: str = ""
    state: str = "open"
    note: str | None = None
    reason: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    escalated_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_REQUEST_STATES


@dataclass(eq=False)
class Handoff:
    from_org_id: str
    to_org_id: str
    id: str = field(default_factory=new_id)
    case_id: str = ""
    from_agent_id: str | None = None
    summary: str = ""
    override_reason: str | None = None
    state: str = "proposed"
    expires_at: datetime = field(default_factory=utcnow)
    accepted_by: str | None = None
    reason: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    decided_at: datetime | None = None
    # The receiving org's own customer_presence, read with the case (None: the deployment's, or
    # not read); not a fact of the handoff, and never written with it.
    to_org_presence: str | None = None


@dataclass(frozen=True)
class Awaited:
    """A party a warm handoff still waits for: who, and of which org and as which agent where
    that is known."""

    party: str
    org_id: str | None = None
    agent_id: str | None = None


@dataclass(eq=False)
class SessionParty:
    """One stay of one party in a joint session: from its join to its leave (or the end)."""

    party: str
    agent_id: str | None = None
    joined_at: datetime = field(default_factory=utcnow)
    left_at: datetime | None = None
    session_id: str = ""
    id: int | None = None  # given by the database
    via: str | None = None  # how the presence was established: agent, link, system, attested
    seen_at: datetime | None = None  # a customer present by link: their page last said so


def proves(presence: SessionParty, proofs: tuple[str, ...] | None) -> bool:
    """Whether the presence was established by one of `proofs` (None: by any means)."""
    return proofs is None or (presence.via or "attested") in proofs


@dataclass(eq=False)
class JointSession:
    id: str = field(default_factory=new_id)
    case_id: str = ""
    handoff_id: str | None = None
    state: str = "live"
    started_at: datetime = field(default_factory=utcnow)
    ended_at: datetime | None = None
    parties: list[SessionParty] = field(default_factory=list)

    @property
    def present(self) -> list[SessionParty]:
        return [p for p in self.parties if p.left_at is None] if self.state == "live" else []

    def presence_of(self, party: str, agent_id: str | None) -> SessionParty | None:
        """`party` (as `agent_id`, or the customer as None) while present."""
        return next((p for p in self.present if (p.party, p.agent_id) == (party, agent_id)), None)


@dataclass(eq=False)
class Attachment:
    """A file given for the case (its bytes stay in the store; the event holds its SHA-256)."""

    name: str
    content_type: str
    size: int
    sha256: str
    added_by: str
    id: str = field(default_factory=new_id)
    case_id: str = ""
    created_at: datetime = field(default_factory=utcnow)


@dataclass(eq=False)
class Case:
    number: int
    state: str
    subject: str
    customer: dict[str, Any]
    owner_org_id: str
    first_contact_org_id: str
    customer_link: str = ""
    id: str = field(default_factory=new_id)
    version: int = 1
    description: str = ""
    priority: str = "normal"
    owner_agent_id: str | None = None
    resolution_code: str | None = None
    resolution_summary: str | None = None
    closed_how: str | None = None
    claim_due_at: datetime | None = None
    auto_close_due_at: datetime | None = None
    reopen_until: datetime | None = None
    unclaimed_escalation_failed: bool = False
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    closed_at: datetime | None = None
    participants: list[Participant] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    handoffs: list[Handoff] = field(default_factory=list)
    sessions: list[JointSession] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    # The settled requests the case does not carry (the store reads only the open ones), counted
    # by state: with `requests`, every request the case has had.
    settled_requests: dict[str, int] = field(default_factory=dict)
    # How many files given for the case it does not carry (the store reads only the newest).
    older_attachments: int = 0

    @property
    def reference(self) -> str:
        return f"HC-{self.number:06d}"

    @property
    def participant_org_ids(self) -> list[str]:
        return [p.org_id for p in self.participants]

    @property
    def open_requests(self) -> list[Request]:
        return [r for r in self.requests if r.state in OPEN_REQUEST_STATES]

    @property
    def request_counts(self) -> dict[str, int]:
        """How many requests the case has had, by state (every state named, 0 for none)."""
        counts = dict.fromkeys(REQUEST_STATES, 0)
        for state, n in self.settled_requests.items():
            counts[state] += n
        for request in self.requests:
            counts[request.state] += 1
        return counts

    @property
    def pending_handoff(self) -> Handoff | None:
        return next((h for h in self.handoffs if h.state == "proposed"), None)

    def handed_off_by(self, org_id: str | None) -> bool:
        """Whether `org_id` owned the case once and handed it off: a handoff back is ping-pong."""
        return any(h.state == "accepted" and h.from_org_id == org_id for h in self.handoffs)

    @property
    def live_session(self) -> JointSession | None:
        return next((s for s in self.sessions if s.state == "live"), None)

    def awaited(self, *, receiver_id: str | None, verified: bool) -> list[Awaited]:
        """Who the pending handoff's warm session still waits for (SPEC §12), in this order: the
        owner agent as owner; as receiver, the agent `receiver_id` (None: any person of the
        receiving org); the customer, who counts only when proven present if `verified`. With
        no handoff pending, or no live session for it, every one of them."""
        handoff, session = self.pending_handoff, self.live_session
        present = (
            session.present if handoff and session and session.handoff_id == handoff.id else []
        )
        awaited = []
        if not any(p.party == "owner" and p.agent_id == self.owner_agent_id for p in present):
            awaited.append(Awaited("owner", self.owner_org_id, self.owner_agent_id))
        if not any(p.party == "receiver" and receiver_id in (None, p.agent_id) for p in present):
            awaited.append(Awaited("receiver", handoff.to_org_id if handoff else None, receiver_id))
        proofs = PROVEN_CUSTOMER_VIAS if verified else None  # None: any presence counts
        if not any(p.party == "customer" and proves(p, proofs) for p in present):
            awaited.append(Awaited("customer"))
        return awaited
