"""The webhook outbox: each event, for each subscription that wants it, written in the same
transaction as the change (SPEC §10), and delivered later by the worker."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, exists, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from handoff.models import (
    Base,
    Case,
    Event,
    Participant,
    UTCDateTime,
    WebhookSubscription,
    new_id,
)

# Whether any org taking part in the case has an active subscription: a column of the statement
# that loads the case, so a case nobody subscribed to costs no query per event.
SUBSCRIBED = exists().where(
    Participant.case_id == Case.id,
    WebhookSubscription.org_id == Participant.org_id,
    WebhookSubscription.active.is_(True),
)
_UNSUBSCRIBED = "handoff.outbox.unsubscribed"


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


def payload_of(event: Event) -> dict[str, Any]:
    """The Standard Webhooks body: type, timestamp and the event as the API shows it."""
    at = event.at.isoformat()
    return {
        "type": event.type,
        "timestamp": at,
        "data": {
            "case_id": event.case_id,
            "seq": event.seq,
            "type": event.type,
            "actor": {"kind": event.actor_kind, "id": event.actor_id},
            "org_id": event.org_id,
            "at": at,
            "data": event.data,
            "prev_hash": event.prev_hash,
            "hash": event.hash,
        },
    }


def note_subscribers(session: Session, case: Case, subscribed: bool) -> None:
    """Remember, for this transaction only, that no participant of the case had a subscription
    when it was loaded (the answer of `SUBSCRIBED`)."""
    unsubscribed = session.info.setdefault(_UNSUBSCRIBED, {})
    if subscribed:
        unsubscribed.pop(case.id, None)
    else:
        unsubscribed[case.id] = (session.get_transaction(), frozenset(case.participant_org_ids))


def _known_unsubscribed(session: Session, case: Case) -> bool:
    noted = session.info.get(_UNSUBSCRIBED, {}).get(case.id)
    return (
        noted is not None
        and noted[0] is session.get_transaction()
        and noted[1].issuperset(case.participant_org_ids)
    )


def enqueue(session: Session, case: Case, event: Event) -> None:
    """Queue the event for every active subscription of an org taking part in the case."""
    if _known_unsubscribed(session, case):
        return
    subscriptions = session.scalars(
        select(WebhookSubscription).where(
            WebhookSubscription.org_id.in_(case.participant_org_ids),
            WebhookSubscription.active.is_(True),
        )
    )
    for subscription in subscriptions:
        if subscription.events is not None and event.type not in subscription.events:
            continue
        session.add(
            WebhookDelivery(
                id=f"msg_{new_id()}",
                subscription_id=subscription.id,
                case_id=case.id,
                event_seq=event.seq,
                event_type=event.type,
                payload=payload_of(event),
                state="pending",
                attempts=0,
                next_attempt_at=event.at,
                created_at=event.at,
            )
        )
