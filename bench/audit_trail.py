"""Audit: one case's history through the engine, the NDJSON export and `verify` over a large
synthetic history (SQLite, the default database)."""

import hashlib
import json
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import make_url

from bench import chains
from bench.databases import actor, demo_database
from bench.report import Figure
from bench.statements import bare_driver, recording
from handoff import services
from handoff.domain.principals import Actor
from handoff.history.chain import GENESIS_HASH, canonical
from handoff.services import audit, queries

AUDITOR = Actor(kind="agent", id="ada", org_id="acme", role="auditor")
CHAIN_LENGTH = 20


def _p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def measure(events: int, calls: int) -> list[Figure]:
    with demo_database("sqlite") as db:
        url = db.engine.url.render_as_string(hide_password=False)
        path = make_url(url).database or ""
        loaded = chains.load(path, max(1, events // CHAIN_LENGTH), CHAIN_LENGTH)
        figures = [_history(db, calls, url)]
        figures += _export(url, loaded)
        figures.append(_verify(db, path, loaded))
        return figures


def _history(db: Any, calls: int, url: str) -> Figure:
    dana = actor(db, "dana")
    case = services.create_case(db, dana, customer={"name": "Carla Diaz"}, subject="History")
    for i in range(CHAIN_LENGTH - 2):
        services.add_note(db, dana, case.id, f"Called the bank, step {i}.")
    with recording(db.engine) as steps:
        page = audit.case_history(db, AUDITOR, case.id)
    assert len(page.items) == CHAIN_LENGTH
    ours, theirs = [], []
    with bare_driver(url) as replay:
        for _ in range(calls):
            started = time.perf_counter()
            audit.case_history(db, AUDITOR, case.id)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            replay(steps)
            theirs.append(time.perf_counter() - started)
    return Figure(
        name=f"one case's history ({CHAIN_LENGTH} events) p99",
        figure=_p99(ours) * 1e3,
        unit="ms",
        reference=_p99(theirs) * 1e3,
        reference_name="same statements, stdlib sqlite3",
        check="figure<=",
        target=2.0,
        note=f"p50 {sorted(ours)[len(ours) // 2] * 1e3:.2f} ms",
        extra={"statements": [s.statement for s in steps if s.kind == "execute"]},
    )


def _probe(url: str, *flags: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.export_probe", url, *flags],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _export(url: str, loaded: int) -> list[Figure]:
    ours, theirs = _probe(url), _probe(url, "--raw")
    rate = ours["events"] / ours["seconds"]
    return [
        Figure(
            name=f"NDJSON export of {ours['events']:,} events",
            figure=rate,
            unit="events/s",
            reference=theirs["events"] / theirs["seconds"],
            reference_name="sqlite3 rows to json.dumps lines",
            check="figure>=",
            target=50_000,
            note=f"{ours['bytes'] / 1e6:.0f} MB written",
            extra={"loaded": loaded},
        ),
        Figure(
            name="NDJSON export peak memory (whole process)",
            figure=ours["peak_rss_mb"],
            unit="MB",
            reference=theirs["peak_rss_mb"],
            reference_name="the raw exporter's process",
            check="figure<=",
            target=150,
            note=f"{ours['start_rss_mb']:.0f} MB after imports",
        ),
    ]


def _verify(db: Any, path: str, loaded: int) -> Figure:
    started = time.perf_counter()
    events = broken = 0
    for _case_id, verification in queries.verify_all(db):
        events += verification.events
        broken += not verification.valid
    ours = time.perf_counter() - started
    assert broken == 0, f"{broken} chains reported broken"
    started = time.perf_counter()
    theirs_events = _raw_verify(path)
    theirs = time.perf_counter() - started
    return Figure(
        name=f"verify over {events:,} events",
        figure=events / ours,
        unit="events/s",
        reference=theirs_events / theirs,
        reference_name="sqlite3 rows, canonical JSON + SHA-256 in a loop",
        check="figure>=",
        target=100_000,
        extra={"loaded": loaded},
    )


def _raw_verify(path: str) -> int:
    """Re-hash every event straight from sqlite3 rows: the floor under any verify."""
    connection = sqlite3.connect(path)
    query = (
        "SELECT e.case_id, e.seq, e.type, e.actor_kind, e.actor_id, e.org_id, e.at, e.data, "
        "e.prev_hash, e.hash FROM cases c JOIN events e ON e.case_id = c.id "
        "ORDER BY c.number, e.seq"
    )
    count, case_id, prev = 0, None, GENESIS_HASH
    for row in connection.execute(query):
        if row[0] != case_id:
            case_id, prev = row[0], GENESIS_HASH
        body = canonical(
            case_id=row[0],
            seq=row[1],
            type=row[2],
            actor_kind=row[3],
            actor_id=row[4],
            org_id=row[5],
            at=_parse_stored(row[6]),
            data=json.loads(row[7]),
            prev_hash=row[8],
        )
        if row[8] != prev or hashlib.sha256(body).hexdigest() != row[9]:
            raise AssertionError(f"raw verify disagrees at {row[0]} seq {row[1]}")
        prev = row[9]
        count += 1
    connection.close()
    return count


def _parse_stored(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
