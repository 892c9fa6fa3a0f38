"""Delivering the outbox: Standard Webhooks signatures, in order per case, with backoff.

A delivery is leased (its next attempt pushed past the POST's time limit) and committed before
the POST, so no transaction stays open over the network; a worker killed mid-POST leaves the
lease to run out and the delivery is tried again with the same `webhook-id`.
"""

import json
import logging
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased
from standardwebhooks import Webhook

from handoff.store.db import Database
from handoff.store.models import WebhookDelivery, WebhookSubscription
from handoff.store.models import utcnow as now

log = logging.getLogger("handoff.webhooks")
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Leased:
    id: str
    subscription_id: str
    url: str
    secret: str
    body: str


def signed_headers(secret: str, message_id: str, at: datetime, body: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def deliver_due(db: Database, client: httpx.Client, at: datetime | None = None) -> Counter[str]:
    """Try every delivery due at `at`, one after the other, each case's events in order; counts
    by outcome. (The worker's own loop sends several at once: `handoff.worker`.)"""
    at = at or now()
    outcomes: Counter[str] = Counter()
    while (leased := lease_next(db, at)) is not None:
        outcomes[send(db, client, leased)] += 1
    return +outcomes


def lease_next(db: Database, at: datetime, busy: Collection[str] = ()) -> Leased | None:
    """Lease the next delivery due at `at` (its case's earlier ones delivered or dead), of a
    subscription not in `busy`; None when there is none."""
    earlier = aliased(WebhookDelivery)
    an_earlier_one_is_pending = exists().where(
        and_(
            earlier.subscription_id == WebhookDelivery.subscription_id,
            earlier.case_id == WebhookDelivery.case_id,
            earlier.state == "pending",
            earlier.event_seq < WebhookDelivery.event_seq,
        )
    )
    due = (
        select(WebhookDelivery, WebhookSubscription)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= at)
        .where(WebhookSubscription.active.is_(True))
        .where(~an_earlier_one_is_pending)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.event_seq)
        .limit(1)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    if busy:
        due = due.where(WebhookDelivery.subscription_id.not_in(list(busy)))
    with db.session() as session:
        row = session.execute(due).first()
        if row is None:
            return None
        delivery, subscription = row
        delivery.next_attempt_at = now() + timedelta(seconds=db.settings.webhook_timeout * 3)
        leased = Leased(
            delivery.id, subscription.id, subscription.url, subscription.secret,
            _body(delivery.payload),
        )  # fmt: skip
        session.commit()
        return leased


def _body(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def send(db: Database, client: httpx.Client, leased: Leased) -> str:
    """POST a leased delivery and record how it went: delivered, retrying or dead."""
    sent_at = now()
    status, error = None, None
    try:
        # Only the status counts: the answer's body is never read, so a receiver cannot hold
        # the sender by trickling it out (the timeout bounds each wait for the status line and
        # headers; a lease that runs out meanwhile only means a duplicate with the same id).
        with client.stream(
            "POST",
            leased.url,
            content=leased.body.encode(),
            headers=signed_headers(leased.secret, leased.id, sent_at, leased.body),
            timeout=db.settings.webhook_timeout,
        ) as response:
            status = response.status_code
        if not response.is_success:
            error = f"HTTP {status}"
    except (httpx.HTTPError, httpx.InvalidURL, UnicodeError, OSError, ValueError):
        # Unreachable, refused, not resolvable, or an address inside (the checked transport
        # refuses it): the log says no more than that (SPEC §14), so it maps nothing inside.
        error = "could not connect"
    return _record(db, leased.id, status, error)


def _record(db: Database, delivery_id: str, status: int | None, error: str | None) -> str:
    settings = db.settings
    with db.session() as session:
        delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.state != "pending":
            return "gone"
        delivery.attempts += 1
        delivery.response_status, delivery.last_error = status, error
        if error is None:
            delivery.state, delivery.delivered_at = "delivered", now()
        elif delivery.attempts >= settings.webhook_max_attempts:
            delivery.state = "dead"
            log.warning("webhook %s dead after %d tries: %s", delivery_id, delivery.attempts, error)
        else:
            delay = timedelta(seconds=settings.webhook_backoff * 2 ** (delivery.attempts - 1))
            delivery.next_attempt_at = now() + min(delay, MAX_BACKOFF)
        outcome = delivery.state if error is None or delivery.state == "dead" else "retrying"
        session.commit()
        return outcome
