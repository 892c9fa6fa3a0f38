"""Webhooks reach outside only: an address inside is refused when subscribing and when sending."""

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from handoff import services
from handoff.config import Settings
from handoff.delivery.worker import tick
from handoff.services.addresses import CheckedTransport, NotPublic, is_public
from handoff.services.subscriptions import create_webhook, webhook_deliveries
from handoff.store.db import Database
from tests.e2e.conftest import auth, issue_tokens
from tests.integration.world import ADMIN, World

INSIDE = [
    "http://127.0.0.1:5432/",
    "http://[::1]/",
    "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.1/",
    "http://2130706433/",
    "http://0.0.0.0/",
    "http://localhost:8000/hook",
    "http://192.168.1.20/",
    "http://[::ffff:127.0.0.1]/",
    "http://224.0.0.1/",
]


@pytest.fixture
def strict(world: World) -> Iterator[TestClient]:
    settings = Settings(database_url=world.db.settings.database_url, webhook_allow_private=False)
    db = Database(settings, world.db.engine)
    issue_tokens(db)
    with TestClient(create_app(db)) as client:
        yield client


@pytest.mark.parametrize("url", INSIDE)
def test_a_webhook_to_an_address_inside_is_refused_when_subscribing(
    strict: TestClient, url: str
) -> None:
    answer = strict.post("/v1/webhooks", json={"url": url}, headers=auth("acme-crm"))

    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_error"
    assert "url" in answer.text


def test_a_public_host_that_does_not_resolve_now_may_be_subscribed(strict: TestClient) -> None:
    answer = strict.post(
        "/v1/webhooks", json={"url": "https://acme.example/hooks"}, headers=auth("acme-crm")
    )

    assert answer.status_code == 201


def test_the_address_rules_tell_inside_from_outside() -> None:
    assert not any(is_public(a) for a in ("127.0.0.1", "10.1.2.3", "169.254.169.254", "::1"))
    assert is_public("93.184.216.34")
    assert is_public("2606:2800:220:1:248:1893:25c8:1946")


@pytest.mark.parametrize("url", INSIDE)
def test_the_worker_never_connects_to_an_address_inside(url: str) -> None:
    """Checked again when connecting: a name that resolved outside when subscribing and inside
    now is refused before any connection."""
    with (
        httpx.Client(transport=CheckedTransport(allow_private=False)) as client,
        pytest.raises(NotPublic),
    ):
        client.post(url, content=b"{}")


def test_a_delivery_that_cannot_connect_is_logged_as_could_not_connect_and_nothing_more(
    world: World,
) -> None:
    hook = create_webhook(world.db, ADMIN, "http://127.0.0.1:9/hooks", org_id="acme")
    services.add_note(world.db, world.agent("dana"), open_case(world), "Called the bank")
    strict = Database(
        Settings(database_url=world.db.settings.database_url, webhook_allow_private=False),
        world.db.engine,
    )

    tick(strict)

    tried = [d for d in webhook_deliveries(world.db, ADMIN, hook.id).items if d.attempts]
    assert tried  # the first of the case's events is tried first (in order per case)
    assert {(d.last_error, d.response_status) for d in tried} == {("could not connect", None)}


def open_case(world: World) -> str:
    dana = world.agent("dana")
    return services.create_case(world.db, dana, customer={"name": "C"}, subject="Hold").id
