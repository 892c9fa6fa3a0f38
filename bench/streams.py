"""Streams: one `handoff serve` holding 1,000 open case streams (SPEC §12, issue 15).

Measured, all in one run against one server: its resident memory with the streams open; the
time from a note POST's answer (sent after its commit) to that event's arrival on each of the
streams that watch its case; and the rate of note POSTs on other cases while the streams are
open and fed, beside the rate without them (before opening them and after closing them, so a
noisy neighbour on the machine weighs on both sides alike). The same notes are written to the
watched cases in every phase, so the only difference is the streams. The streams watch
STREAM_CASES cases, so each event fans out to many of them.

The client side is one asyncio process (uvloop when installed) speaking HTTP/1.1 on raw sockets:
1,000 idle streams cost it nothing until an event arrives, and then one line's read and parse.
Each figure carries the machine's load average (`/proc/loadavg`) at its start and end.
"""

import asyncio
import json
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from bench.databases import actor, demo_database
from bench.report import Figure
from bench.server_load import CLIENTS, NOTE, TOKEN, Load, _drive, _merge, _post, serving_process
from handoff import services

STREAMS = 1000
STREAM_CASES = 50  # 20 streams a case
EVENTS_PER_SECOND = 10  # notes written to the watched cases, in every phase
T = TypeVar("T")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        import uvloop

        return uvloop.run(work())
    except ImportError:
        return asyncio.run(work())


class Listener:
    """The client side of the open streams: when each event reached each stream."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, float, float]] = []  # (note text, at, arrival)
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
                    arrival = time.time()
                    event = json.loads(line[6:])
                    if event["type"] != "note_added":  # the case's own history, sent first
                        continue
                    at = datetime.fromisoformat(event["at"].replace("Z", "+00:00"))
                    self.arrivals.append((event["data"]["text"], at.timestamp(), arrival))
        finally:
            writer.close()


class Writer:
    """Notes on the watched cases, EVENTS_PER_SECOND of them, one case after another; when
    each was sent and answered (after its commit), by its text."""

    def __init__(self, cases: list[str]) -> None:
        self.cases = cases
        self.sent: dict[str, float] = {}
        self.answered: dict[str, float] = {}

    async def write(self, port: int, seconds: float, phase: str) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        count, started = 0, time.perf_counter()
        try:
            while time.perf_counter() - started < seconds:
                text = f"bench note {phase} {count}"
                body = json.dumps({"text": text, "visibility": "internal"}).encode()
                self.sent[text] = time.time()
                writer.write(_post(f"/v1/cases/{self.cases[count % len(self.cases)]}/notes", body))
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                await reader.readexactly(length)
                self.answered[text] = time.time()
                count += 1
                pause = started + count / EVENTS_PER_SECOND - time.perf_counter()
                await asyncio.sleep(max(0.0, pause))
        finally:
            writer.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _without_streams(
    port: int, notes: list[bytes], notes_writer: Writer, seconds: float, phase: str
) -> Load:
    writing = asyncio.create_task(notes_writer.write(port, seconds, phase))
    load = await _drive(port, notes, CLIENTS, seconds)
    await writing
    return load


async def _with_streams(
    port: int, pid: int, notes: list[bytes], notes_writer: Writer, seconds: float
) -> tuple[float, Load, Listener]:
    listener, ready = Listener(), asyncio.Event()
    streams = [
        asyncio.create_task(
            listener.watch(port, notes_writer.cases[i % len(notes_writer.cases)], ready, STREAMS)
        )
        for i in range(STREAMS)
    ]
    await asyncio.wait_for(ready.wait(), 120)
    await asyncio.sleep(1)  # the streams' histories, sent as they open, are out of the way
    memory = rss_mb(pid)
    load = await _without_streams(port, notes, notes_writer, seconds, "streams")
    await asyncio.sleep(1)  # the last events' way to their streams
    for task in streams:
        task.cancel()
    await asyncio.gather(*streams, return_exceptions=True)
    return memory, load, listener


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")


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
        notes_writer = Writer(watched)
        loads_at_start = load_average()
        with serving_process(url, 1) as (port, pid):
            run(lambda: _drive(port, notes, CLIENTS, 0.5))  # warm up
            before = run(lambda: _without_streams(port, notes, notes_writer, seconds / 2, "a"))
            idle = rss_mb(pid)
            memory, load, listener = run(
                lambda: _with_streams(port, pid, notes, notes_writer, seconds)
            )
            after = run(lambda: _without_streams(port, notes, notes_writer, seconds / 2, "b"))
        loads = f"load average {loads_at_start} at the start, {load_average()} at the end"
    alone = _merge([before, after])
    written = sum(text.startswith("bench note streams") for text in notes_writer.answered)
    expected = written * STREAMS // STREAM_CASES
    # Only the notes written while the streams were open: the earlier ones came as history.
    arrivals = [
        a
        for a in listener.arrivals
        if a[0].startswith("bench note streams") and a[0] in notes_writer.answered
    ]
    from_answer = [max(0.0, t - notes_writer.answered[text]) for text, _, t in arrivals]
    from_sending = [t - notes_writer.sent[text] for text, _, t in arrivals]
    from_at = [t - at for _, at, t in arrivals]
    missing = expected - len(arrivals)
    lost = f"{missing} of {expected} deliveries missing; " if missing > 0 else ""
    return [
        Figure(
            name=f"resident memory, {STREAMS} open case streams, sqlite",
            figure=memory,
            unit="MB",
            reference=idle,
            reference_name="same server before the streams",
            check="figure<=",
            target=250.0,
            note=loads,
        ),
        Figure(
            name=f"note POST's answer to each of {STREAMS} streams, p99, sqlite",
            figure=p99(from_answer) * 1e3,
            unit="ms",
            check="figure<=",
            target=500.0,
            note=lost + loads,
            extra={
                "deliveries": len(arrivals),
                "events": written,
                "streams_per_case": STREAMS // STREAM_CASES,
                "p50_from_the_answer_ms": sorted(from_answer)[len(from_answer) // 2] * 1e3
                if from_answer
                else None,
                "p99_from_before_the_post_ms": p99(from_sending) * 1e3,
                "p99_from_the_events_at_ms": p99(from_at) * 1e3,
            },
        ),
        Figure(
            name=f"HTTP note POSTs with {STREAMS} streams open and fed, sqlite",
            figure=load.rate,
            unit="requests/s",
            reference=alone.rate,
            reference_name="note POSTs, no streams (before and after)",
            check="ratio>=",
            target=0.8,
            note=(f"{load.failures} failed; " if load.failures else "") + loads,
            extra={"before": before.rate, "after": after.rate},
        ),
    ]
