"""Server-Sent Events: a case's events, and every visible case's, as they are committed."""

import asyncio
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import ActorDep, CaseId
from api.schemas import outputs
from handoff.delivery.stream_feeds import Stream, open_case, open_everywhere
from handoff.delivery.streams import Hub
from handoff.domain.errors import InvalidInput
from handoff.services.views import EventView
from handoff.store.db import Database

router = APIRouter(tags=["streams"])
SSE = {"content": {"text/event-stream": {}}, "description": "An endless stream of events."}
HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}  # no proxy may buffer it
LastEventId = Annotated[str | None, Header(max_length=8000, description="Resume after this id.")]
LastEventIdQuery = Annotated[
    str | None,
    Query(
        alias="last_event_id",
        max_length=8000,
        description="As the Last-Event-ID header, for a first connection that cannot set it.",
    ),
]


def render(view: EventView) -> str:
    """An event as `GET /v1/cases/{id}/events` renders one item."""
    return outputs.Event.model_validate(view, from_attributes=True).model_dump_json()


def hub_of(request: Request) -> Hub:
    """The app's hub; an app with only the web UI mounted makes its own on first use."""
    state = request.app.state
    hub: Hub | None = getattr(state, "hub", None)
    if hub is None:
        db: Database = getattr(state, "db", None) or state.ui_database
        hub = state.hub = new_hub(db)
    return hub


def new_hub(db: Database) -> Hub:
    settings = db.settings
    return Hub(db, render, settings.stream_poll, settings.stream_keepalive)


def answer(body: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(body, media_type="text/event-stream", headers=HEADERS)


def _answer(stream: Stream) -> StreamingResponse:
    return answer(stream.frames())


@router.get("/v1/cases/{case_id}/stream", responses={200: SSE}, response_class=StreamingResponse)
async def case_stream(
    case_id: CaseId,
    actor: ActorDep,
    request: Request,
    last_event_id: LastEventId = None,
    after: LastEventIdQuery = None,
) -> StreamingResponse:
    """The case's events from the first (or after `Last-Event-ID`, a seq), then each as it is
    committed; `id:` the seq, `event:` the type, `data:` the event as in `/events`."""
    given = last_event_id if last_event_id is not None else after
    if given is not None and not (given.isascii() and given.isdigit() and len(given) < 10):
        raise InvalidInput("Last-Event-ID", "the event id of a case stream is a seq, like 7")
    seq = int(given) if given is not None else None
    return _answer(await open_case(hub_of(request), actor, case_id, seq))


@router.get("/v1/stream", responses={200: SSE}, response_class=StreamingResponse)
async def stream(
    actor: ActorDep,
    request: Request,
    last_event_id: LastEventId = None,
    after: LastEventIdQuery = None,
) -> StreamingResponse:
    """Every event of every case the caller may see, from now (or after `Last-Event-ID`, an
    opaque cursor this stream gave out)."""
    cursor = last_event_id if last_event_id is not None else after
    return _answer(await open_everywhere(hub_of(request), actor, cursor))


def install(app: FastAPI, db: Database) -> None:
    app.state.hub = new_hub(db)
    app.include_router(router)


@asynccontextmanager
async def running(app: FastAPI, serving: bool) -> AsyncIterator[None]:
    """Streams end when the server is told to stop: uvicorn waits for every answer to finish
    before the lifespan's end, and a stream would never finish by itself."""
    hub: Hub = app.state.hub
    if serving:
        _end_streams_on_signals(hub)
    yield
    await hub.close()


def _end_streams_on_signals(hub: Hub) -> None:
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread receives signals (uvicorn captures none elsewhere either)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)

        def handle(sig: int, frame: Any, previous: Any = previous) -> None:
            loop.call_soon_threadsafe(hub.end_streams)
            if callable(previous):
                previous(sig, frame)

        signal.signal(signum, handle)
