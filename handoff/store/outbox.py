"""The webhook outbox: each event, for each subscription that wants it, written in the same
transaction as the change (SPEC §10), and delivered later by the worker."""

from typing import Any

from sqlalchemy import Connection, exists

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
from handoff.store.sql import Statement
from handoff.store.values import Columns, Kind, Target, from_db, to_db

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


DELIVERY = Columns.of(WebhookDelivery.__table__)  # type: ignore[arg-type]
INSERT_DELIVERY = Statement(
    f"INSERT INTO webhook_deliveries ({DELIVERY.listed()}) "
    f"VALUES ({', '.join(':' + name for name in DELIVERY.names)})"
)
_SUBSCRIPTIONS: dict[int, Statement] = {}


def _subscriptions_of(orgs: int) -> Statement:
    """The active subscriptions of `orgs` orgs (parameters :org0, :org1 ...)."""
    statement = _SUBSCRIPTIONS.get(orgs)
    if statement is None:
        listed = ", ".join(f":org{i}" for i in range(orgs))
        statement = Statement(
            "SELECT id, events FROM webhook_subscriptions "
            f"WHERE active = :active AND org_id IN ({listed})"
        )
        _SUBSCRIPTIONS[orgs] = statement
    return statement


def enqueue(conn: Connection, case: Case, event: Event) -> None:
    """Queue the event for every active subscription of an org taking part in the case."""
    orgs = sorted(case.participant_org_ids)
    if not orgs:
        return
    params: dict[str, Any] = {f"org{i}": org for i, org in enumerate(orgs)}
    params["active"] = to_db(Kind.BOOL, True, Target.of(conn))
    for subscription_id, stored in _subscriptions_of(len(orgs)).rows(conn, params):
        events = from_db(Kind.JSON, stored)
        if events is not None and event.type not in events:
            continue
        delivery = {
            "id": f"msg_{new_id()}",
            "subscription_id": subscription_id,
            "case_id": case.id,
            "event_seq": event.seq,
            "event_type": event.type,
            "payload": payload_of(event),
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": event.at,
            "response_status": None,
            "last_error": None,
            "created_at": event.at,
            "delivered_at": None,
        }
        INSERT_DELIVERY.execute(conn, DELIVERY.params(delivery, conn))
