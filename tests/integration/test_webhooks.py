"""Webhook delivery to a real receiver on 127.0.0.1, verified the Standard Webhooks way."""

import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from freezegun import freeze_time
from sqlalchemy import select
from standardwebhooks import Webhook

from handoff import services
from handoff.config import Settings
from handoff.delivery import worker
from handoff.delivery.webhooks import deliver_due
from handoff.domain.errors import InvalidInput
from handoff.services import queries
from handoff.services.flow import now
from handoff.services.subscriptions import create_webhook
from handoff.store.db import Database
from handoff.store.models import WebhookDelivery, WebhookSubscription
from tests.integration.world import ADMIN, World


def serving(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    """A partner's endpoint on a free loopback port, answering in threads of its own."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/hooks"


class Receiver:
    """A partner's endpoint: records what it accepts; while `down`, answers 503."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], str]] = []
        self.down = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"])).decode()
                if receiver.down:
                    self.send_response(503)
                else:
                    receiver.received.append((dict(self.headers), body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server, self.url = serving(Handler)

    def events(self, secret: str) -> list[dict[str, Any]]:
        """Every body received, each checked against its signature as a receiver would."""
        return [Webhook(secret).verify(body, headers) for headers, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
def fast_retries(world: World) -> Database:
    settings = Settings(
        database_url=world.db.settings.database_url, webhook_backoff=0.01, webhook_max_attempts=3
    )
    return Database(settings, engine=world.db.engine)


def open_case(world: World) -> str:
    dana = world.agent("dana")
    case = services.create_case(
        world.db, dana, customer={"name": "Carla"}, subject="Hold", participants=["firstbank"]
    )
    services.add_note(world.db, dana, case.id, "Called the bank's dispute desk.")
    return case.id


def test_every_delivery_carries_a_standard_webhooks_signature_the_receiver_verifies(
    world: World, receiver: Receiver
) -> None:
    webhook = create_webhook(world.db, ADMIN, receiver.url, org_id="firstbank")
    case_id = open_case(world)
    with httpx.Client() as client:
        assert deliver_due(world.db, client) == {"delivered": 3}
    assert webhook.secret is not None
    events = receiver.events(webhook.secret)
    assert [(e["type"], e["data"]["seq"]) for e in events] == [
        ("case_created", 1),
        ("claimed", 2),
        ("note_added", 3),
    ]
    assert {e["data"]["case_id"] for e in events} == {case_id}
    headers = receiver.received[0][0]
    assert headers["webhook-id"].startswith("msg_")
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 43).verify(receiver.received[0][1], headers)


def test_a_receiver_can_check_each_events_hash_from_the_payload_alone(
    world: World, receiver: Receiver
) -> None:
    webhook = create_webhook(world.db, ADMIN, receiver.url, org_id="firstbank")
    with freeze_time("2026-05-01 09:00:00"):  # a whole second: no microseconds to show
        open_case(world)
    with httpx.Client() as client:
        deliver_due(world.db, client)
    assert webhook.secret is not None

    for event in (e["data"] for e in receiver.events(webhook.secret)):
        assert event["at"] == "2026-05-01T09:00:00.000000+00:00"  # as the hash spells it
        body = {k: event[k] for k in ("case_id", "seq", "type", "actor", "org_id", "at", "data")}
        body["prev_hash"] = event["prev_hash"]
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(canonical.encode()).hexdigest() == event["hash"]


def test_a_receiver_that_was_down_gets_every_event_in_order_once_it_is_back(
    world: World, receiver: Receiver, fast_retries: Database
) -> None:
    webhook = create_webhook(world.db, ADMIN, receiver.url, org_id="acme")
    cases = [open_case(world) for _ in range(3)]
    receiver.down = True
    with httpx.Client() as client:
        first = deliver_due(fast_retries, client)
        assert first == {"retrying": 3}  # one per case: later events wait for the earlier one
        receiver.down = False
        with freeze_time(now() + timedelta(seconds=1)):
            while deliver_due(fast_retries, client):
                pass
    assert webhook.secret is not None
    events = receiver.events(webhook.secret)
    assert len(events) == 9
    for case_id in cases:
        seqs = [e["data"]["seq"] for e in events if e["data"]["case_id"] == case_id]
        assert seqs == [1, 2, 3]


class Hanging:
    """A partner's endpoint that takes each POST and answers only once released."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.holding = threading.Event()
        hanging = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hanging.holding.set()
                hanging.released.wait(60)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server, self.url = serving(Handler)


def test_an_endpoint_that_hangs_holds_up_neither_other_subscribers_nor_the_timers(
    world: World, receiver: Receiver
) -> None:
    hanging = Hanging()
    settings = Settings(
        database_url=world.db.settings.database_url, webhook_timeout=60, claim_window=1
    )
    db = Database(settings, engine=world.db.engine)
    create_webhook(db, ADMIN, hanging.url, org_id="acme")
    create_webhook(db, ADMIN, receiver.url, org_id="firstbank")
    case_id = open_case(world)
    unclaimed = services.create_case(
        db, world.system("acme-crm"), customer={"name": "Omar"}, subject="Refund"
    ).id
    stop = threading.Event()
    running = threading.Thread(target=worker.run, args=(db, 0.05, stop))
    running.start()
    try:
        deadline = now() + timedelta(seconds=60)  # a guard: it is over in about a second
        while now() < deadline and not (
            len(receiver.received) == 3
            and queries.get_case(db, world.auditor(), unclaimed).state == "active"
        ):
            stop.wait(0.05)
        held = hanging.holding.is_set() and not hanging.released.is_set()
    finally:
        hanging.released.set()
        stop.set()
        running.join(30)
        hanging.server.shutdown()

    assert held  # Acme's endpoint was still holding its first delivery throughout
    assert [json.loads(body)["data"]["seq"] for _h, body in receiver.received] == [1, 2, 3]
    assert {json.loads(body)["data"]["case_id"] for _h, body in receiver.received} == {case_id}
    assert queries.get_case(db, world.auditor(), unclaimed).state == "active"  # escalated


def test_an_answer_whose_body_trickles_in_counts_by_its_status_alone(world: World) -> None:
    released = threading.Event()

    class Trickling(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(200)
            self.send_header("Content-Length", "20")
            self.end_headers()
            self.wfile.write(b"o")
            self.wfile.flush()
            released.wait(30)  # the other 19 bytes never come while the sender waits

        def log_message(self, *args: Any) -> None:
            pass

    server, url = serving(Trickling)
    settings = Settings(database_url=world.db.settings.database_url, webhook_timeout=1)
    db = Database(settings, engine=world.db.engine)
    create_webhook(db, ADMIN, url, org_id="acme", events=["case_created"])
    open_case(world)
    try:
        with httpx.Client() as client:
            outcomes = deliver_due(db, client)
    finally:
        released.set()
        server.shutdown()

    assert outcomes == {"delivered": 1}


def test_a_delivery_that_keeps_failing_is_marked_dead_after_its_last_try(
    world: World, receiver: Receiver, fast_retries: Database
) -> None:
    create_webhook(world.db, ADMIN, receiver.url, org_id="acme", events=["case_created"])
    open_case(world)
    receiver.down = True
    with httpx.Client() as client:
        for second in range(1, 4):
            with freeze_time(now() + timedelta(seconds=second)):
                deliver_due(fast_retries, client)
    with world.db.session() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
    assert (delivery.state, delivery.attempts, delivery.response_status) == ("dead", 3, 503)


def test_an_org_receives_nothing_of_cases_it_does_not_take_part_in(
    world: World, receiver: Receiver
) -> None:
    create_webhook(world.db, ADMIN, receiver.url, org_id="forge")
    open_case(world)
    with httpx.Client() as client:
        assert deliver_due(world.db, client) == {}
    assert receiver.received == []


def test_an_org_added_to_a_case_receives_its_events_from_then_on(
    world: World, receiver: Receiver
) -> None:
    webhook = create_webhook(world.db, ADMIN, receiver.url, org_id="forge")
    case_id = open_case(world)
    services.add_participant(world.db, world.agent("dana"), case_id, "forge", "They made the part")
    with httpx.Client() as client:
        deliver_due(world.db, client)
    assert webhook.secret is not None
    assert [e["type"] for e in receiver.events(webhook.secret)] == ["participant_added"]
    assert json.loads(receiver.received[0][1])["data"]["data"]["org_id"] == "forge"


@pytest.mark.parametrize(
    "url",
    ["http://[::1/hooks", "http://a..b/hooks", "https:///hooks", "http://acme.example:99999/h"],
)
def test_a_webhook_address_nothing_can_be_sent_to_is_refused(world: World, url: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_webhook(world.db, ADMIN, url, org_id="acme")
    assert refused.value.field == "url"


@pytest.mark.parametrize(
    "url", ["http://[::1]:8080/hooks", "https://bücher.example/hooks", "https://acme.example./h"]
)
def test_ipv6_international_and_fully_qualified_addresses_are_taken(world: World, url: str) -> None:
    assert create_webhook(world.db, ADMIN, url, org_id="acme").url == url


@pytest.mark.parametrize("url", ["http://[::1/hooks", "http://a..b/hooks"])
def test_a_stored_address_nothing_can_be_sent_to_fails_its_delivery_and_the_worker_goes_on(
    world: World, receiver: Receiver, fast_retries: Database, url: str
) -> None:
    bad = create_webhook(world.db, ADMIN, "https://placeholder.example/h", org_id="acme")
    good = create_webhook(world.db, ADMIN, receiver.url, org_id="acme", events=["case_created"])
    with world.db.session() as session:  # as a database written before addresses were checked
        session.get_one(WebhookSubscription, bad.id).url = url
        session.commit()
    open_case(world)
    with httpx.Client() as client:
        for second in range(1, 4):
            with freeze_time(now() + timedelta(seconds=second)):
                deliver_due(fast_retries, client)
    with world.db.session() as session:
        first = session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == bad.id)
            .order_by(WebhookDelivery.event_seq)
        ).first()
    assert first is not None
    assert (first.event_type, first.state, first.attempts) == ("case_created", "dead", 3)
    assert first.last_error
    assert [e["type"] for e in receiver.events(good.secret or "")] == ["case_created"]


def test_a_subscription_to_no_event_types_is_refused(world: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_webhook(world.db, ADMIN, "https://acme.example/h", org_id="acme", events=[])
    assert refused.value.field == "events"
