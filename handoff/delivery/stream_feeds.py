"""One client's stream, fed by the process's hub (handoff/delivery/streams.py): what it has sent
decides what it skips, so its backlog and what the hub hands it meet with nothing lost or
repeated. `frames()` gives the bytes to send, each event's rendered once for all its streams."""

import base64
import binascii
import weakref
from collections.abc import AsyncIterator, Callable

from handoff.delivery import stream_reads as reads
from handoff.delivery.stream_reads import PAGE, Committed
from handoff.delivery.streams import Hub, Subscription
from handoff.domain.errors import InvalidInput, NotFound
from handoff.domain.principals import Actor

Message = tuple[str, Committed]  # the SSE `id:` and the event
KEEP_ALIVE = b": keep-alive\n\n"


class Stream:
    """The messages of one stream; None whenever a keep-alive is due."""

    def __init__(
        self, hub: Hub, sub: Subscription, behind: bool, first: list[Message] | None = None
    ) -> None:
        self.hub, self.sub, self._behind, self._first = hub, sub, behind, first or []
        weakref.finalize(self, hub.unsubscribe, sub)  # even if its answer never began

    @property
    def actor(self) -> Actor:
        return self.sub.actor

    async def messages(self) -> AsyncIterator[Message | None]:
        sub = self.sub
        try:
            for message in self._first:
                yield message
            self._first = []
            while True:
                if self._behind or sub.lagged:
                    self._behind = sub.lagged = False
                    sub.pending.clear()
                    async for message in self._catch_up():
                        yield message
                    continue
                await sub.wait()
                if sub.ended:
                    return
                if sub.keepalive_due and not sub.pending:
                    sub.keepalive_due = False
                    yield None
                    continue
                sub.keepalive_due = False  # what is sent now keeps the connection alive
                while sub.pending and not sub.lagged:
                    item, horizon = sub.pending.popleft()
                    live = self._live(item, horizon)
                    if live is None:
                        self._behind = True
                        break
                    if live:
                        yield live
        finally:
            self.hub.unsubscribe(sub)

    async def frames(self, frame: Callable[[Message], bytes] | None = None) -> AsyncIterator[bytes]:
        """The stream as Server-Sent Events: by default each event as `/events` renders it."""
        yield b"retry: 1000\n\n"  # sends the headers now, and tells EventSource to come back soon
        async for message in self.messages():
            if message is None:
                yield KEEP_ALIVE
            elif frame is not None:
                yield frame(message)
            else:
                yield self._frame(message)

    def _frame(self, message: Message) -> bytes:
        return b"id: %s\n%s" % (message[0].encode(), message[1].tail)

    def _catch_up(self) -> AsyncIterator[Message]:
        raise NotImplementedError

    def _live(self, item: Committed, horizon: int) -> Message | tuple[()] | None:
        """The message for `item`; () when it was sent already; None: read the database."""
        raise NotImplementedError


class CaseStream(Stream):
    """A case's events in seq order; `id:` is the seq."""

    def __init__(self, hub: Hub, sub: Subscription, after: int, first: list[Committed]) -> None:
        super().__init__(hub, sub, len(first) == PAGE, [(str(e.seq), e) for e in first])
        self.case_id, self.last = sub.case_id or "", first[-1].seq if first else after

    def _frame(self, message: Message) -> bytes:
        return message[1].frame

    async def _catch_up(self) -> AsyncIterator[Message]:
        while True:
            try:
                page = await self.hub.read(
                    reads.case_events_after,
                    self.hub.db,
                    self.actor,
                    self.case_id,
                    self.last,
                    self.hub.render,
                )
            except NotFound:
                return
            for item in page:
                self.last = item.seq
                yield str(item.seq), item
            if len(page) < PAGE:
                return

    def _live(self, item: Committed, horizon: int) -> Message | tuple[()] | None:
        if item.seq > self.last + 1:  # one went by unseen (a gap given up): read the history
            return None
        if item.seq <= self.last:
            return ()
        self.last = item.seq
        return str(item.seq), item


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
            page = await self.hub.read(
                reads.visible_events_after,
                self.hub.db,
                self.actor,
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

    def _live(self, item: Committed, horizon: int) -> Message | tuple[()] | None:
        if item.id <= self.after or item.id in self.sent:
            return ()
        return self._advance(item, horizon), item


async def open_case(hub: Hub, actor: Actor, case_id: str, after: int | None) -> CaseStream:
    """A stream of the case's events after seq `after` (all without); NotFound at once."""
    sub = await hub.subscribe(actor, case_id)
    try:
        first = await hub.read(
            reads.case_events_after, hub.db, actor, case_id, after or 0, hub.render
        )
    except BaseException:
        hub.unsubscribe(sub)
        raise
    return CaseStream(hub, sub, after or 0, first)


async def open_everywhere(hub: Hub, actor: Actor, cursor: str | None) -> OrgStream:
    """A stream of every case `actor` may see: after `cursor`, or from now without one."""
    position = decode_cursor(cursor) if cursor else None
    sub = await hub.subscribe(actor, None)
    return OrgStream(hub, sub, position or (hub.horizon, set()), behind=bool(position))


def encode_cursor(after: int, sent: set[int]) -> str:
    text = ",".join(map(str, [after, *sorted(sent)]))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, set[int]]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        numbers = [int(n) for n in text.split(",")]
    except (binascii.Error, ValueError, UnicodeDecodeError):
        numbers = []
    if not numbers or not all(0 <= n < 2**63 for n in numbers) or len(numbers) > 1000:
        raise InvalidInput("Last-Event-ID", "the event id is not one this stream gave out")
    return numbers[0], set(numbers[1:])
