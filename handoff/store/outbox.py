"""The webhook outbox: each event, for each subscription that wants it, written in the same
transaction as the change (SPEC §10), and delivered later by the worker."""

from typing import Any

from sqlalchemy import (
    Connection,
    exists,
    insert,
    select,
)

from handoff.domain.case import Case
from handoff.store.models import (
    CaseRow,
    Event,
    ParticipantRow,
    WebhookDelivery,
    WebhookSubscription,
    format_time,
    new_id,
)

# Whether any org taking part in the case has an active subscription: a column of the statement
# that loads the case, so a case nobody subscribed to costs no query per event.
SUBSCRIBED = exists().where(
    ParticipantRow.case_id == CaseRow.id,
    WebhookSubscription.org_id == ParticipantRow.org_id,
    WebhookSubscription.active.is_(True),
)


def payload_of(event: Event) -> dict[str, Any]:
    """The Standard Webhooks body: type, timestamp and the event's fields, its times spelled as
    its hash takes them (so a receiver can check the hash from the payload alone)."""
    at = format_time(event.at)
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


def enqueue(conn: Connection, case: Case, event: Event) -> None:
    """Queue the event for every active subscription of an org taking part in the case."""
    subscriptions = conn.execute(
        select(WebhookSubscription.id, WebhookSubscription.events).where(
            WebhookSubscription.org_id.in_(case.participant_org_ids),
            WebhookSubscription.active.is_(True),
        )
    ).all()
    deliveries = [
        {
            "id": f"msg_{new_id()}",
            "subscription_id": subscription_id,
            "case_id": case.id,
            "event_seq": event.seq,
            "event_type": event.type,
            "payload": payload_of(event),
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": event.at,
            "created_at": event.at,
        }
        for subscription_id, events in subscriptions
        if events is None or event.type in events
    ]
    if deliveries:
        conn.execute(insert(WebhookDelivery), deliveries)
