"""Live streams of committed events (SPEC §12): one hub per process feeds every open stream.

News that events were committed wakes the hub: on PostgreSQL an AFTER INSERT trigger on `events`
NOTIFYs `handoff_events` on commit (migration 0007) and the hub LISTENs on one connection of its
own; a commit in this process wakes it too; and it polls, as a safety net and for SQLite files
shared by several processes. However many commits woke it, the hub then reads what is new ONCE
(by the events table's global id, the events nobody watches only by id and case), renders each
watched event once, and hands it to every stream that wants it: the streams of its case, and the
`/v1/stream`s whose callers may see it, checked once per kind of caller (`Viewer`), in memory.

A stream is a coroutine on the event loop, never a thread: it reads its backlog first, then takes
what the hub hands it, skipping what it has sent already, so the seam between the two loses and
repeats nothing. One timer, the hub's, tells every stream when a keep-alive comment is due.

PostgreSQL hands ids out at INSERT and transactions commit in any order: an id missing below a
newer one is a "gap" that may still arrive, and is read again for GAP_WAIT seconds. The hub's
`horizon` is the id at and below which nothing more will come.
"""

import asyncio
import contextlib
import logging
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from anyio import CapacityLimiter, to_thread
from sqlalchemy import event

from handoff.delivery import stream_reads as reads
from handoff.delivery.stream_reads import Committed, Render, Viewer, viewer_of
from handoff.domain.errors import NotFound
from handoff.domain.principals import Actor
from handoff.services.visibility import sees
from handoff.store.db import CONNECT_TIMEOUT, KEEPALIVES, Database

CHANNEL = "handoff_events"
QUEUE_SIZE = 512  # a stream further behind than this reads from the database instead
GAP_WAIT = 10.0
GAP_WINDOW = 1000
LISTENING_POLL = 5.0  # with NOTIFY, polling is only a safety net
GATHER = 0.03  # after a read, commits of the next 30 ms wait to be read together
LISTENER_KEEPALIVES: dict[str, Any] = dict(KEEPALIVES)
T = TypeVar("T")
log = logging.getLogger(__name__)


class Subscription:
    """What the hub hands one stream: (event, horizon when it was handed) in order, whether a
    keep-alive is due, and whether it fell too far behind (`lagged`: read the database) or the
    server is stopping (`ended`)."""

    __slots__ = ("_waiter", "actor", "case_id", "ended", "keepalive_due", "lagged", "pending")

    def __init__(self, actor: Actor, case_id: str | None) -> None:
        self.actor, self.case_id = actor, case_id
        self.pending: deque[tuple[Committed, int]] = deque()
        self.keepalive_due = self.lagged = self.ended = False
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, item: Committed, horizon: int) -> None:
        if self.lagged or self.ended:
            return
        if len(self.pending) >= QUEUE_SIZE:
            self.lagged = True
            self.pending.clear()
        else:
            self.pending.append((item, horizon))
        self._wake()

    def beat(self) -> None:
        self.keepalive_due = True
        self._wake()

    def end(self) -> None:
        self.ended = True
        self.pending.clear()
        self._wake()

    async def wait(self) -> None:
        """Until there is something to do."""
        while not (self.pending or self.lagged or self.ended or self.keepalive_due):
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class Hub:
    """The process's one reader of new events, and the streams it feeds."""

    def __init__(self, db: Database, render: Render, poll: float, keepalive: float) -> None:
        self.db, self.render, self.poll, self.keepalive = db, render, poll, keepalive
        self._by_case: dict[str, set[Subscription]] = {}
        self._by_viewer: dict[Viewer, set[Subscription]] = {}
        self._last = 0
        self._gaps: dict[int, float] = {}  # missing id -> when to stop waiting for it
        self._primed = False
        self._listening = False
        self._lock = asyncio.Lock()
        self._woke = self._poked = False  # news came / a wake-up is on its way to the loop
        self._waiting: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._own_reads = CapacityLimiter(1)  # never queued behind the requests' threads
        self._tasks: list[asyncio.Task[None]] = []
        self._unhook: Callable[[], None] | None = None
        self.closed = False

    @property
    def horizon(self) -> int:
        return min(self._gaps) - 1 if self._gaps else self._last

    @property
    def watched(self) -> bool:
        return bool(self._by_case or self._by_viewer)

    async def subscribe(self, actor: Actor, case_id: str | None) -> Subscription:
        """A subscription to the case's events, or (None) to every case `actor` may see."""
        if self.closed:
            raise NotFound("the server is shutting down")
        self._start()
        sub = Subscription(actor, case_id)
        if case_id is None:
            self._by_viewer.setdefault(viewer_of(actor), set()).add(sub)
        else:
            self._by_case.setdefault(case_id, set()).add(sub)
        try:
            async with self._lock:
                await self._prime()
        except BaseException:
            self.unsubscribe(sub)
            raise
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        key: Any = sub.case_id if sub.case_id is not None else viewer_of(sub.actor)
        group: dict[Any, set[Subscription]] = (
            self._by_case if sub.case_id is not None else self._by_viewer
        )
        subs = group.get(key, set())
        subs.discard(sub)
        if not subs:
            group.pop(key, None)
        if not self.watched:
            self._primed = False  # nobody listens: read nothing until someone does

    async def read(self, work: Callable[..., T], *args: Any, hub_own: bool = False) -> T:
        """A short read for the streams. On SQLite it runs right here on the loop, as the
        requests' database work does (api/deps.py: a worker thread's GIL hand-offs cost more
        than the read); on PostgreSQL in a worker thread, the hub's own one for its reads."""
        if not self.db.is_postgres:
            return work(*args)
        limiter = self._own_reads if hub_own else None
        return await to_thread.run_sync(lambda: work(*args), limiter=limiter)

    async def close(self) -> None:
        """End every stream and stop reading (the server shuts down)."""
        self.end_streams()
        if self._unhook is not None:
            self._unhook()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def end_streams(self) -> None:
        self.closed = True
        for sub in self._everyone():
            sub.end()

    def poke(self) -> None:
        """Something was committed: read soon. Any thread may call it, and only the first call
        before the next read reaches the loop."""
        loop = self._loop
        if loop is not None and not self._poked and not loop.is_closed():
            self._poked = True
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._wake_up)

    def _wake_up(self) -> None:
        self._woke = True
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(None)

    async def _news(self, timeout: float) -> None:
        """Until news comes or `timeout` passes (a plain future and one timer: the loop's next
        turn after the news, not a task's); then whatever comes next is news again."""
        if not self._woke:
            loop = asyncio.get_running_loop()
            self._waiting = loop.create_future()
            timer = loop.call_later(timeout, self._wake_up)
            try:
                await self._waiting
            finally:
                timer.cancel()
                self._waiting = None
        self._woke = self._poked = False

    def _everyone(self) -> list[Subscription]:
        return [s for group in (self._by_case, self._by_viewer) for v in group.values() for s in v]

    def _start(self) -> None:
        if self._tasks:
            return
        self._loop = asyncio.get_running_loop()
        self._tasks.append(asyncio.create_task(self._run()))
        self._tasks.append(asyncio.create_task(self._beat()))
        if self.db.is_postgres:
            self._tasks.append(asyncio.create_task(self._listen()))
        else:
            self._unhook = _poke_on_commit(self)

    async def _prime(self) -> None:
        if self._primed:
            return
        top, missing = await self.read(reads.newest_ids, self.db, GAP_WINDOW)
        self._last = top
        self._gaps = dict.fromkeys(missing, time.monotonic() + GAP_WAIT)
        self._primed = True

    async def _beat(self) -> None:
        """The one keep-alive timer of every stream."""
        while not self.closed:
            await asyncio.sleep(self.keepalive)
            for sub in self._everyone():
                sub.beat()

    async def _run(self) -> None:
        while not self.closed:
            await self._news(LISTENING_POLL if self._listening else self.poll)
            if not self.watched:
                continue
            try:
                more = await self._fetch()
            except Exception as error:  # the database is away: try again at the next wake-up
                log.warning("streams: reading new events failed: %s", error)
                await asyncio.sleep(self.poll)
                continue
            if more:
                self._woke = True
            else:
                await asyncio.sleep(GATHER)

    async def _fetch(self) -> bool:
        async with self._lock:
            await self._prime()
            now = time.monotonic()
            self._gaps = {i: until for i, until in self._gaps.items() if until > now}
            batch = await self.read(
                reads.new_events,
                self.db,
                self._last,
                list(self._gaps),
                frozenset(self._by_case),
                tuple(self._by_viewer),
                self.render,
                hub_own=True,
            )
            for item_id in batch.ids:
                if self._gaps.pop(item_id, None) is None and item_id > self._last:
                    first_missing = max(self._last + 1, item_id - GAP_WINDOW)
                    self._gaps.update(dict.fromkeys(range(first_missing, item_id), now + GAP_WAIT))
                    self._last = item_id
            horizon = self.horizon
            for item in batch.events:
                self._dispatch(item, min(horizon, item.id))
            return batch.full

    def _dispatch(self, item: Committed, horizon: int) -> None:
        for sub in self._by_case.get(item.case_id, ()):
            sub.offer(item, horizon)
        for viewer, subs in self._by_viewer.items():
            if sees(viewer.actor, item.case_id, item.orgs):
                for sub in subs:
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
                    self._wake_up()  # what was committed while nobody listened
                    async for _notice in conn.notifies():
                        self._wake_up()
            except (psycopg.Error, OSError) as error:
                log.warning("streams: LISTEN %s failed, polling meanwhile: %s", CHANNEL, error)
            self._listening = False
            await asyncio.sleep(1)


def _poke_on_commit(hub: Hub) -> Callable[[], None]:
    """On SQLite, a commit through this process wakes the hub once its connection is back in
    the pool (after the commit, whichever thread made it); other processes' by polling."""
    engine, ref = hub.db.engine, weakref.ref(hub)

    def committed(conn: Any) -> None:
        conn.info["handoff_committed"] = True

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop("handoff_committed", False):
            alive = ref()
            if alive is not None:
                alive.poke()

    event.listen(engine, "commit", committed)
    event.listen(engine.pool, "checkin", checked_in)

    def unhook() -> None:
        event.remove(engine, "commit", committed)
        event.remove(engine.pool, "checkin", checked_in)

    return unhook
