"""Processes killed with SIGKILL at random moments, then restarted: nothing acknowledged is lost,
nothing is half-written, every invariant holds; webhooks arrive at least once, a duplicate
only with the same `webhook-id`, and in order per case.

`HANDOFF_LONG_TESTS=1` kills more often.
"""

import json
import queue
import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from handoff import services
from handoff.config import Settings
from handoff.history.check import check
from handoff.services.subscriptions import create_webhook
from handoff.store.db import Database
from handoff.store.models import WebhookDelivery
from tests.integration.world import ADMIN, World, build_world
from tests.reliability.acks import not_in_history
from tests.reliability.conftest import scaled
from tests.reliability.load import Load
from tests.reliability.scenarios import warm_accept
from tests.reliability.servers import Api, populated, worker

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
KILLS = scaled(3, 12)
PATIENCE = 120  # seconds: a guard against a hang, never a wait for something to happen
KINDS = {"case_created", "claimed", "request_created", "withdrawn"}  # of acknowledged change


def test_the_api_killed_under_load_loses_no_acknowledged_change(
    own_postgres: str, tmp_path: Path
) -> None:
    db = Database(Settings(database_url=own_postgres))
    populated(db)
    api, moments = Api(own_postgres, tmp_path / "api.log", workers=2).start(), random.Random()
    try:
        with Load(api.base) as load:
            for _ in range(KILLS):
                time.sleep(moments.uniform(0.3, 2.0))  # the kill lands at a random moment
                api.kill()
                api.start()
            # The load goes on against the last server until it has acknowledged every kind of
            # change again, however slowly the machine serves it.
            since_last = len(load.acks)
            deadline = time.monotonic() + PATIENCE
            while not {a.event for a in load.acks[since_last:]} >= KINDS:
                assert time.monotonic() < deadline, api.output()
                time.sleep(0.05)
    finally:
        api.kill()

    assert [a for a in load.answers if a.status is not None and a.status >= 500] == []
    acknowledged = {a.event for a in load.acks}
    assert acknowledged >= KINDS
    assert not_in_history(db, load.acks) == []
    assert check(db) == []
    db.dispose()


@dataclass(frozen=True)
class Arrival:
    webhook_id: str
    case_id: str
    seq: int
    verified: bool


class Receiver:
    """A webhook endpoint on 127.0.0.1 that notes each arrival. While it holds them, each
    delivery is answered only once the test lets it go (having killed the worker that sent it);
    after `let_go`, at once."""

    def __init__(self) -> None:
        self.secret: str | None = None  # to verify each signature with
        self.arrivals: list[Arrival] = []
        self.held: queue.Queue[threading.Event] = queue.Queue()  # a gate per delivery held
        self.holding = True
        self.guard = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                event = json.loads(body)["data"]
                try:
                    Webhook(str(receiver.secret)).verify(body, dict(self.headers))
                    verified = True
                except Exception:
                    verified = False
                webhook_id = self.headers["webhook-id"]
                arrival = Arrival(webhook_id, event["case_id"], event["seq"], verified)
                receiver.arrivals.append(arrival)
                with receiver.guard:
                    gate = threading.Event() if receiver.holding else None
                    if gate is not None:
                        receiver.held.put(gate)
                if gate is not None:
                    gate.wait(PATIENCE)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next_held(self) -> threading.Event | None:
        """The gate of a delivery that has arrived and is not yet answered (None: none came)."""
        try:
            return self.held.get(timeout=PATIENCE)
        except queue.Empty:
            return None

    def let_go(self) -> None:
        """Answer every delivery held, and those to come at once."""
        with self.guard:
            self.holding = False
        while not self.held.empty():
            self.held.get_nowait().set()

    def close(self) -> None:
        self.let_go()
        self.server.shutdown()


@pytest.fixture
def receiver_world(own_postgres: str) -> Iterator[tuple[World, Receiver]]:
    db = Database(Settings(database_url=own_postgres))
    world = build_world(db)
    receiver = Receiver()
    yield world, receiver
    receiver.close()
    db.dispose()


def histories(world: World, cases: int) -> None:
    """Cases with several events each, for the outbox."""
    db, dana, ben = world.db, world.agent("dana"), world.agent("ben")
    for n in range(cases):
        customer = {"name": f"Customer {n}"}
        case_id = services.create_case(
            db, dana, customer=customer, subject="Hold", participants=["firstbank"]
        ).id
        request = services.create_request(db, dana, case_id, "firstbank", "Release the hold")
        services.complete_request(db, ben, case_id, request.id, "Released")
        warm_accept(world, case_id, dana, ben)


def test_the_worker_killed_mid_delivery_loses_no_webhook_and_repeats_one_only_as_itself(
    receiver_world: tuple[World, Receiver], own_postgres: str, tmp_path: Path
) -> None:
    world, receiver = receiver_world
    db = world.db
    receiver.secret = create_webhook(db, ADMIN, receiver.url, org_id="acme").secret
    histories(world, cases=scaled(4, 12))
    env = {"HANDOFF_WEBHOOK_TIMEOUT": "1", "HANDOFF_WEBHOOK_BACKOFF": "0.2"}
    running = worker(own_postgres, tmp_path / "worker.log", env).start()
    try:
        for _ in range(KILLS):
            held = receiver.next_held()
            assert held is not None, running.output()
            running.kill()  # mid-POST: the receiver has the event, the outbox does not know
            held.set()  # its answer goes nowhere
            running.start()
        receiver.let_go()
        wait_until_delivered(db, timeout=PATIENCE)
    finally:
        running.kill()

    assert all(arrival.verified for arrival in receiver.arrivals)
    queued = outbox_of(db)
    first: dict[tuple[str, int], Arrival] = {}
    ids_of: dict[tuple[str, int], set[str]] = defaultdict(set)
    for arrival in receiver.arrivals:
        first.setdefault((arrival.case_id, arrival.seq), arrival)
        ids_of[(arrival.case_id, arrival.seq)].add(arrival.webhook_id)
    assert set(first) == set(queued)  # every event arrived, at least once
    assert all(ids == {queued[key]} for key, ids in ids_of.items())  # repeats keep the id
    assert len(receiver.arrivals) > len(first)  # the kills did cut deliveries short
    seqs_of: dict[str, list[int]] = defaultdict(list)
    for case_id, seq in first:
        seqs_of[case_id].append(seq)
    assert all(seqs == sorted(seqs) for seqs in seqs_of.values())  # in order per case
    assert check(db) == []


def outbox_of(db: Database) -> dict[tuple[str, int], str]:
    with db.reading() as session:
        rows = session.execute(
            select(WebhookDelivery.case_id, WebhookDelivery.event_seq, WebhookDelivery.id)
        )
        return {(case_id, seq): delivery_id for case_id, seq, delivery_id in rows}


def wait_until_delivered(db: Database, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.reading() as session:
            pending = session.scalar(
                select(func.count()).where(WebhookDelivery.state != "delivered")
            )
        if pending == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"{pending} deliveries still not delivered")
