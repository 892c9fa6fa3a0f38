"""Answers: cases and their parts as the engine's views render them (SPEC §8)."""

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from api.schemas.fields import CaseState
from handoff.domain.vocabulary import REQUEST_STATES

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last.")


class Customer(BaseModel):
    name: str
    email: str | None = None
    phone: str | None = None
    external_ref: str | None = None


class Owner(BaseModel):
    org_id: str
    agent_id: str | None = Field(description="null only while the case is unclaimed")


class Participant(BaseModel):
    org_id: str
    role: str


class Request(BaseModel):
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


class Handoff(BaseModel):
    id: str
    case_id: str
    state: str
    from_org: str
    from_agent: str
    to_org: str
    summary: str
    override_reason: str | None
    expires_at: datetime
    accepted_by: str | None
    reason: str | None
    created_at: datetime


class Presence(BaseModel):
    party: str
    agent_id: str | None
    joined_at: datetime
    via: str = Field(description="How the presence was established: agent, link, system, attested")


class WaitingFor(BaseModel):
    party: str
    org_id: str | None = None
    agent_id: str | None = None
    customer_presence: str | None = Field(
        None,
        description="On the customer: `verified` when the receiving org counts only a presence "
        "proven by the customer's own link or a partner system (SPEC §12).",
    )


class JointSession(BaseModel):
    id: str
    case_id: str
    state: str
    handoff_id: str | None
    present: list[Presence]
    started_at: datetime
    ended_at: datetime | None
    missing: list[str] = Field(
        default_factory=list,
        description="The parties the session's handoff still waits for: owner, receiver, customer.",
    )
    waiting_for: list[WaitingFor] = Field(
        default_factory=list,
        description="The same parties, each with its org and agent where there is one.",
    )


class Attachment(BaseModel):
    id: str
    name: str
    content_type: str
    size: int
    sha256: str
    added_by: str
    created_at: datetime


class RequestCounts(BaseModel):
    """How many requests the case has had, in each state."""

    open: int
    acknowledged: int
    done: int
    declined: int
    cancelled: int


# One count for each of the engine's request states, in its order.
assert tuple(RequestCounts.model_fields) == REQUEST_STATES


class Resolution(BaseModel):
    code: str
    summary: str | None


class Case(BaseModel):
    id: str
    reference: str
    state: CaseState
    version: int
    subject: str
    description: str
    priority: str
    customer: Customer
    owner: Owner
    first_contact_org: str
    participants: list[Participant]
    requests: list[Request] = Field(
        description="The open requests (open or acknowledged), oldest first; every request is "
        "listed by GET /v1/cases/{id}/requests."
    )
    handoff: Handoff | None = Field(description="The pending handoff, if any.")
    session: JointSession | None = Field(description="The live joint session, if any.")
    allowed_actions: list[str] = Field(description="Triggers the caller may fire now.")
    customer_link: str | None = Field(description="The status page; shown to the owner org.")
    resolution: Resolution | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    handoffs: list[Handoff] = Field(description="Every handoff of the case, oldest first.")
    attachments: list[Attachment] = Field(
        default_factory=list,
        description="Files given for the case, oldest first: the newest 50 of them.",
    )
    attachment_count: int = Field(
        0, description="How many files have been given for the case (`attachments` shows 50)."
    )
    request_counts: RequestCounts = Field(
        description="How many requests the case has had, by state (the settled ones are not in "
        "`requests`)."
    )


class Actor(BaseModel):
    kind: str
    id: str | None


class Event(BaseModel):
    case_id: str
    seq: int
    type: str
    actor: Actor
    org_id: str | None
    at: datetime
    data: dict[str, Any]
    prev_hash: str
    hash: str


class Verification(BaseModel):
    valid: bool
    events: int
    first_broken_seq: int | None


class RequestAsOf(BaseModel):
    id: str
    to_org: str
    action: str
    state: str


class HandoffAsOf(BaseModel):
    id: str
    to_org: str
    summary: str


class PresenceAsOf(BaseModel):
    party: str
    agent_id: str | None


class SessionAsOf(BaseModel):
    id: str
    handoff_id: str | None
    present: list[PresenceAsOf] = Field(description="Who was in the session then.")


class CaseAsOf(BaseModel):
    case_id: str
    at: datetime
    state: CaseState | None = Field(description="null: the case did not exist yet")
    owner: Owner | None
    participants: list[str]
    requests: list[RequestAsOf] = Field(
        description="Every request made by then, as it stood; past 100, only those open then."
    )
    request_counts: RequestCounts = Field(
        description="How many requests had been made by then, by the state they were in."
    )
    handoff: HandoffAsOf | None = Field(description="The handoff pending then, if any.")
    session: SessionAsOf | None = Field(description="The joint session live then, if any.")
    events: list[Event] = Field(description="The events up to then, a page at a time.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with the same `at`) for the next page of `events`; null: "
        "last."
    )


class Durations(BaseModel):
    cases: int
    mean_seconds: float | None
    max_seconds: float | None


class OrgMetrics(BaseModel):
    org_id: str
    cases: int = Field(description="Cases created in the period that the org took part in.")
    owner_changes_people: int
    owner_changes_orgs: int
    bounces: int = Field(description="Times an org became owner again after handing off.")
    cases_bounced: int
    reopens: int
    send_away_refused: dict[str, int] = Field(description="Refused send-away attempts by code.")
    time_to_claim: Durations
    time_without_owner: Durations
    time_to_resolution: Durations
    period_start: datetime | None
    period_end: datetime | None


class Org(BaseModel):
    id: str
    name: str
    kind: str
    windows: dict[str, int] | None
    customer_presence: str = Field(description="attested or verified (SPEC §12)")
    created_at: datetime


class Agent(BaseModel):
    id: str
    org_id: str
    name: str
    role: str
    active: bool
    created_at: datetime
    deactivated_at: datetime | None


class Credential(BaseModel):
    id: str
    principal_kind: str
    principal_id: str
    orgs: list[str] | None = Field(description="An auditor's scope; null is every case.")
    created_at: datetime
    revoked_at: datetime | None


class IssuedCredential(BaseModel):
    id: str
    principal_kind: str
    principal_id: str
    token: str | None = Field(
        description="Shown this once; only its hash is kept (null when an Idempotency-Key "
        "replays the answer)."
    )


class Webhook(BaseModel):
    id: str
    org_id: str
    url: str
    events: list[str] | None
    active: bool
    created_at: datetime
    secret: str | None = Field(
        description="whsec_…, shown once, in the answer to the creation (null when an "
        "Idempotency-Key replays it)."
    )


class Delivery(BaseModel):
    id: str
    webhook_id: str
    case_id: str
    seq: int
    event_type: str
    state: str
    attempts: int
    response_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class Health(BaseModel):
    status: str
