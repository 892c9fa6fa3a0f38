"""One case grown big (SPEC §14): 8 participant orgs, 500 requests of 10 KB details (490 done,
10 still open) and 3,000 internal notes of 10 KB from one participant org, built through the
services (the code paths the API calls), then served by `handoff serve`:

- `GET /v1/cases/{id}` on it against the same read of a fresh case, one client (at most 3x), and
  its answer's size (at most 200 KB);
- `/healthz` p99 while four clients read the big case over and over (at most 100 ms);
- the sizes of the other answers about it that SPEC §14 bounds: `/as-of`, the rep's case page and
  the customer's status page.
"""

import asyncio
import time
import urllib.parse
import urllib.request
from typing import Any

from bench.databases import actor, demo_database
from bench.report import Figure
from bench.server_load import Load, _client, _get, _merge, drive, serving
from handoff import services
from handoff.domain.principals import Actor
from handoff.services import queries
from handoff.store.db import Database

ADMIN = Actor(kind="admin", id="root")
READERS = 4
KB = 1024
TEXT = ("The customer called again about the pending charge. " * 200)[: 10 * KB]
# The demo's orgs and their reps, and two more orgs, so that eight take part.
MORE_ORGS = {"bench-a": ("Bench A", "benchie-a"), "bench-b": ("Bench B", "benchie-b")}
ANSWERERS = {"firstbank": "ben", "vendo": "vic", "forge": "mia", "dealer": "dora", "thermo": "tom"}


def build(db: Database, requests: int, notes: int, still_open: int) -> tuple[str, str]:
    """The big case and a fresh one, both owned by dana; their ids."""
    dana = actor(db, "dana")
    answerers = {org: actor(db, agent_id) for org, agent_id in ANSWERERS.items()}
    for org_id, (name, agent_id) in MORE_ORGS.items():
        services.create_org(db, ADMIN, org_id, name, "other")
        services.create_agent(db, ADMIN, org_id, agent_id, name, "rep")
        answerers[org_id] = Actor(kind="agent", id=agent_id, org_id=org_id, role="rep")
    others = list(answerers)
    big = services.create_case(
        db, dana, customer={"name": "Carla Diaz"}, subject="Grown big", participants=others
    ).id
    for n in range(requests):
        to_org = others[n % len(others)]
        made = services.create_request(db, dana, big, to_org, f"Step {n}", details=TEXT)
        if n < requests - still_open:
            services.complete_request(db, answerers[to_org], big, made.id, note="Done.")
    writer = answerers["firstbank"]
    for _ in range(notes):
        services.add_note(db, writer, big, TEXT, "internal")
    fresh = services.create_case(
        db, dana, customer={"name": "Fred"}, subject="Fresh", participants=others
    ).id
    return big, fresh


def _size(port: int, path: str, token: str | None = None) -> int:
    """The length of the answer's body (its status must be 200)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return len(answer.read())


def _page_size(port: int, path: str) -> int:
    """The length of a web UI page for dana (signed in with her token)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    base = f"http://127.0.0.1:{port}"
    with opener.open(f"{base}/ui/sign-in", timeout=60) as page:
        html = page.read().decode()
    csrf = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    body = urllib.parse.urlencode({"token": "tok-dana", "csrf_token": csrf}).encode()
    opener.open(f"{base}/ui/sign-in", data=body, timeout=60).read()
    with opener.open(f"{base}{path}", timeout=60) as page:
        return len(page.read())


async def _read_while_healthz(port: int, read: bytes, seconds: float) -> tuple[Load, Load]:
    """READERS clients read the big case while one more asks /healthz, for `seconds`."""
    reads: list[float] = []
    checks: list[float] = []
    failed: list[int] = []
    failed_checks: list[int] = []
    started = time.perf_counter()
    deadline = started + seconds
    counts = await asyncio.gather(
        *(_client(port, read, deadline, reads, failed) for _ in range(READERS)),
        _client(port, _get("/healthz"), deadline, checks, failed_checks),
    )
    took = time.perf_counter() - started
    return (
        Load(sum(counts[:READERS]), took, reads, len(failed)),
        Load(counts[-1], took, checks, len(failed_checks)),
    )


def measure(kind: str, quick: bool) -> list[Figure]:
    requests, notes = (50, 300) if quick else (500, 3000)
    seconds = 2.0 if quick else 10.0
    with demo_database(kind) as db:
        started = time.perf_counter()
        big, fresh = build(db, requests, notes, still_open=10)
        built = time.perf_counter() - started
        link = queries.get_case(db, actor(db, "dana"), big).customer_link or ""
        url = db.engine.url.render_as_string(hide_password=False)
        db.dispose()
        read_big, read_fresh = (
            _get(f"/v1/cases/{big}", "tok-dana"),
            _get(f"/v1/cases/{fresh}", "tok-dana"),
        )
        with serving(url, 1) as port:
            drive(port, [read_big], 0.5, clients=1)  # warm up
            drive(port, [read_fresh], 0.5, clients=1)
            runs: dict[str, list[Load]] = {"big": [], "fresh": []}
            for _ in range(3):
                runs["big"].append(drive(port, [read_big], seconds / 6, clients=1))
                runs["fresh"].append(drive(port, [read_fresh], seconds / 6, clients=1))
            big_load, fresh_load = _merge(runs["big"]), _merge(runs["fresh"])
            alone = drive(port, [_get("/healthz")], seconds / 2, clients=1)
            readers, healthz = asyncio.run(_read_while_healthz(port, read_big, seconds))
            sizes = {
                "GET /v1/cases/{id}": _size(port, f"/v1/cases/{big}", "tok-dana"),
                "GET /v1/cases/{id}/as-of": _size(
                    port, f"/v1/cases/{big}/as-of?at=2100-01-01T00:00:00Z", "tok-ada"
                ),
                "the case page (/ui/cases/{id})": _page_size(port, f"/ui/cases/{big}"),
                "the customer's page (/c/{link})": _size(port, link),
            }
    shape = f"{requests} requests, {notes} notes of 10 KB, 8 orgs"
    where = f"{kind}, 1 worker"

    def per_read(load: Load) -> float:
        return load.seconds / load.requests * 1e3

    failed = big_load.failures + fresh_load.failures + readers.failures + healthz.failures
    extra: dict[str, Any] = {"build_seconds": round(built, 1), "shape": shape}
    return [
        Figure(
            name=f"GET /v1/cases/{{id}} on a big case ({shape}), {kind}, 1 client",
            figure=per_read(big_load),
            unit="ms",
            reference=per_read(fresh_load),
            reference_name="the same read of a fresh case",
            check="ratio<=",
            target=3.0,
            note=f"{failed} failed" if failed else f"p99 {big_load.percentile(0.99) * 1e3:.1f} ms",
            extra=extra,
        ),
        Figure(
            name=f"GET /v1/cases/{{id}} answer size, big case, {kind}",
            figure=sizes["GET /v1/cases/{id}"] / KB,
            unit="KB",
            check="figure<=",
            target=200.0,
        ),
        Figure(
            name=f"/healthz p99 while {READERS} clients read the big case, {where}",
            figure=healthz.percentile(0.99) * 1e3,
            unit="ms",
            reference=alone.percentile(0.99) * 1e3,
            reference_name="/healthz p99 with nobody reading",
            check="figure<=",
            target=100.0,
            note=f"{readers.rate:.0f} big-case reads/s meanwhile",
            extra={"healthz_p50_ms": healthz.percentile(0.5) * 1e3, "healthz": healthz.requests},
        ),
        *(
            Figure(name=f"{what} answer size, big case, {kind}", figure=size / KB, unit="KB")
            for what, size in sizes.items()
            if what != "GET /v1/cases/{id}"
        ),
    ]
