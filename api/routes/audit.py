"""Auditors: search and export events across cases; verify every chain; metrics per org."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api.deps import ActorDep, Cursor, DbDep, Limit
from api.exports import csv_lines, in_chunks, ndjson_lines
from api.schemas import outputs
from api.schemas.fields import EventType, Id, Instant
from handoff.services import audit, org_metrics
from handoff.services.queries import Page
from handoff.services.views import EventView

router = APIRouter(prefix="/v1/audit", tags=["audit"])

STREAMED = {
    "ndjson": ("application/x-ndjson", ndjson_lines),
    "csv": ("text/csv; charset=utf-8", csv_lines),
}
EXPORT_CONTENT = {
    "application/x-ndjson": {"schema": {"type": "string"}},
    "text/csv": {"schema": {"type": "string"}},
}
From = Annotated[
    Instant | None,
    Query(alias="from", description="From this time, inclusive (RFC 3339 with offset)."),
]
To = Annotated[
    Instant | None,
    Query(alias="to", description="Up to this time, exclusive (RFC 3339 with offset)."),
]


class BrokenChain(BaseModel):
    case_id: str
    first_broken_seq: int


class ChainsVerification(BaseModel):
    valid: bool
    chains: int
    events: int
    broken: list[BrokenChain]


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
        list[Id] | None,
        Query(
            max_length=100,
            description="Cases (repeatable), each by its id, its reference (HC-000004) or the "
            "first 8 or more characters of its id.",
        ),
    ] = None,
    start: From = None,
    end: To = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    format: Literal["json", "ndjson", "csv"] = "json",
) -> Page[EventView] | Response:
    """Search (`format=json`, a page at a time) or export every match, streamed (`ndjson`, `csv`).

    Every filter given must hold; `case` and `type` may be given several times and then match
    any of their values. `from` is inclusive, `to` exclusive; a time that is not RFC 3339 with an
    offset answers 422. Events come in the order they were written. An export ignores `limit`
    and `cursor` and streams however many events match, in constant memory.
    """
    f = audit.EventFilter(org, type or [], actor_id, case or [], start, end)
    if format == "json":
        return audit.search_events(db, actor, f, limit=limit, cursor=cursor)
    media_type, lines = STREAMED[format]
    events = audit.export_events(db, actor, f)
    filename = f"handoff-events.{format}"
    return StreamingResponse(
        in_chunks(lines(events)),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/verify", response_model=ChainsVerification)
def verify_chains(db: DbDep, actor: ActorDep) -> audit.ChainsVerification:
    """Walk the hash chain of every case the auditor may see; `broken` names each case whose
    chain does not hold, with its first broken `seq`."""
    return audit.verify_chains(db, actor)


@router.get("/metrics", response_model=list[outputs.OrgMetrics])
def metrics(
    db: DbDep,
    actor: ActorDep,
    org: Annotated[Id | None, Query(description="Only this org's line.")] = None,
    start: From = None,
    end: To = None,
) -> list[org_metrics.OrgMetrics]:
    """Per org, over the cases created in the period (`from` inclusive, `to` exclusive) that the
    org took part in: owner changes (people, orgs), bounces, reopens and time to first resolution
    count for every org in the case; refused send-away attempts by code count for the org that
    tried; time to claim (cases that arrived unclaimed) and time without a named owner count for
    the org that owned the case meanwhile. Durations are in seconds."""
    return org_metrics.org_metrics(db, actor, org=org, start=start, end=end)
