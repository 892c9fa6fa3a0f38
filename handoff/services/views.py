"""Read-only snapshots of cases and their parts, taken inside the transaction that made them."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handoff.domain.case import Attachment, Case, Handoff, JointSession, Request
from handoff.store.models import Event, WebhookDelivery


@dataclass(frozen=True)
class Owner:
    org_id: str
    agent_id: str | None


@dataclass(frozen=True)
class ParticipantView:
    org_id: str
    role: str


@dataclass(frozen=True)
class RequestView:
    id: str
    case_id: str
    state: str
    from_org: str
    to_org: str
    action: str
    details: str
    respond_by: datetime
    note: str | None
    reason: str | None
    overdue: bool
    created_at: datetime

    @classmethod
    def of(cls, r: Request, now: datetime) -> "RequestView":
        return cls(
            id=r.id,
            case_id=r.case_id,
            state=r.state,
            from_org=r.from_org_id,
            to_org=r.to_org_id,
            action=r.action,
            details=r.details,
            respond_by=r.respond_by,
            note=r.note,
            reason=r.reason,
            overdue=r.is_open and r.respond_by < now,
            created_at=r.created_at,
        )


@dataclass(frozen=True)
class HandoffView:
    id: str
    case_id: str
    state: str
    from_org: str
    from_agent: str | None
    to_org: str
    summary: str
    override_reason: str | None
    expires_at: datetime
    accepted_by: str | None
    reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, h: Handoff) -> "HandoffView":
        return cls(
            id=h.id,
            case_id=h.case_id,
            state=h.state,
            from_org=h.from_org_id,
            from_agent=h.from_agent_id,
            to_org=h.to_org_id,
            summary=h.summary,
            override_reason=h.override_reason,
            expires_at=h.expires_at,
            accepted_by=h.accepted_by,
            reason=h.reason,
            created_at=h.created_at,
        )


@dataclass(frozen=True)
class PresenceView:
    party: str
    agent_id: str | None
    joined_at: datetime
    via: str  # how the presence was established (SPEC §12)


@dataclass(frozen=True)
class AttachmentView:
    id: str
    name: str
    content_type: str
    size: int
    sha256: str
    added_by: str
    created_at: datetime

    @classmethod
    def of(cls, a: Attachment) -> "AttachmentView":
        return cls(a.id, a.name, a.content_type, a.size, a.sha256, a.added_by, a.created_at)


@dataclass(frozen=True)
class SessionView:
    id: str
    case_id: str
    state: str
    handoff_id: str | None
    present: list[PresenceView]
    started_at: datetime
    ended_at: datetime | None
    # Who its handoff still waits for: the parties' names (SPEC §12), and each with its org and
    # agent where there is one ({"party", "org_id"?, "agent_id"?}).
    missing: list[str] = field(default_factory=list)
    waiting_for: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, s: JointSession, case: Case | None = None, presence: str = "") -> "SessionView":
        """`case` (with the deployment's customer `presence`): say who its handoff waits for."""
        waiting_for = _waiting_for(s, case, presence) if case is not None else []
        return cls(
            id=s.id,
            case_id=s.case_id,
            state=s.state,
            handoff_id=s.handoff_id,
            present=[
                PresenceView(p.party, p.agent_id, p.joined_at, p.via or "attested")
                for p in s.present
            ],
            started_at=s.started_at,
            ended_at=s.ended_at,
            missing=[w["party"] for w in waiting_for],
            waiting_for=waiting_for,
        )


def _waiting_for(session: JointSession, case: Case, presence: str) -> list[dict[str, str]]:
    """Who the live session's handoff still waits for: the owner agent as owner, a person of the
    receiving org as receiver, the customer (proven present, if that org verifies it; its own
    setting, or the deployment's `presence`)."""
    handoff = case.pending_handoff
    if handoff is None or session.handoff_id != handoff.id or session.state != "live":
        return []
    verified = (handoff.to_org_presence or presence) == "verified"
    awaited = case.awaited(receiver_id=None, verified=verified)
    proof = {"customer_presence": "verified"} if verified else {}
    return [
        {"party": w.party}
        | ({"org_id": w.org_id} if w.org_id else {})
        | ({"agent_id": w.agent_id} if w.agent_id else {})
        | (proof if w.party == "customer" else {})
        for w in awaited
    ]


@dataclass(frozen=True)
class CaseView:
    id: str
    reference: str
    state: str
    version: int
    subject: str
    description: str
    priority: str
    customer: dict[str, Any]
    owner: Owner
    first_contact_org: str
    participants: list[ParticipantView]
    requests: list[RequestView]  # the open ones (SPEC §14); the rest are counted
    handoff: HandoffView | None
    session: SessionView | None
    allowed_actions: list[str]
    customer_link: str | None
    resolution: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    handoffs: list[HandoffView] = field(default_factory=list)
    attachments: list[AttachmentView] = field(default_factory=list)
    # How many requests the case has had, by state: the open ones are `requests`, every one is
    # listed by GET /v1/cases/{id}/requests.
    request_counts: dict[str, int] = field(default_factory=dict)
    attachment_count: int = 0  # every file given for the case; `attachments` are the newest

    @classmethod
    def of(
        cls, case: Case, allowed: list[str], now: datetime, *, show_link: bool, presence: str
    ) -> "CaseView":
        """`presence`: the deployment's customer_presence, for an org without its own."""
        pending, live = case.pending_handoff, case.live_session
        return cls(
            id=case.id,
            reference=case.reference,
            state=case.state,
            version=case.version,
            subject=case.subject,
            description=case.description,
            priority=case.priority,
            customer=dict(case.customer),
            owner=Owner(case.owner_org_id, case.owner_agent_id),
            first_contact_org=case.first_contact_org_id,
            participants=[
                ParticipantView(
                    p.org_id, "owner" if p.org_id == case.owner_org_id else "participant"
                )
                for p in case.participants
            ],
            requests=[RequestView.of(r, now) for r in case.requests if r.is_open],
            handoff=HandoffView.of(pending) if pending else None,
            session=SessionView.of(live, case, presence) if live else None,
            allowed_actions=allowed,
            customer_link=f"/c/{case.customer_link}" if show_link else None,
            resolution=(
                {"code": case.resolution_code, "summary": case.resolution_summary}
                if case.resolution_code
                else None
            ),
            created_at=case.created_at,
            updated_at=case.updated_at,
            closed_at=case.closed_at,
            handoffs=[HandoffView.of(h) for h in case.handoffs],
            attachments=[AttachmentView.of(a) for a in case.attachments],
            request_counts=case.request_counts,
            attachment_count=case.older_attachments + len(case.attachments),
        )


@dataclass(frozen=True)
class EventView:
    case_id: str
    seq: int
    type: str
    actor: dict[str, str | None]
    org_id: str | None
    at: datetime
    data: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, e: Event) -> "EventView":
        return cls(
            case_id=e.case_id,
            seq=e.seq,
            type=e.type,
            actor={"kind": e.actor_kind, "id": e.actor_id},
            org_id=e.org_id,
            at=e.at,
            data=e.data,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )


@dataclass(frozen=True)
class WebhookView:
    id: str
    org_id: str
    url: str
    events: list[str] | None
    active: bool
    created_at: datetime
    secret: str | None = None  # only in the answer to the creation


@dataclass(frozen=True)
class DeliveryView:
    id: str
    webhook_id: str
    case_id: str
    seq: int
    event_type: str
    state: str  # pending (maybe retrying), delivered, dead (tries used up)
    attempts: int
    response_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, d: WebhookDelivery) -> "DeliveryView":
        return cls(
            id=d.id,
            webhook_id=d.subscription_id,
            case_id=d.case_id,
            seq=d.event_seq,
            event_type=d.event_type,
            state=d.state,
            attempts=d.attempts,
            response_status=d.response_status,
            last_error=d.last_error,
            next_attempt_at=d.next_attempt_at if d.state == "pending" else None,
            delivered_at=d.delivered_at,
            created_at=d.created_at,
        )
