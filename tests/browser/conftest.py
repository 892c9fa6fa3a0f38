"""The web UI over a real server: fixtures for page tests (TestClient) and browser tests.

Browser tests drive Debian's chromium with Playwright against uvicorn on 127.0.0.1, on a migrated
SQLite file. Without /usr/bin/chromium they are skipped locally; under CI they fail.
"""

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from api.ui import mount_ui
from handoff import services
from handoff.config import Settings
from handoff.store.db import Database
from handoff.store.migrate import upgrade
from tests.integration.world import ADMIN, AGENTS, World, build_world

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ROOT = Path(__file__).parents[2]
# Every run keeps its screenshots in test-artifacts/; the README's set in docs/screenshots/ is
# renewed only on request (HANDOFF_UPDATE_SCREENSHOTS=1 make test), so a test run leaves the
# committed files alone.
SHOTS = [ROOT / "test-artifacts" / "screenshots"]
if os.environ.get("HANDOFF_UPDATE_SCREENSHOTS") == "1":
    SHOTS.append(ROOT / "docs" / "screenshots")
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
# How long an action or an `expect` waits for the page before it fails: a guard against a hang
# on a busy machine, never a wait for something to happen (Playwright waits for the page itself).
PATIENCE_MS = 30_000
expect.set_options(timeout=PATIENCE_MS)


def token(agent_id: str) -> str:
    return f"tok-{agent_id}"


def issue_tokens(db: Database) -> None:
    for agent_id in AGENTS:
        services.issue_credential(db, ADMIN, "agent", agent_id, token(agent_id))


def ui_app(db: Database) -> FastAPI:
    app = FastAPI()
    mount_ui(app, db)
    return app


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


# Pages through TestClient, on every test database.


@pytest.fixture
def pages(world: World) -> Iterator[Callable[[str | None], TestClient]]:
    """A browser-like client per person: `pages("dana")` is signed in, `pages(None)` is not."""
    issue_tokens(world.db)
    app = ui_app(world.db)
    clients: list[TestClient] = []

    def open_as(agent_id: str | None) -> TestClient:
        client = TestClient(app)
        clients.append(client)
        if agent_id is not None:
            form = csrf_of(client.get("/ui/sign-in").text)
            answer = client.post("/ui/sign-in", data={"csrf_token": form, "token": token(agent_id)})
            assert answer.status_code == 200, answer.text
        return client

    yield open_as
    for client in clients:
        client.close()


# A real server and a real browser.


@dataclass(frozen=True)
class Site:
    url: str
    world: World


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    path = tmp_path_factory.mktemp("browser") / "handoff.db"
    upgrade(f"sqlite:///{path}")
    db = Database(Settings(database_url=f"sqlite:///{path}"))
    world = build_world(db)
    issue_tokens(db)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(ui_app(db), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + PATIENCE_MS / 1000
    while not server.started:  # polled: uvicorn.Server has no event to wait on
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield Site(f"http://127.0.0.1:{port}", world)
    server.should_exit = True
    thread.join(timeout=10)
    listener.close()
    db.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"CI runs the browser tests: {reason}")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def person(browser: Browser, site: Site) -> Iterator[Callable[..., Page]]:
    """A browser window of its own (own cookies) per person: `person()` or `person(PHONE)`."""
    contexts: list[BrowserContext] = []

    def open_window(viewport: ViewportSize = DESKTOP) -> Page:
        context = browser.new_context(viewport=viewport, base_url=site.url)
        context.set_default_timeout(PATIENCE_MS)
        contexts.append(context)
        return context.new_page()

    yield open_window
    for context in contexts:
        context.close()


def sign_in(page: Page, agent_id: str) -> None:
    """Sign in on the page the browser was sent to (the sign-in page remembers where it was)."""
    page.get_by_label("Access token").fill(token(agent_id))
    page.get_by_role("button", name="Sign in").click()


def screenshot(page: Page, name: str) -> None:
    """Into test-artifacts/screenshots/ (and docs/screenshots/ when renewing the README's)."""
    for folder in SHOTS:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=folder / f"{name}.png", full_page=True)
