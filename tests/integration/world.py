"""The orgs and people of the three stories, and a few shortcuts for tests."""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from handoff import demo, services
from handoff.domain.errors import Refusal
from handoff.domain.principals import Actor
from handoff.store.append_only import drop_append_only, install_append_only
from handoff.store.db import Database

ADMIN = Actor(kind="admin", id="root")

# The demo's orgs, people and systems (handoff/demo.py), and one more Acme rep to hand cases to.
ORGS = demo.ORGS
AGENTS = demo.AGENTS | {"dave": ("acme", "Dave Kim", "rep")}  # id: (org, name, role)
SYSTEMS = demo.SYSTEMS


@dataclass(frozen=True)
class World:
    db: Database

    def agent(self, agent_id: str) -> Actor:
        org, _name, role = AGENTS[agent_id]
        return Actor(kind="agent", id=agent_id, org_id=org, role=role)

    def system(self, system_id: str) -> Actor:
        return Actor(kind="system", id=system_id, org_id=SYSTEMS[system_id])

    def auditor(self, orgs: frozenset[str] | None = None) -> Actor:
        return Actor(kind="agent", id="ada", org_id="acme", role="auditor", orgs=orgs)


def build_world(db: Database) -> World:
    for org_id, (name, kind) in ORGS.items():
        services.create_org(db, ADMIN, org_id, name, kind)
    for agent_id, (org_id, name, role) in AGENTS.items():
        services.create_agent(db, ADMIN, org_id, agent_id, name, role)
    for system_id, org_id in SYSTEMS.items():
        services.create_system(db, ADMIN, org_id, system_id, system_id)
    return World(db)


def race(actions: list[Callable[[], Any]]) -> list[Any]:
    """Run every action in its own thread, released together; a refusal is returned, not raised."""
    barrier = threading.Barrier(len(actions))

    def run(action: Callable[[], Any]) -> Any:
        barrier.wait(timeout=30)
        try:
            return action()
        except Refusal as refusal:
            return refusal

    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        futures = [pool.submit(run, action) for action in actions]
        return [future.result(timeout=60) for future in futures]


@contextmanager
def tampering(db: Database) -> Iterator[Connection]:
    """A connection on which events may be changed; the append-only triggers come back after."""
    with db.engine.begin() as conn:
        drop_append_only(conn)
        try:
            yield conn
        finally:
            install_append_only(conn)
