"""Webhook subscriptions: an org asks for the events of its cases at a URL (SPEC §10), and
reads back how each delivery went (the worker makes them, see `handoff.webhooks`)."""

import base64
import secrets
from dataclasses import replace

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.domain.errors import Forbidden, InvalidInput, NotFound, Refusal
from handoff.domain.lifecycle import EVENT_TYPES
from handoff.domain.principals import Actor
from handoff.services.addresses import NotPublic, check_host
from handoff.services.queries import Page, check_limit, decode_cursor, encode_cursor
from handoff.services.views import DeliveryView, WebhookView
from handoff.store.db import Database
from handoff.store.models import Org, WebhookDelivery, WebhookSubscription, new_id
from handoff.store.models import utcnow as now


def new_secret() -> str:
    """Standard Webhooks secrets are standard base64 (not URL-safe) after the whsec_ prefix."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _speaks_for_its_org(actor: Actor) -> bool:
    """A supervisor or partner system, who look after their own org's webhooks."""
    return (actor.is_supervisor or actor.kind == "system") and actor.org_id is not None


def _subscribing_org(session: Session, actor: Actor, org_id: str | None) -> str:
    """An admin names the org; an org's supervisor or partner system subscribes its own org."""
    if actor.kind == "admin":
        if not org_id:
            raise InvalidInput("org_id", "an admin names the org that subscribes: org_id")
        if session.get(Org, org_id) is None:
            raise InvalidInput("org_id", f"unknown org: {org_id}")
        return org_id
    if not _speaks_for_its_org(actor) or actor.org_id is None:
        raise Forbidden("webhooks are set up by an admin, a supervisor or a partner system")
    if org_id not in (None, actor.org_id):
        raise Forbidden(f"{actor.kind} {actor.id} subscribes its own org only")
    return actor.org_id


def _check_deliverable(url: str, *, allow_private: bool) -> None:
    """A URL the worker can send to: http or https, with a host that has a DNS spelling."""
    try:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError("an http(s) URL with a host is needed")
        if parsed.port is not None and not 1 <= parsed.port <= 65535:
            raise ValueError(f"port {parsed.port} is not 1 to 65535")
        if ":" not in parsed.host:  # an IPv6 literal was checked by the parser
            parsed.host.encode("idna")
    except (httpx.InvalidURL, UnicodeError, ValueError) as error:
        raise InvalidInput("url", f"not a URL a webhook can be sent to: {url} ({error})") from None
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        check_host(parsed.host, port, allow_private=allow_private)
    except NotPublic as error:
        raise InvalidInput("url", f"webhooks go to public addresses only: {error}") from None
    except OSError:
        pass  # not resolvable now: checked again, and refused if inside, when connecting


def create_webhook(
    db: Database,
    actor: Actor,
    url: str,
    org_id: str | None = None,
    events: list[str] | None = None,
) -> WebhookView:
    with db.session() as session:
        subscriber = _subscribing_org(session, actor, org_id)
        _check_deliverable(url, allow_private=db.settings.webhook_allow_private)
        if events is not None and not events:
            raise InvalidInput("events", "name at least one event type, or leave it out for all")
        unknown = sorted(set(events or ()) - EVENT_TYPES)
        if unknown:
            raise InvalidInput(
                "events", f"unknown event type: {', '.join(unknown)}", known=sorted(EVENT_TYPES)
            )
        webhook = WebhookSubscription(
            id=new_id(),
            org_id=subscriber,
            url=url,
            events=sorted(set(events)) if events else None,
            secret=new_secret(),
            created_by=f"{actor.kind}:{actor.id}",
            active=True,
            created_at=now(),
        )
        session.add(webhook)
        session.commit()
        return replace(_view(webhook), secret=webhook.secret)


def _manages(actor: Actor, org_id: str) -> bool:
    """An admin, or the org's own supervisors and partner systems, look after its webhooks."""
    return actor.kind == "admin" or (_speaks_for_its_org(actor) and actor.org_id == org_id)


def _managed(session: Session, actor: Actor, webhook_id: str) -> WebhookSubscription:
    """The subscription, if `actor` looks after it; to anyone else it does not exist."""
    webhook = session.get(WebhookSubscription, webhook_id)
    if webhook is None or not _manages(actor, webhook.org_id):
        raise NotFound("webhook not found")
    return webhook


def _view(webhook: WebhookSubscription) -> WebhookView:
    return WebhookView(
        id=webhook.id,
        org_id=webhook.org_id,
        url=webhook.url,
        events=webhook.events,
        active=webhook.active,
        created_at=webhook.created_at,
    )


def list_webhooks(db: Database, actor: Actor) -> list[WebhookView]:
    """The subscriptions the caller looks after (an admin: every org's), oldest first."""
    if actor.kind != "admin" and not _speaks_for_its_org(actor):
        raise Forbidden("webhooks are looked after by an admin, a supervisor or a partner system")
    query = select(WebhookSubscription).order_by(
        WebhookSubscription.created_at, WebhookSubscription.id
    )
    if actor.kind != "admin":
        query = query.where(WebhookSubscription.org_id == actor.org_id)
    with db.reading() as session:
        return [_view(w) for w in session.scalars(query)]


def deactivate_webhook(db: Database, actor: Actor, webhook_id: str) -> WebhookView:
    """No event is queued for it from now on, and what it still had queued is not sent."""
    with db.session() as session:
        webhook = _managed(session, actor, webhook_id)
        webhook.active = False
        session.commit()
        return _view(webhook)


def redeliver(db: Database, actor: Actor, webhook_id: str, delivery_id: str) -> DeliveryView:
    """A dead delivery is tried again from now, with all its tries and the same `webhook-id`
    (after a partner's outage outlasted the retries)."""
    with db.session() as session:
        webhook = _managed(session, actor, webhook_id)
        delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.subscription_id != webhook.id:
            raise NotFound("delivery not found")
        if delivery.state != "dead":
            raise Refusal(
                "invalid_transition",
                f"Only a dead delivery is sent again; this one is {delivery.state}.",
                state=delivery.state,
            )
        if not webhook.active:
            raise InvalidInput("webhook_id", "the webhook was deactivated; subscribe again")
        delivery.state, delivery.attempts, delivery.next_attempt_at = "pending", 0, now()
        session.commit()
        return DeliveryView.of(delivery)


def webhook_deliveries(
    db: Database, actor: Actor, webhook_id: str, *, limit: int = 50, cursor: str | None = None
) -> Page[DeliveryView]:
    """A subscription's deliveries, oldest first, for an admin or the subscribing org's
    supervisors and partner systems; to anyone else the subscription does not exist."""
    limit = check_limit(limit)
    position = decode_cursor(cursor, "skip")
    skip = position["skip"] if position else 0
    with db.reading() as session:
        _managed(session, actor, webhook_id)
        # Deliveries are only added, at the end in time order: an offset is a good enough position.
        deliveries = list(
            session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.subscription_id == webhook_id)
                .order_by(WebhookDelivery.created_at, WebhookDelivery.event_seq, WebhookDelivery.id)
                .offset(skip)
                .limit(limit + 1)
            )
        )
    more = len(deliveries) > limit
    next_cursor = encode_cursor({"skip": skip + limit}) if more else None
    return Page([DeliveryView.of(d) for d in deliveries[:limit]], next_cursor)
