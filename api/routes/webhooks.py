"""Webhook subscriptions and their delivery log."""

from fastapi import APIRouter, Response

from api.deps import ActorDep, Cursor, DbDep, ItemId, Limit
from api.schemas import inputs, outputs
from handoff.services import subscriptions, views
from handoff.services.queries import Page

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post("", status_code=201, response_model=outputs.Webhook)
def create_webhook(
    body: inputs.NewWebhook, db: DbDep, actor: ActorDep, response: Response
) -> views.WebhookView:
    """An admin names the org; an org's supervisor or partner system subscribes its own org.
    The answer carries the signing `secret`, shown this once."""
    response.headers["Cache-Control"] = "no-store"
    return subscriptions.create_webhook(db, actor, body.url, body.org_id, body.events)


@router.get("/{webhook_id}/deliveries", response_model=outputs.Page[outputs.Delivery])
def webhook_deliveries(
    webhook_id: ItemId, db: DbDep, actor: ActorDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[views.DeliveryView]:
    return subscriptions.webhook_deliveries(db, actor, webhook_id, limit=limit, cursor=cursor)


@router.get("", response_model=outputs.Page[outputs.Webhook])
def list_webhooks(db: DbDep, actor: ActorDep) -> Page[views.WebhookView]:
    """The subscriptions the caller looks after (an admin: every org's); secrets are not shown."""
    return Page(subscriptions.list_webhooks(db, actor), None)


@router.post("/{webhook_id}/deactivate", response_model=outputs.Webhook)
def deactivate_webhook(
    webhook_id: ItemId, db: DbDep, actor: ActorDep, body: inputs.Empty | None = None
) -> views.WebhookView:
    """Stop the subscription: nothing more is queued for it, and what is queued is not sent."""
    return subscriptions.deactivate_webhook(db, actor, webhook_id)


@router.post("/{webhook_id}/deliveries/{delivery_id}/redeliver", response_model=outputs.Delivery)
def redeliver(
    webhook_id: ItemId,
    delivery_id: ItemId,
    db: DbDep,
    actor: ActorDep,
    body: inputs.Empty | None = None,
) -> views.DeliveryView:
    """Send a dead delivery again, with all its tries and the same `webhook-id`."""
    return subscriptions.redeliver(db, actor, webhook_id, delivery_id)
