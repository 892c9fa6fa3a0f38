"""Live streams of committed events (SPEC §12): one hub per process feeds every open stream.

On PostgreSQL an AFTER INSERT trigger on `events` NOTIFYs `handoff_events`, which the server
delivers on commit (migration 0006), and the hub LISTENs on one connection of its own; on SQLite
(or while that connection is down) it polls. Either way a wake-up reads what is new once, by the
events table's global id, and puts it in the queue of each stream that wants it. A stream is an
async generator on the event loop: it reads its backlog first, then takes from its queue, and
skips what it has sent already, so the seam between the two loses and repeats nothing.

PostgreSQL hands ids out at INSERT and transactions commit in any order: an id missing below a
newer one is a "gap" that may still arrive, and is read again for GAP_WAIT seconds. The hub's
`horizon` is the id at and below which nothing more will come.
"""

import asyncio
import base64
import binascii
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from anyio import to_thread

from handoff.delivery import stream_reads as reads
from handoff.delivery.stream_reads import PAGE, Committed, Render
from handoff.domain.errors import InvalidInput, NotFound
from handoff.domain.principals import Actor
from handoff.services.visibility import sees
from handoff.store.db import CONNECT_TIMEOUT, KEEPALIVES, Database

CHANNEL = "handoff_events"
QUEUE_SIZE = 512  # a stream further behind than this reads from the database instead
GAP_WAIT = 10.0
GAP_WINDOW = 1000
LISTENING_POLL = 5.0  # with NOTIFY, polling is only a safety net
Message = tuple[str, Committed]  # the SSE `id:` and the event
LISTENER_KEEPALIVES: dict[str, Any] = dict(KEEPALIVES)
log = logging.getLogger(__name__)


class Subscription:
    """One stream's queue of (event, horizon when it was queued); None: the server is stopping."""

    def __init__(self, actor: Actor, case_id: str | None) -> None:
        self.actor, self.case_id = actor, case_id
        self.queue: asyncio.Queue[tuple[Committed, int] | None] = asyncio.Queue(QUEUE_SIZE)
        self.lagged = False  # the queue overflowed: the stream must read from the database

    def offer(self, item: Committed, horizon: int) -> None:
        if self.lagged:
            return
        try:
            self.queue.put_nowait((item, horizon))
        except asyncio.QueueFull:
            self.lagged = True

    def end(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class Hub:
    """The process's one reader of new events, and the streams it feeds."""

    def __init__(self, db: Database, render: Render, poll: float, keepalive: float) -> None:
        self.db, self.render, self.poll, self.keepalive = db, render, poll, keepalive
        self._by_case: dict[str, set[Subscription]] = {}
        self._everywhere: set[Subscription] = set()
        self._last = 0
        self._gaps: dict[int, float] = {}  # missing id -> when to stop waiting for it
        self._primed = False
        self._listening = False
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.closed = False

    @property
    def horizon(self) -> int:
        return min(self._gaps) - 1 if self._gaps else self._last

    async def open_case(self, actor: Actor, case_id: str, after: int | None) -> "CaseStream":
        """A stream of the case's events after seq `after` (all without); NotFound at once."""
        sub = await self._subscribe(actor, case_id)
        try:
            first = await to_thread.run_sync(
                reads.case_events_after, self.db, actor, case_id, after or 0, self.render
            )
        except BaseException:
            self._unsubscribe(sub)
            raise
        return CaseStream(self, sub, after or 0, first)

    async def open_everywhere(self, actor: Actor, cursor: str | None) -> "OrgStream":
        """A stream of every case `actor` may see: after `cursor`, or from now without one."""
        position = decode_cursor(cursor) if cursor else None
        sub = await self._subscribe(actor, None)
        return OrgStream(self, sub, position or (self.horizon, set()), behind=bool(position))

    async def close(self) -> None:
        """End every stream and stop reading (the server shuts down)."""
        self.end_streams()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def end_streams(self) -> None:
        self.closed = True
        for subs in [self._everywhere, *self._by_case.values()]:
            for sub in subs:
                sub.end()

    async def _subscribe(self, actor: Actor, case_id: str | None) -> Subscription:
        if self.closed:
            raise NotFound("the server is shutting down")
        if not self._tasks:
            self._tasks.append(asyncio.create_task(self._run()))
            if self.db.is_postgres:
                self._tasks.append(asyncio.create_task(self._listen()))
        sub = Subscription(actor, case_id)
        if case_id is None:
            self._everywhere.add(sub)
        else:
            self._by_case.setdefault(case_id, set()).add(sub)
        try:
            async with self._lock:
                await self._prime()
        except BaseException:
            self._unsubscribe(sub)
            raise
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        if sub.case_id is None:
            self._everywhere.discard(sub)
        else:
            subs = self._by_case.get(sub.case_id, set())
            subs.discard(sub)
            if not subs:
                self._by_case.pop(sub.case_id, None)
        if not self._everywhere and not self._by_case:
            self._primed = False  # nobody listens: read nothing until someone does

    async def _prime(self) -> None:
        if self._primed:
            return
        top, missing = await to_thread.run_sync(reads.newest_ids, self.db, GAP_WINDOW)
        self._last = top
        self._gaps = dict.fromkeys(missing, time.monotonic() + GAP_WAIT)
        self._primed = True

    async def _run(self) -> None:
        while not self.closed:
            interval = LISTENING_POLL if self._listening else self.poll
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            if not self._everywhere and not self._by_case:
                continue
            try:
                if await self._fetch():
                    self._wake.set()  # a full page: there is more
            except Exception as error:  # the database is away: try again at the next wake-up
                log.warning("streams: reading new events failed: %s", error)
                await asyncio.sleep(self.poll)

    async def _fetch(self) -> bool:
        async with self._lock:
            await self._prime()
            now = time.monotonic()
            self._gaps = {i: until for i, until in self._gaps.items() if until > now}
            batch = await to_thread.run_sync(
                reads.events_after,
                self.db,
                self._last,
                list(self._gaps),
                bool(self._everywhere),
                self.render,
            )
            for item in batch:
                if self._gaps.pop(item.id, None) is None and item.id > self._last:
                    first_missing = max(self._last + 1, item.id - GAP_WINDOW)
                    self._gaps.update(dict.fromkeys(range(first_missing, item.id), now + GAP_WAIT))
                    self._last = item.id
            horizon = self.horizon
            for item in batch:
                self._dispatch(item, min(horizon, item.id))
            return len(batch) == PAGE

    def _dispatch(self, item: Committed, horizon: int) -> None:
        for sub in self._by_case.get(item.case_id, ()):
            sub.offer(item, horizon)
        for sub in self._everywhere:
            if sees(sub.actor, item.case_id, item.orgs):
                sub.offer(item, horizon)

    async def _listen(self) -> None:
        url = self.db.engine.url.set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        while not self.closed:
            try:
                connecting = psycopg.AsyncConnection.connect(
                    conninfo,
                    autocommit=True,
                    connect_timeout=CONNECT_TIMEOUT,
                    **LISTENER_KEEPALIVES,
                )
                async with await connecting as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._listening = True
                    self._wake.set()  # what was committed while nobody listened
                    async for _notice in conn.notifies():
                        self._wake.set()
            except (psycopg.Error, OSError) as error:
                log.warning("streams: LISTEN %s failed, polling meanwhile: %s", CHANNEL, error)
            self._listening = False
            await asyncio.sleep(1)


class Stream:
    """One client's stream: what it has sent decides what it skips."""

    def __init__(
        self, hub: Hub, sub: Subscription, behind: bool, first: list[Message] | None = None
    ) -> None:
        self.hub, self.sub, self._behind, self._first = hub, sub, behind, first or []

    async def messages(self) -> AsyncIterator[Message | None]:
        """The messages to send, and None whenever a keep-alive is due."""
        try:
            for message in self._first:
                yield message
            self._first = []
            while True:
                if self._behind or self.sub.lagged:
                    self._behind = self.sub.lagged = False
                    while not self.sub.queue.empty():
                        if self.sub.queue.get_nowait() is None:
                            return
                    async for message in self._catch_up():
                        yield message
                    continue
                try:
                    got = await asyncio.wait_for(self.sub.queue.get(), self.hub.keepalive)
                except TimeoutError:
                    yield None
                    continue
                if got is None:
                    return
                async for message in self._live(*got):
                    yield message
        finally:
            self.hub._unsubscribe(self.sub)

    def _catch_up(self) -> AsyncIterator[Message]:
        raise NotImplementedError

    def _live(self, item: Committed, horizon: int) -> AsyncIterator[Message]:
        raise NotImplementedError


class CaseStream(Stream):
    """A case's events in seq order; `id:` is the seq."""

    def __init__(self, hub: Hub, sub: Subscription, after: int, first: list[Committed]) -> None:
        super().__init__(hub, sub, len(first) == PAGE, [(str(e.seq), e) for e in first])
        self.case_id, self._last = sub.case_id or "", first[-1].seq if first else after

    async def _catch_up(self) -> AsyncIterator[Message]:
        while True:
            try:
                page = await to_thread.run_sync(
                    reads.case_events_after,
                    self.hub.db,
                    self.sub.actor,
                    self.case_id,
                    self._last,
                    self.hub.render,
                )
            except NotFound:
                return
            for item in page:
                self._last = item.seq
                yield str(item.seq), item
            if len(page) < PAGE:
                return

    async def _live(self, item: Committed, horizon: int) -> AsyncIterator[Message]:
        if item.seq > self._last + 1:  # one went by unseen (a gap given up): read the history
            async for message in self._catch_up():
                yield message
        elif item.seq == self._last + 1:
            self._last = item.seq
            yield str(item.seq), item


class OrgStream(Stream):
    """The events of every case the caller may see. Its cursor: every id at or below `after` is
    sent or will never come, and `sent` are those above it sent already."""

    def __init__(
        self, hub: Hub, sub: Subscription, position: tuple[int, set[int]], behind: bool
    ) -> None:
        super().__init__(hub, sub, behind)
        self.after, self.sent = position

    def _advance(self, item: Committed, horizon: int) -> str:
        self.sent.add(item.id)
        if min(horizon, item.id) > self.after:
            self.after = min(horizon, item.id)
            self.sent = {i for i in self.sent if i > self.after}
        return encode_cursor(self.after, self.sent)

    async def _catch_up(self) -> AsyncIterator[Message]:
        horizon = self.hub.horizon  # before reading: everything at or below it is visible
        below = self.after
        while True:
            page = await to_thread.run_sync(
                reads.visible_events_after,
                self.hub.db,
                self.sub.actor,
                below,
                {i for i in self.sent if i > below},
                self.hub.render,
            )
            for item in page:
                below = item.id
                yield self._advance(item, horizon), item
            if len(page) < PAGE:
                break
        if horizon > self.after:
            self.after = horizon
            self.sent = {i for i in self.sent if i > horizon}

    async def _live(self, item: Committed, horizon: int) -> AsyncIterator[Message]:
        if item.id <= self.after or item.id in self.sent:
            return
        yield self._advance(item, horizon), item


def encode_cursor(after: int, sent: set[int]) -> str:
    text = ",".join(map(str, [after, *sorted(sent)]))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, set[int]]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        numbers = [int(n) for n in text.split(",")]
    except (binascii.Error, ValueError, UnicodeDecodeError):
        numbers = []
    if not numbers or not all(0 <= n < 2**63 for n in numbers) or len(numbers) > GAP_WINDOW:
        raise InvalidInput("Last-Event-ID", "the event id is not one this stream gave out")
    return numbers[0], set(numbers[1:])
