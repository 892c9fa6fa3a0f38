"""The persisted records: orgs, agents, credentials, cases and what hangs off a case."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from handoff.domain.vocabulary import OPEN_REQUEST_STATES as OPEN_REQUEST_STATES
from handoff.store.records import Base as Base
from handoff.store.records import UTCDateTime as UTCDateTime
from handoff.store.records import format_time as format_time
from handoff.store.records import new_id as new_id
from handoff.store.records import utcnow as utcnow

EventId = BigInteger().with_variant(Integer(), "sqlite")


class Org(Base):
    __tablename__ = "orgs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    # Per-org overrides of the deployment's windows, in seconds: {"claim_window": 600}.
    windows: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # How a handoff to this org needs the customer present: "attested" or "verified" (SPEC §12);
    # None: the deployment's HANDOFF_CUSTOMER_PRESENCE.
    customer_presence: Mapped[str | None] = mapped_column(String(10))


class AgentRow(Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Loaded only when asked for: authenticating (every request) needs the agent, not its org.
    org: Mapped[Org] = relationship(lazy="select")


class PartnerSystem(Base):
    __tablename__ = "partner_systems"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Credential(Base):
    """A bearer token, kept only as its SHA-256, for an agent, a partner system or an admin."""

    __tablename__ = "credentials"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    principal_kind: Mapped[str] = mapped_column(String(10))
    principal_id: Mapped[str] = mapped_column(String(64))
    # An auditor credential may be limited to these orgs' cases; None means every case.
    orgs: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_credentials_principal", "principal_kind", "principal_id"),)


class CaseNumber(Base):
    """Hands out the running number behind each case's reference (HC-000123)."""

    __tablename__ = "case_numbers"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)


class CaseRow(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    state: Mapped[str] = mapped_column(String(24), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    customer: Mapped[dict[str, Any]] = mapped_column(JSON)
    owner_org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    owner_agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"), index=True)
    first_contact_org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    customer_link: Mapped[str] = mapped_column(String(64), unique=True)
    resolution_code: Mapped[str | None] = mapped_column(String(32))
    resolution_summary: Mapped[str | None] = mapped_column(Text)
    closed_how: Mapped[str | None] = mapped_column(String(16))
    # Due times live on the row so the worker finds due work with an indexed query.
    claim_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    auto_close_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    reopen_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set once an unclaimed case found nobody to escalate to, so that is said only once.
    unclaimed_escalation_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="0" * 64)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    participants: Mapped[list["ParticipantRow"]] = relationship(
        lazy="selectin", order_by="ParticipantRow.added_at", cascade="all, delete-orphan"
    )
    requests: Mapped[list["RequestRow"]] = relationship(
        lazy="selectin", order_by="RequestRow.created_at", cascade="all, delete-orphan"
    )
    handoffs: Mapped[list["HandoffRow"]] = relationship(
        lazy="selectin", order_by="HandoffRow.created_at", cascade="all, delete-orphan"
    )
    sessions: Mapped[list["SessionRow"]] = relationship(
        lazy="selectin", order_by="SessionRow.started_at", cascade="all, delete-orphan"
    )

    @property
    def reference(self) -> str:
        return f"HC-{self.number:06d}"

    @property
    def participant_org_ids(self) -> list[str]:
        return [p.org_id for p in self.participants]

    @property
    def open_requests(self) -> list["RequestRow"]:
        return [r for r in self.requests if r.state in OPEN_REQUEST_STATES]

    @property
    def pending_handoff(self) -> "HandoffRow | None":
        return next((h for h in self.handoffs if h.state == "proposed"), None)

    @property
    def live_session(self) -> "SessionRow | None":
        return next((s for s in self.sessions if s.state == "live"), None)


class ParticipantRow(Base):
    __tablename__ = "participants"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), primary_key=True, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RequestRow(Base):
    __tablename__ = "requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    from_org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    to_org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    action: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="open")
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    note: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # A case is read with its open requests and its settled ones counted on the first index; its
    # requests are listed page by page, in the order they were made, on the second.
    __table_args__ = (
        Index("ix_requests_case_state", "case_id", "state", "created_at", "id"),
        Index("ix_requests_case_order", "case_id", "created_at", "id"),
    )

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_REQUEST_STATES


class HandoffRow(Base):
    __tablename__ = "handoffs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    from_org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    from_agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    to_org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    summary: Mapped[str] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="proposed")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    accepted_by: Mapped[str | None] = mapped_column(ForeignKey("agents.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SessionRow(Base):
    __tablename__ = "joint_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    handoff_id: Mapped[str | None] = mapped_column(ForeignKey("handoffs.id"))
    state: Mapped[str] = mapped_column(String(8), default="live")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    parties: Mapped[list["PartyRow"]] = relationship(
        lazy="selectin", order_by="PartyRow.id", cascade="all, delete-orphan"
    )

    @property
    def present(self) -> list["PartyRow"]:
        return [p for p in self.parties if p.left_at is None] if self.state == "live" else []


class PartyRow(Base):
    """One stay of one party in a joint session: from its join to its leave (or the end)."""

    __tablename__ = "session_parties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("joint_sessions.id"), index=True)
    party: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How the presence was established (SPEC §12): agent, link, system or attested.
    via: Mapped[str | None] = mapped_column(String(10))
    # A customer present by their link: when their page's stream last said it is still open.
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Event(Base):
    """One immutable line of a case's history; the database refuses UPDATE and DELETE."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40), index=True)
    actor_kind: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[str | None] = mapped_column(String(64), index=True)
    org_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_events_case_seq"),
        Index("ix_events_org_at", "org_id", "at"),
    )


class WebhookSubscription(Base):
    """An org's subscription to the events of the cases it takes part in (SPEC §10)."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Event types to deliver; None means every type.
    events: Mapped[list[str] | None] = mapped_column(JSON)
    # The HMAC key deliveries are signed with: kept as is, since signing needs it.
    secret: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    # "agent:dana", "system:acme-crm": keys of different principals never meet.
    principal: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # SHA-256 of what was asked (method, path, body), to tell a retry from a reuse of the key.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # None while the first request is still being answered.
    status: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[dict[str, str] | None] = mapped_column(JSON)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class WebhookDelivery(Base):
    """One event on its way to one subscription; its id is the `webhook-id` header, kept across
    retries so a receiver can drop duplicates."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    case_id: Mapped[str] = mapped_column(String(32))
    event_seq: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending (still to deliver, maybe retrying), delivered, or dead (tries used up).
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    response_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # Due work, found by an index; and "is an earlier event of this case still pending?".
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_order", "subscription_id", "case_id", "event_seq"),
    )


class EndedSession(Base):
    __tablename__ = "ended_ui_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class TokenFailures(Base):
    """Tokens that were not valid, from one client address, in its current minute (SPEC §14)."""

    __tablename__ = "token_failures"

    address: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    failures: Mapped[int] = mapped_column(Integer)


class AttachmentRow(Base):
    """A file the customer (or a partner system) gave for a case; its SHA-256 is in the event."""

    __tablename__ = "attachments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    added_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
