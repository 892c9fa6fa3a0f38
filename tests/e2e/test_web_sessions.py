"""Web UI sessions (SPEC §14): every page reads the signed-in credential as it is now, a session
ends 12 hours after signing in however it is used, a signed-out cookie never comes back, and the
cookie is Secure when the server is reached over https."""

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from freezegun import freeze_time

from api.app import create_app
from handoff import demo
from handoff.config import Settings
from handoff.delivery import worker
from handoff.seed import seed
from handoff.store.db import Database
from tests.e2e.conftest import auth, issue_tokens, token
from tests.integration.world import World, build_world

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)

Browser = Callable[[str], TestClient]


@pytest.fixture
def browser(client: TestClient) -> Iterator[Browser]:
    """A browser of its own (own cookies) per person, signed in with their token."""
    opened: list[TestClient] = []

    def signed_in(agent_id: str) -> TestClient:
        page = TestClient(client.app)
        opened.append(page)
        sign_in(page, token(agent_id))
        return page

    yield signed_in
    for page in opened:
        page.close()


def csrf_of(html: str) -> str:
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def sign_in(page: TestClient, with_token: str) -> None:
    form = {"csrf_token": csrf_of(page.get("/ui/sign-in").text), "token": with_token}
    answer = page.post("/ui/sign-in", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def is_signed_in(page: TestClient, path: str = "/ui/mine") -> bool:
    answer = page.get(path, follow_redirects=False)
    assert answer.status_code in (200, 303), answer.text
    return answer.status_code == 200


def new_case(client: TestClient, participants: list[str]) -> str:
    body = {"customer": {"name": "Carla"}, "subject": "Charge", "participants": participants}
    answer = client.post("/v1/cases", json=body, headers=auth("acme-crm"))
    assert answer.status_code == 201, answer.text
    case_id: str = answer.json()["id"]
    return case_id


def exported_cases(page: TestClient) -> set[str]:
    answer = page.get("/ui/audit/export?format=ndjson")
    assert answer.status_code == 200, answer.text
    return {json.loads(line)["case_id"] for line in answer.text.splitlines()}


def reseed_dave(db: Database, role: str, orgs: list[str] | None) -> None:
    """`handoff seed` with Dave in Acme as `role`, his token limited to `orgs`."""
    name, kind = demo.ORGS["acme"]
    dave = {"id": "dave", "name": "Dave Kim", "role": role, "token": token("dave"), "orgs": orgs}
    seed(db, {"orgs": [{"id": "acme", "name": name, "kind": kind, "agents": [dave]}]})


def test_a_rep_reseeded_as_a_scoped_auditor_sees_only_that_scope_on_the_next_page(
    client: TestClient, world: World, browser: Browser
) -> None:
    acme_only = new_case(client, [])
    with_the_bank = new_case(client, ["firstbank"])
    dave = browser("dave")
    assert is_signed_in(dave, "/ui/queue")
    assert dave.get("/ui/audit").status_code == 403  # a rep: no audit pages

    reseed_dave(world.db, "auditor", ["firstbank"])

    assert exported_cases(dave) == {with_the_bank}
    by_api = client.get("/v1/audit/events", headers=auth("dave"))
    assert {e["case_id"] for e in by_api.json()["items"]} == {with_the_bank}
    assert dave.get(f"/ui/audit/cases/{with_the_bank}").status_code == 200
    assert dave.get(f"/ui/audit/cases/{acme_only}").status_code == 404


def test_an_auditors_scope_narrowed_under_a_live_session_holds_on_the_next_page(
    client: TestClient, world: World, browser: Browser
) -> None:
    acme_only = new_case(client, [])
    with_the_bank = new_case(client, ["firstbank"])
    reseed_dave(world.db, "auditor", None)
    dave = browser("dave")
    history_link = f'href="/ui/audit/cases/{acme_only}"'
    assert exported_cases(dave) == {acme_only, with_the_bank}
    assert history_link in dave.get("/ui/audit", params={"case": acme_only}).text

    reseed_dave(world.db, "auditor", ["firstbank"])

    assert exported_cases(dave) == {with_the_bank}
    assert history_link not in dave.get("/ui/audit", params={"case": acme_only}).text


def test_an_auditor_made_a_rep_again_loses_the_audit_pages_at_once(
    client: TestClient, world: World, browser: Browser
) -> None:
    reseed_dave(world.db, "auditor", None)
    dave = browser("dave")
    assert dave.get("/ui/audit").status_code == 200

    reseed_dave(world.db, "rep", None)

    assert dave.get("/ui/audit").status_code == 403
    assert is_signed_in(dave, "/ui/queue")


def test_revoking_the_token_signs_its_sessions_out_and_leaves_others_signed_in(
    client: TestClient, browser: Browser
) -> None:
    issued = client.post(
        "/v1/credentials", json={"kind": "agent", "id": "dave"}, headers=auth("root")
    )
    dave_by_new_token = TestClient(client.app)
    sign_in(dave_by_new_token, issued.json()["token"])
    dave, dana = browser("dave"), browser("dana")

    revoked = client.post(
        f"/v1/credentials/{issued.json()['id']}/revoke", json={}, headers=auth("root")
    )

    assert revoked.status_code == 200
    assert not is_signed_in(dave_by_new_token)
    assert is_signed_in(dave)  # signed in with his other token
    assert is_signed_in(dana)
    dave_by_new_token.close()


def test_deactivating_an_agent_signs_out_every_session_of_theirs(
    client: TestClient, browser: Browser
) -> None:
    first, second, dana = browser("dave"), browser("dave"), browser("dana")

    gone = client.post("/v1/orgs/acme/agents/dave/deactivate", json={}, headers=auth("root"))

    assert gone.status_code == 200
    assert not is_signed_in(first)
    assert not is_signed_in(second)
    assert is_signed_in(dana)


def add_note(page: TestClient, case_id: str) -> None:
    """A note from the case page: the answer's notice renews the cookie (it is signed anew)."""
    form = {"csrf_token": csrf_of(page.get(f"/ui/cases/{case_id}").text), "text": "Still on it."}
    answer = page.post(f"/ui/cases/{case_id}/add_note", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert "handoff_session=" in answer.headers["set-cookie"]


def test_a_session_used_every_hour_still_ends_twelve_hours_after_signing_in(
    client: TestClient, browser: Browser
) -> None:
    with freeze_time(T0):
        case_id = new_case(client, [])
        dana = browser("dana")
    for hours in range(1, 12):
        with freeze_time(T0 + hours * HOUR):
            add_note(dana, case_id)
            assert is_signed_in(dana)
    with freeze_time(T0 + 12 * HOUR - SECOND):
        add_note(dana, case_id)

    with freeze_time(T0 + 12 * HOUR):
        assert not is_signed_in(dana)
        answer = dana.get("/ui/mine", follow_redirects=False)
        assert answer.headers["location"].startswith("/ui/sign-in")
        sign_in(dana, token("dana"))  # a new session, twelve hours from now
        assert is_signed_in(dana)


def test_a_copy_of_a_signed_out_cookie_never_comes_back_even_once_its_record_is_forgotten(
    world: World, browser: Browser
) -> None:
    with freeze_time(T0):
        dana = browser("dana")
        copied = dana.cookies.get("handoff_session")
    assert copied is not None
    thief = TestClient(dana.app)
    thief.cookies.set("handoff_session", copied)
    with freeze_time(T0 + HOUR):
        assert is_signed_in(thief)
        form = {"csrf_token": csrf_of(dana.get("/ui/mine").text)}
        assert dana.post("/ui/sign-out", data=form).url.path == "/ui/sign-in"
        assert not is_signed_in(thief)

    after_the_record = T0 + HOUR + 12 * HOUR + SECOND
    with freeze_time(after_the_record):
        assert worker.tick(world.db, after_the_record)["ui_sessions_forgotten"] == 1
        thief.cookies.set("handoff_session", copied)
        assert not is_signed_in(thief)
    thief.close()


@pytest.mark.parametrize(
    ("public_url", "secure"),
    [("https://handoff.example.com", True), ("http://127.0.0.1:8000", False), (None, False)],
)
def test_the_session_cookie_is_secure_when_the_server_is_reached_over_https(
    db_url: str, public_url: str | None, secure: bool
) -> None:
    db = Database(Settings(database_url=db_url, public_url=public_url))
    build_world(db)
    issue_tokens(db)
    with TestClient(create_app(db)) as page:
        form = {"csrf_token": csrf_of(page.get("/ui/sign-in").text), "token": token("dana")}
        answer = page.post("/ui/sign-in", data=form, follow_redirects=False)
    db.dispose()
    flags = [flag.strip().lower() for flag in answer.headers["set-cookie"].split(";")]
    assert ("secure" in flags) is secure
    assert "httponly" in flags
    assert "samesite=lax" in flags
