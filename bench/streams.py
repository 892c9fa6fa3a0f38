"""Streams: one `handoff serve` holding 1,000 open case streams (SPEC §12, issue 15).

Measured: the server's resident memory with the streams open; the time from an event's `at`
(taken inside its transaction, before the commit) to its arrival on each stream that watches its
case; and the rate of note POSTs on other cases while the streams are open and fed, beside the
rate without them. The streams watch STREAM_CASES cases, so each event fans out to many streams.
"""

import asyncio
import json
import time
from datetime import datetime
from pathlib import Path

from bench.databases import actor, demo_database
from bench.report import Figure
from bench.server_load import CLIENTS, NOTE, TOKEN, Load, _drive, _post, serving_process
from handoff import services

STREAMS = 1000
STREAM_CASES = 50  # 20 streams a case
EVENTS_PER_SECOND = 10  # notes written to the watched cases during the measurement


class Listener:
    """The client side of the open streams: when each event reached each stream."""

    def __init__(self) -> None:
        self.delays: list[float] = []  # from the event's `at`, inside its transaction
        self.arrivals: list[tuple[str, float]] = []  # (note text, when it reached a stream)
        self.answered: dict[str, float] = {}
        self.open = 0

    async def watch(self, port: int, case_id: str, ready: asyncio.Event, total: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET /v1/cases/{case_id}/stream HTTP/1.1\r\nHost: bench\r\n"
            f"Authorization: Bearer {TOKEN}\r\nLast-Event-ID: 1\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"stream refused: {head[:200]!r}")
        self.open += 1
        if self.open == total:
            ready.set()
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                if line.startswith(b"data: "):  # chunked framing lines never start so
                    event = json.loads(line[6:])
                    if event["type"] != "note_added":  # the case's own history, sent first
                        continue
                    at = datetime.fromisoformat(event["at"].replace("Z", "+00:00"))
                    self.delays.append(time.time() - at.timestamp())
                    self.arrivals.append((event["data"]["text"], time.time()))
        finally:
            writer.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _writer(port: int, cases: list[str], seconds: float, answered: dict[str, float]) -> int:
    """Notes on the watched cases, EVENTS_PER_SECOND of them, one case after another; when
    each was answered (after its commit), by its text."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent, started = 0, time.perf_counter()
    try:
        while time.perf_counter() - started < seconds:
            text = f"bench note {sent}"
            body = json.dumps({"text": text, "visibility": "internal"}).encode()
            writer.write(_post(f"/v1/cases/{cases[sent % len(cases)]}/notes", body))
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            await reader.readexactly(length)
            answered[text] = time.time()
            sent += 1
            await asyncio.sleep(max(0.0, started + sent / EVENTS_PER_SECOND - time.perf_counter()))
    finally:
        writer.close()
    return sent


async def _with_streams(
    port: int, pid: int, watched: list[str], notes: list[bytes], seconds: float
) -> tuple[float, Load, Listener, int]:
    listener, ready = Listener(), asyncio.Event()
    streams = [
        asyncio.create_task(listener.watch(port, watched[i % len(watched)], ready, STREAMS))
        for i in range(STREAMS)
    ]
    await asyncio.wait_for(ready.wait(), 120)
    memory = rss_mb(pid)
    writing = asyncio.create_task(_writer(port, watched, seconds, listener.answered))
    load = await _drive(port, notes, CLIENTS, seconds)
    written = await writing
    await asyncio.sleep(1)  # the last events' way to their streams
    for task in streams:
        task.cancel()
    await asyncio.gather(*streams, return_exceptions=True)
    return memory, load, listener, written


def measure(seconds: float) -> list[Figure]:
    with demo_database("sqlite") as db:
        dana = actor(db, "dana")

        def case(i: int) -> str:
            return services.create_case(db, dana, customer={"name": f"C{i}"}, subject="Bench").id

        posted = [case(i) for i in range(CLIENTS)]
        watched = [case(CLIENTS + i) for i in range(STREAM_CASES)]
        url = db.engine.url.render_as_string(hide_password=False)
        db.dispose()
        notes = [_post(f"/v1/cases/{case_id}/notes", NOTE) for case_id in posted]
        with serving_process(url, 1) as (port, pid):
            asyncio.run(_drive(port, notes, CLIENTS, 0.5))  # warm up
            alone = asyncio.run(_drive(port, notes, CLIENTS, seconds))
            idle = rss_mb(pid)
            memory, load, listener, written = asyncio.run(
                _with_streams(port, pid, watched, notes, seconds)
            )
    expected = written * STREAMS // STREAM_CASES
    delays = sorted(listener.delays)
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))] * 1e3 if delays else float("nan")
    after_answer = sorted(
        max(0.0, t - listener.answered[text])
        for text, t in listener.arrivals
        if text in listener.answered
    )
    answer_p99 = after_answer[min(len(after_answer) - 1, int(len(after_answer) * 0.99))] * 1e3
    missing = expected - len(delays)
    lost = f"{missing} of {expected} deliveries missing" if missing > 0 else ""
    return [
        Figure(
            name=f"resident memory, {STREAMS} open case streams, sqlite",
            figure=memory,
            unit="MB",
            reference=idle,
            reference_name="same server before the streams",
            check="figure<=",
            target=250.0,
        ),
        Figure(
            name=f"event commit to each of {STREAMS} streams, p99, sqlite",
            figure=p99,
            unit="ms",
            check="figure<=",
            target=500.0,
            note=lost,
            extra={
                "deliveries": len(delays),
                "events": written,
                "streams_per_case": STREAMS // STREAM_CASES,
                "p99_from_the_writers_answer_ms": answer_p99,
            },
        ),
        Figure(
            name=f"HTTP note POSTs with {STREAMS} streams open and fed, sqlite",
            figure=load.rate,
            unit="requests/s",
            reference=alone.rate,
            reference_name="note POSTs, no streams",
            check="ratio>=",
            target=0.8,
            note=f"{load.failures} failed" if load.failures else "",
        ),
    ]
