"""What every address answers whatever its route (SPEC §14): HEAD wherever GET is, `nosniff` on
every answer, `Allow` on every 405, and pages (never problem+json) under the web UI's addresses."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route

from api import app as api_app
from api.app import create_app
from api.routes import streams
from api.ui import audit, cases, customer, sign_in
from api.ui import streams as ui_streams
from handoff import services
from handoff.domain.attachments import GivenFile
from handoff.services import queries
from handoff.services.attachments import attach
from handoff.services.subscriptions import create_webhook
from tests.e2e.conftest import auth, issue_tokens
from tests.integration.world import World

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PAGE_MODULES = (sign_in, ui_streams, cases, audit, customer)


def every_get_route(app: FastAPI) -> list[str]:
    """The path of every route that answers GET: the app's own (/openapi.json, /docs, the web
    UI's catch-all) and every router's."""
    routes = [r for r in app.routes if isinstance(r, Route)]
    for module in (*api_app.ROUTERS, streams, *PAGE_MODULES):
        routes += [r for r in module.router.routes if isinstance(r, APIRoute)]
    return sorted({r.path for r in routes if "GET" in (r.methods or ())})


@pytest.fixture
def app(world: World) -> FastAPI:
    issue_tokens(world.db)
    return create_app(world.db)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def ids(world: World) -> dict[str, str]:
    """An id for every path parameter, of things that exist."""
    db, dana, sam = world.db, world.agent("dana"), world.agent("sam")
    case = services.create_case(
        db, dana, customer={"name": "Omar"}, subject="Parcel", participants=["firstbank"]
    )
    request = services.create_request(db, dana, case.id, "firstbank", "Check the hold")
    handoff = services.propose_handoff(db, dana, case.id, "firstbank", "Bank owns it now")
    session = services.start_session(db, dana, case.id, handoff.id)
    attach(db, world.system("acme-crm"), case.id, [GivenFile("label.png", PNG)])
    seen = queries.get_case(db, dana, case.id)
    hook = create_webhook(db, sam, "https://acme.example/hooks")
    return {
        "case_id": case.id,
        "request_id": request.id,
        "handoff_id": handoff.id,
        "session_id": session.id,
        "attachment_id": seen.attachments[0].id,
        "webhook_id": hook.id,
        "link": str(seen.customer_link).removeprefix("/c/"),
        "org_id": "acme",
        "rest": "nowhere",
        "path": "ui.css",
        "action": "claim",
    }


def signed_in(client: TestClient, token: str) -> None:
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/ui/sign-in").text)
    assert csrf is not None
    form = {"csrf_token": csrf.group(1), "token": token, "next": "/ui/"}
    assert client.post("/ui/sign-in", data=form, follow_redirects=False).status_code == 303


def addresses(app: FastAPI, ids: dict[str, str]) -> list[str]:
    templates = [re.sub(r"\{(\w+):\w+\}", r"{\1}", path) for path in every_get_route(app)]
    return [path.format(**ids) for path in templates] + ["/ui/static/ui.css"]


def test_every_get_answers_head_with_the_same_status_and_headers_and_no_body(
    app: FastAPI, client: TestClient, ids: dict[str, str]
) -> None:
    signed_in(client, "tok-dana")
    addresses_seen = addresses(app, ids)
    assert len(addresses_seen) > 30
    for address in addresses_seen:
        head = client.head(address, headers=auth("dana"), follow_redirects=False)
        assert head.content == b"", address
        if address.endswith("/stream"):  # a stream's GET never ends; its HEAD ends at once
            assert head.status_code == 200, address
            assert head.headers["content-type"].startswith("text/event-stream"), address
            continue
        get = client.get(address, headers=auth("dana"), follow_redirects=False)
        assert (head.status_code, head.headers.get("content-type")) == (
            get.status_code,
            get.headers.get("content-type"),
        ), address
        assert head.headers.get("etag") == get.headers.get("etag"), address
        assert head.headers["x-content-type-options"] == "nosniff", address


def test_every_answer_says_nosniff_whatever_its_status(
    app: FastAPI, client: TestClient, ids: dict[str, str]
) -> None:
    answers = [
        client.get(a, headers=auth("dana")) for a in addresses(app, ids) if "stream" not in a
    ]
    answers += [
        client.get("/v1/nowhere"),
        client.get("/v1/cases"),  # 401
        client.delete("/v1/cases", headers=auth("dana")),  # 405
        client.post("/v1/cases", json={}, headers=auth("dana")),  # 422
        client.get("/ui/nowhere"),
        client.put("/c/some-link"),
        client.options("/v1/webhooks"),
    ]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff", answer.url


def test_every_405_names_every_method_the_address_takes(client: TestClient) -> None:
    for method, address, allowed in [
        ("OPTIONS", "/v1/credentials", "GET, HEAD, POST"),
        ("OPTIONS", "/v1/webhooks", "GET, HEAD, POST"),
        ("DELETE", "/v1/cases", "GET, HEAD, POST"),
        ("PUT", "/healthz", "GET, HEAD"),
        ("PATCH", "/ui/sign-in", "GET, HEAD, POST"),
        ("DELETE", "/c/some-link", "GET, HEAD"),
    ]:
        answer = client.request(method, address, headers=auth("root"))
        assert answer.status_code == 405, address
        assert answer.headers["allow"] == allowed, address


@pytest.fixture
def failing(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    """Addresses that fail as nothing real should: a UI form taking a number, and a crash."""

    def crash(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    def numbered(request: Request, number: int) -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/ui/numbered/{number}", numbered, methods=["POST"])
    monkeypatch.setattr(customer, "status_page", crash)
    return app


def is_page_with_a_way_back(answer: Any, status: int, back: str) -> bool:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html"), answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"
    return f'<a href="{back}">' in answer.text


def test_the_web_ui_answers_every_method_and_status_in_pages(
    failing: FastAPI, client: TestClient
) -> None:
    for method, address, status, back in [
        ("GET", "/ui/nowhere", 404, "/ui/"),
        ("GET", "/c/some-link/no/where", 404, "/c/some-link"),
        ("PUT", "/c/some-link/reply", 405, "/c/some-link"),  # a form address answers GET too
        ("POST", "/ui/queue", 405, "/ui/"),
        ("DELETE", "/c/some-link", 405, "/c/some-link"),
        ("POST", "/ui/numbered/seven", 422, "/ui/"),
        ("POST", "/ui/numbered/7", 500, "/ui/"),
        ("GET", "/c/some-link", 500, "/c/some-link"),
    ]:
        answer = client.request(method, address)
        assert is_page_with_a_way_back(answer, status, back), (method, address)
    assert client.request("DELETE", "/c/some-link").headers["allow"] == "GET, HEAD"


def test_the_api_keeps_answering_problems(client: TestClient) -> None:
    for answer, status in [
        (client.get("/v1/nowhere"), 404),
        (client.put("/v1/cases", headers=auth("dana")), 405),
        (client.get("/v1/cases?limit=0", headers=auth("dana")), 422),
    ]:
        assert answer.status_code == status
        assert answer.headers["content-type"] == "application/problem+json"
