"""The pages' event streams (SPEC §12), read with the page's own key: the session cookie for a
rep's case page, the link for the customer's page (EventSource sends no Authorization header).

Both are fed by the process's one hub, as the API's streams are (handoff/delivery/streams.py):
no stream reads the database on its own but to catch up. The customer's stream also keeps their
presence by link alive, at each of the hub's keep-alive beats.
"""

import json
from collections.abc import AsyncIterator, Callable

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.routes.streams import answer, hub_of
from api.ui.deps import DbDep
from api.ui.pages import CASE_ID, LINK, not_found
from api.ui.session import CurrentActor
from handoff.delivery.stream_feeds import KEEP_ALIVE, Message, Stream, open_case
from handoff.domain.errors import NotFound
from handoff.domain.principals import customer_of
from handoff.services import queries
from handoff.services.sessions import customer_seen

router = APIRouter(include_in_schema=False)


def bare_event(message: Message) -> bytes:
    """For the customer: that the case changed, never what an internal event says."""
    seq = message[1].seq
    return f"id: {seq}\nevent: changed\ndata: {json.dumps({'seq': seq})}\n\n".encode()


def start_after(request: Request, after: int) -> int:
    """Where the stream starts: after the page's last event, or where a reconnect left off."""
    resumed = request.headers.get("last-event-id", "")
    return int(resumed) if resumed.isdigit() and len(resumed) < 10 else max(after, 0)


async def with_heartbeat(stream: Stream, beat: Callable[[], object]) -> AsyncIterator[bytes]:
    """The customer's stream: their presence is kept at its start and after each keep-alive
    (sending one fails once the page is gone, and the heartbeat stops with it)."""
    await to_thread.run_sync(beat)
    async for frame in stream.frames(bare_event):
        yield frame
        if frame == KEEP_ALIVE:
            await to_thread.run_sync(beat)


@router.get("/ui/cases/{case_id}/stream")
async def rep_stream(
    request: Request, actor: CurrentActor, case_id: str, after: int = 0
) -> Response:
    try:
        if not CASE_ID.fullmatch(case_id):
            raise NotFound("no such case")
        stream = await open_case(hub_of(request), actor, case_id, start_after(request, after))
    except NotFound:
        return not_found(request)
    return answer(stream.frames())


@router.get("/c/{link}/stream")
async def customer_stream(request: Request, db: DbDep, link: str, after: int = 0) -> Response:
    try:
        if not LINK.fullmatch(link):
            raise NotFound("no such link")
        hub = hub_of(request)
        case_id = (await hub.read(queries.case_by_link, db, link)).id
        stream = await open_case(hub, customer_of(case_id), case_id, start_after(request, after))
    except NotFound:
        return HTMLResponse("Not found", 404)

    def beat() -> None:
        customer_seen(db, case_id)

    return answer(with_heartbeat(stream, beat))
