"""The engine in-process: claim → request → complete → resolve → confirm on fresh cases, against
the same statements replayed through the bare driver with the same transactions."""

import time
import uuid
from dataclasses import dataclass

from bench.databases import actor, demo_database
from bench.report import Figure
from bench.statements import Step, bare_driver, recording, statements_in, substituted
from handoff import services
from handoff.domain.principals import Actor
from handoff.store.db import Database

MIX = ("claim", "create_request", "complete_request", "propose_resolution", "confirm_resolution")
TARGETS = {"sqlite": 0.25, "postgres": 0.50}
REFERENCE = {"sqlite": "stdlib sqlite3", "postgres": "psycopg, one client"}
SUMMARY = "We asked First Bank to release the hold; it is released."


@dataclass(frozen=True)
class People:
    crm: Actor
    dana: Actor
    ben: Actor


def open_cases(db: Database, people: People, count: int) -> list[str]:
    """Unclaimed cases from Acme's CRM with First Bank taking part (not timed)."""
    return [
        services.create_case(
            db,
            people.crm,
            customer={"name": "Carla Diaz", "email": "carla@example.com"},
            subject="Order cancelled, card still charged",
            participants=["firstbank"],
        ).id
        for _ in range(count)
    ]


def work(db: Database, people: People, case_id: str) -> str:
    """The mix on one case; returns the request's id."""
    services.claim(db, people.dana, case_id)
    request = services.create_request(
        db, people.dana, case_id, "firstbank", "Release the authorization hold"
    )
    services.complete_request(db, people.ben, case_id, request.id, note="Hold released.")
    services.propose_resolution(db, people.dana, case_id, "credited", SUMMARY)
    services.confirm_resolution(db, people.dana, case_id)
    return request.id


def measure(kind: str, cases: int, rounds: int = 4) -> list[Figure]:
    """Engine and replay alternate in `rounds`, so a noisy neighbour hits both alike."""
    with demo_database(kind) as db:
        people = People(actor(db, "acme-crm"), actor(db, "dana"), actor(db, "ben"))
        template_case = open_cases(db, people, 1)[0]
        with recording(db.engine) as steps:
            template_request = work(db, people, template_case)
        per_round = max(1, cases // rounds)
        engine_time = replay_time = 0.0
        done = 0
        with bare_driver(db.engine.url.render_as_string(hide_password=False)) as replay:
            for _ in range(rounds):
                ours = open_cases(db, people, per_round)
                theirs = open_cases(db, people, per_round)
                scripts = [
                    substituted(steps, {template_case: c, template_request: uuid.uuid4().hex})
                    for c in theirs
                ]
                started = time.perf_counter()
                for case_id in ours:
                    work(db, people, case_id)
                engine_time += time.perf_counter() - started
                started = time.perf_counter()
                for script in scripts:
                    replay(script)
                replay_time += time.perf_counter() - started
                done += per_round
        return [_figure(kind, steps, done, engine_time, replay_time)]


def _figure(kind: str, steps: list[Step], done: int, engine: float, replay: float) -> Figure:
    commands_done = done * len(MIX)
    pings = sum(1 for s in steps if s.kind == "ping")
    note = f"{statements_in(steps) / len(MIX):.1f} statements per command"
    if pings:
        note += f" (incl. {pings / len(MIX):.0f} pool pre-ping)"
    return Figure(
        name=f"engine mix, {kind}",
        figure=commands_done / engine,
        unit="commands/s",
        reference=commands_done / replay,
        reference_name=f"same statements, {REFERENCE[kind]}",
        check="ratio>=",
        target=TARGETS[kind],
        note=note,
        extra={"cases": done, "statements": [s.statement for s in steps if s.kind == "execute"]},
    )
