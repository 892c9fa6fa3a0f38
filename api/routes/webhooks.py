"""Webhook subscriptions and their delivery log."""

from fastapi import APIRouter, Response

from api.deps import ActorDep, Cursor, DbDep, ItemId, Limit
from api.schemas import inputs, outputs
from handoff import subscriptions, views
from handoff.queries import Page

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
