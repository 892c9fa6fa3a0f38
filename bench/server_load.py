"""HTTP: `handoff serve` in its own process group, 16 keep-alive clients on loopback.

The clients are a few lines of asyncio speaking HTTP/1.1 (no client library in the way), so the
client costs little of the machine's two cores next to the server it measures.
"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.databases import actor, demo_database
from bench.report import Figure
from handoff import services

CLIENTS = 16
TOKEN = "tok-dana"
NOTE = json.dumps({"text": "Called the customer back.", "visibility": "internal"}).encode()


@dataclass
class Load:
    requests: int
    seconds: float
    latencies: list[float]
    failures: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(database_url: str, workers: int) -> Iterator[int]:
    """`handoff serve` on a free loopback port; stopped (SIGINT, then SIGKILL) afterwards."""
    with serving_process(database_url, workers) as (port, _pid):
        yield port


@contextmanager
def serving_process(database_url: str, workers: int) -> Iterator[tuple[int, int]]:
    """`serving`, giving the server's port and process id."""
    port = free_port()
    command = [sys.executable, "-m", "handoff.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--database-url", database_url]
    with tempfile.TemporaryDirectory(prefix="handoff-bench-serve-") as folder:
        log = Path(folder) / "serve.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
            try:
                _wait_until_up(port, server, log)
                yield port, server.pid
            finally:
                _stop(server)


def _wait_until_up(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"handoff serve exited: {log.read_text()[-2000:]}")
        try:
            load = asyncio.run(_drive(port, [_get("/healthz")], 1, 0.05))
            if load.requests and not load.failures:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("handoff serve did not answer /healthz within 60 s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()


def _post(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _client(
    port: int, request: bytes, deadline: float, latencies: list[float], failures: list[int]
) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            done += 1
            if status >= 300:
                failures.append(status)
    finally:
        writer.close()
    return done


async def _drive(port: int, requests: list[bytes], clients: int, seconds: float) -> Load:
    """`clients` connections, client i sending requests[i % len(requests)] for `seconds`."""
    latencies: list[float] = []
    failures: list[int] = []
    started = time.perf_counter()
    deadline = started + seconds
    done = await asyncio.gather(
        *(
            _client(port, requests[i % len(requests)], deadline, latencies, failures)
            for i in range(clients)
        )
    )
    return Load(sum(done), time.perf_counter() - started, latencies, len(failures))


def drive(port: int, requests: list[bytes], seconds: float) -> Load:
    try:
        import uvloop

        return uvloop.run(_drive(port, requests, CLIENTS, seconds))
    except ImportError:
        return asyncio.run(_drive(port, requests, CLIENTS, seconds))


def _merge(loads: list[Load]) -> Load:
    return Load(
        sum(x.requests for x in loads),
        sum(x.seconds for x in loads),
        [t for x in loads for t in x.latencies],
        sum(x.failures for x in loads),
    )


def measure(kind: str, workers: int, seconds: float) -> list[Figure]:
    """GET /healthz and note POSTs (add_note: a transition of the case) in alternating halves."""
    with demo_database(kind) as db:
        dana = actor(db, "dana")
        cases = [
            services.create_case(db, dana, customer={"name": f"Customer {i}"}, subject="Bench").id
            for i in range(CLIENTS)
        ]
        url = db.engine.url.render_as_string(hide_password=False)
        db.dispose()
        notes = [_post(f"/v1/cases/{case_id}/notes", NOTE) for case_id in cases]
        with serving(url, workers) as port:
            drive(port, [_get("/healthz")], 0.5)  # warm up every worker and connection
            drive(port, notes, 0.5)
            gets, posts = [], []
            for _ in range(2):
                gets.append(drive(port, [_get("/healthz")], seconds / 2))
                posts.append(drive(port, notes, seconds / 2))
    get, post = _merge(gets), _merge(posts)
    where = f"{kind}, {workers} worker{'s' if workers > 1 else ''}"
    default = kind == "sqlite" and workers == 1
    note = f"{post.failures} failed" if post.failures or get.failures else ""
    return [
        Figure(
            name=f"HTTP note POSTs, {where}",
            figure=post.rate,
            unit="requests/s",
            reference=get.rate,
            reference_name="GET /healthz, same server",
            check="ratio>=" if default else "info",
            target=0.5 if default else None,
            note=note,
            extra={"get_p99_ms": get.percentile(0.99) * 1e3, "clients": CLIENTS},
        ),
        Figure(
            name=f"HTTP note POST p99, {where}",
            figure=post.percentile(0.99) * 1e3,
            unit="ms",
            reference=get.percentile(0.99) * 1e3,
            reference_name="GET /healthz p99",
            check="figure<=" if default else "info",
            target=50.0 if default else None,
            extra={"p50_ms": post.percentile(0.5) * 1e3},
        ),
    ]
