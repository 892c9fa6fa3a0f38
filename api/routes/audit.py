"""Auditors: search and export events across cases; metrics per org and period."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from api.deps import ActorDep, Cursor, DbDep, Limit
from api.exports import csv_lines, ndjson_lines
from api.schemas import outputs
from api.schemas.fields import EventType, Id, Instant
from handoff import audit, org_metrics
from handoff.queries import Page
from handoff.views import EventView

router = APIRouter(prefix="/v1/audit", tags=["audit"])

STREAMED = {
    "ndjson": ("application/x-ndjson", ndjson_lines),
    "csv": ("text/csv; charset=utf-8", csv_lines),
}
EXPORT_CONTENT = {
    "application/x-ndjson": {"schema": {"type": "string"}},
    "text/csv": {"schema": {"type": "string"}},
}
From = Annotated[Instant | None, Query(alias="from", description="From this time (inclusive).")]
To = Annotated[Instant | None, Query(alias="to", description="Up to this time (exclusive).")]


@router.get(
    "/events",
    response_model=outputs.Page[outputs.Event],
    responses={200: {"content": EXPORT_CONTENT}},
)
def search_events(
    db: DbDep,
    actor: ActorDep,
    org: Annotated[Id | None, Query(description="Events written for this org.")] = None,
    type: Annotated[
        list[EventType] | None, Query(max_length=50, description="Event types (repeatable).")
    ] = None,
    actor_id: Annotated[
        Id | None, Query(alias="actor", description="Id of the agent, system … that acted.")
    ] = None,
    case: Annotated[
        list[Id] | None, Query(max_length=100, description="Case ids (repeatable).")
    ] = None,
    start: From = None,
    end: To = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    format: Literal["json", "ndjson", "csv"] = "json",
) -> Page[EventView] | Response:
    """Search (`format=json`, a page at a time) or export every match, streamed (`ndjson`, `csv`).

    `case` and `type` may be given several times; an export ignores `limit` and `cursor`.
    """
    f = audit.EventFilter(org, type or [], actor_id, case or [], start, end)
    if format == "json":
        return audit.search_events(db, actor, f, limit=limit, cursor=cursor)
    media_type, lines = STREAMED[format]
    events = audit.export_events(db, actor, f)
    filename = f"handoff-events.{format}"
    return StreamingResponse(
        lines(events),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/metrics", response_model=list[outputs.OrgMetrics])
def metrics(
    db: DbDep,
    actor: ActorDep,
    org: Annotated[Id | None, Query(description="Only this org's line.")] = None,
    start: From = None,
    end: To = None,
) -> list[org_metrics.OrgMetrics]:
    """Per org, over the cases created in the period: owner changes, bounces, reopens, refused
    send-away attempts by code, time to claim, time without a named owner, time to resolution."""
    return org_metrics.org_metrics(db, actor, org=org, start=start, end=end)
