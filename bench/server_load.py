"""HTTP: `handoff serve` in its own process group, 16 keep-alive clients on loopback; then, with
one client, what a case creation and a 20-event history read cost beside a note POST.

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
# The README's first example: Acme's CRM opens a case with the customer's bank taking part.
NEW_CASE = json.dumps(
    {
        "customer": {"name": "Carla Diaz", "email": "carla@example.com"},
        "subject": "Order cancelled, card still charged",
        "participants": ["firstbank"],
    }
).encode()
HISTORY_LENGTH = 20  # events on the case whose history is read (by ada, the auditor)


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


def _get(path: str, token: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode()


def _post(path: str, body: bytes, token: str = TOKEN) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
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


def drive(port: int, requests: list[bytes], seconds: float, clients: int = CLIENTS) -> Load:
    try:
        import uvloop

        return uvloop.run(_drive(port, requests, clients, seconds))
    except ImportError:
        return asyncio.run(_drive(port, requests, clients, seconds))


def _merge(loads: list[Load]) -> Load:
    return Load(
        sum(x.requests for x in loads),
        sum(x.seconds for x in loads),
        [t for x in loads for t in x.latencies],
        sum(x.failures for x in loads),
    )


def measure(kind: str, workers: int, seconds: float) -> list[Figure]:
    """GET /healthz and note POSTs (add_note: a transition of the case) in alternating halves;
    with one worker, then the one-client costs (see `_costs`) on the same server."""
    with demo_database(kind) as db:
        dana = actor(db, "dana")
        cases = [
            services.create_case(db, dana, customer={"name": f"Customer {i}"}, subject="Bench").id
            for i in range(CLIENTS)
        ]
        storied = services.create_case(db, dana, customer={"name": "Carla Diaz"}, subject="Story")
        for i in range(HISTORY_LENGTH - 2):  # created and claimed: two events already
            services.add_note(db, dana, storied.id, f"Called the bank, step {i}.")
        url = db.engine.url.render_as_string(hide_password=False)
        db.dispose()
        notes = [_post(f"/v1/cases/{case_id}/notes", NOTE) for case_id in cases]
        history = _get(f"/v1/cases/{storied.id}/events", "tok-ada")
        with serving(url, workers) as port:
            drive(port, [_get("/healthz")], 0.5)  # warm up every worker and connection
            drive(port, notes, 0.5)
            gets, posts = [], []
            for _ in range(2):
                gets.append(drive(port, [_get("/healthz")], seconds / 2))
                posts.append(drive(port, notes, seconds / 2))
            costs = _costs(port, notes[0], history, seconds, kind) if workers == 1 else []
    get, post = _merge(gets), _merge(posts)
    where = f"{kind}, {workers} worker{'s' if workers > 1 else ''}"
    default = kind == "sqlite" and workers == 1
    goal = kind == "postgres" and workers == 1  # the goal for the production database
    note = f"{post.failures} failed" if post.failures or get.failures else ""
    return [
        Figure(
            name=f"HTTP note POSTs, {where}",
            figure=post.rate,
            unit="requests/s",
            reference=get.rate,
            reference_name="GET /healthz, same server",
            check="ratio>=" if default or goal else "info",
            target=0.5 if default else 0.3 if goal else None,
            note=note,
            extra={"get_p99_ms": get.percentile(0.99) * 1e3, "clients": CLIENTS},
        ),
        Figure(
            name=f"HTTP note POST p99, {where}",
            figure=post.percentile(0.99) * 1e3,
            unit="ms",
            reference=get.percentile(0.99) * 1e3,
            reference_name="GET /healthz p99",
            check="figure<=" if default or goal else "info",
            target=50.0 if default or goal else None,
            extra={"p50_ms": post.percentile(0.5) * 1e3},
        ),
        *costs,
    ]


def _costs(port: int, note: bytes, history: bytes, seconds: float, kind: str) -> list[Figure]:
    """One client: a note POST, a case creation (POST /v1/cases as the README's CRM) and a read
    of a 20-event history (GET /v1/cases/{id}/events as the auditor), each the mean time of a
    request, alternating in rounds so that a noisy neighbour hits all three alike."""
    create = _post("/v1/cases", NEW_CASE, "tok-acme-crm")
    drive(port, [create], 0.3, clients=1)  # warm up
    drive(port, [history], 0.3, clients=1)
    runs: dict[str, list[Load]] = {"note": [], "create": [], "history": []}
    for _ in range(3):
        for name, request in (("note", note), ("create", create), ("history", history)):
            runs[name].append(drive(port, [request], seconds / 6, clients=1))
    note_load, create_load, history_load = (_merge(runs[n]) for n in ("note", "create", "history"))
    per_note = note_load.seconds / note_load.requests * 1e3
    where = f"{kind}, 1 client"

    def cost(name: str, load: Load, target: float) -> Figure:
        failed = f"{load.failures} failed; " if load.failures else ""
        return Figure(
            name=f"{name}, {where}",
            figure=load.seconds / load.requests * 1e3,
            unit="ms",
            reference=per_note,
            reference_name="a note POST, same server, 1 client",
            check="ratio<=" if kind == "sqlite" else "info",
            target=target if kind == "sqlite" else None,
            note=f"{failed}p99 {load.percentile(0.99) * 1e3:.1f} ms",
            extra={"requests": load.requests, "note_p99_ms": note_load.percentile(0.99) * 1e3},
        )

    return [
        cost("case creation (POST /v1/cases)", create_load, 2.0),
        cost(f"{HISTORY_LENGTH}-event history (GET /v1/cases/{{id}}/events)", history_load, 1.0),
    ]
