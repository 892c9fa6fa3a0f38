"""The pages' event streams (SPEC §12), read with the page's own key: the session cookie for a
rep's case page, the link for the customer's page (EventSource sends no Authorization header).

Each stream polls the case's events from the database twice a second, each read a short one in a
worker thread, so no thread is held while a stream waits; the customer's stream also keeps their
presence by link alive. (The API's shared stream fan-out can take the polling's place.)
"""

import json
from collections.abc import AsyncIterator, Callable

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from api.schemas import outputs
from api.ui.deps import DbDep
from api.ui.pages import CASE_ID, LINK, not_found
from api.ui.session import CurrentActor
from handoff.domain.errors import NotFound
from handoff.services import queries
from handoff.services.sessions import customer_seen
from handoff.services.views import EventView
from handoff.store.db import Database

router = APIRouter(include_in_schema=False)

POLL_SECONDS = 0.5
KEEP_ALIVE_SECONDS = 15.0  # a comment line at least this often, and the customer's heartbeat
HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def full_event(event: EventView) -> str:
    """As GET /v1/cases/{id}/stream sends it: the event as in /events."""
    data = outputs.Event.model_validate(event, from_attributes=True).model_dump_json()
    return f"id: {event.seq}\nevent: {event.type}\ndata: {data}\n\n"


def bare_event(event: EventView) -> str:
    """For the customer: that the case changed, never what an internal event says."""
    return f"id: {event.seq}\nevent: changed\ndata: {json.dumps({'seq': event.seq})}\n\n"


async def case_events(
    db: Database,
    case_id: str,
    after: int,
    frame: Callable[[EventView], str],
    beat: Callable[[], object] | None = None,
) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    if beat is not None:
        await anyio.to_thread.run_sync(beat)
    said_at = beat_at = anyio.current_time()
    while True:
        events = await anyio.to_thread.run_sync(queries.events_after, db, case_id, after)
        for event in events:
            after = event.seq
            yield frame(event)
        at = anyio.current_time()
        if events:
            said_at = at
        elif at - said_at >= KEEP_ALIVE_SECONDS:
            yield ": still here\n\n"  # fails once the page is gone: the heartbeat stops with it
            said_at = at
        if beat is not None and at - beat_at >= KEEP_ALIVE_SECONDS:
            await anyio.to_thread.run_sync(beat)
            beat_at = at
        await anyio.sleep(POLL_SECONDS)


def start_after(request: Request, after: int) -> int:
    """Where the stream starts: after the page's last event, or where a reconnect left off."""
    resumed = request.headers.get("last-event-id", "")
    return int(resumed) if resumed.isdigit() else max(after, 0)


def streaming(body: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(body, media_type="text/event-stream", headers=HEADERS)


@router.get("/ui/cases/{case_id}/stream")
def rep_stream(
    request: Request, db: DbDep, actor: CurrentActor, case_id: str, after: int = 0
) -> Response:
    try:
        if not CASE_ID.fullmatch(case_id):
            raise NotFound("no such case")
        queries.get_case(db, actor, case_id)  # may this person read it?
    except NotFound:
        return not_found(request)
    return streaming(case_events(db, case_id, start_after(request, after), full_event))


@router.get("/c/{link}/stream")
def customer_stream(request: Request, db: DbDep, link: str, after: int = 0) -> Response:
    try:
        if not LINK.fullmatch(link):
            raise NotFound("no such link")
        case_id = queries.case_by_link(db, link).id
    except NotFound:
        return HTMLResponse("Not found", 404)

    def beat() -> None:
        customer_seen(db, case_id)

    return streaming(case_events(db, case_id, start_after(request, after), bare_event, beat))
