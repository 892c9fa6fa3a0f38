"""A customer the owner vouched for proves their presence from their own page (SPEC §12): in an
org that verifies it, that proof replaces the owner's word, and the handoff can be accepted."""

import re

from fastapi.testclient import TestClient

from handoff import services
from tests.e2e.conftest import auth, token
from tests.integration.world import ADMIN, World


def a_verified_bank(world: World) -> None:
    """North Bank verifies customers' presence; Nora is one of its reps."""
    services.create_org(
        world.db, ADMIN, "northbank", "North Bank", "bank", customer_presence="verified"
    )
    services.create_agent(world.db, ADMIN, "northbank", "nora", "Nora Lind", "rep")
    services.issue_credential(world.db, ADMIN, "agent", "nora", token("nora"))


def post(client: TestClient, who: str, path: str, body: object = None) -> dict:
    answer = client.post(path, json=body or {}, headers=auth(who))
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json())


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form"
    return found.group(1)


def signed_in(ui: TestClient, who: str) -> TestClient:
    """`ui`, signed in to the web UI as `who`."""
    page = ui.get("/ui/sign-in").text
    form = {"csrf_token": csrf_of(page), "token": token(who), "next": "/ui/"}
    assert ui.post("/ui/sign-in", data=form, follow_redirects=False).status_code == 303
    return ui


def test_the_customer_confirms_from_their_page_what_the_owner_said_and_the_bank_accepts(
    client: TestClient, world: World
) -> None:
    a_verified_bank(world)
    new = {"customer": {"name": "Carla"}, "subject": "Hold", "participants": ["northbank"]}
    case = post(client, "dana", "/v1/cases", new)
    path, link = f"/v1/cases/{case['id']}", case["customer_link"]
    ask = {"to_org": "northbank", "summary": "Order 5521 was cancelled; the hold is still on."}
    handoff = post(client, "dana", f"{path}/handoffs", ask)["id"]
    session = post(client, "dana", f"{path}/sessions", {"handoff_id": handoff})["id"]
    join = f"{path}/sessions/{session}/join"
    post(client, "dana", join, {"party": "owner", "agent_id": "dana"})
    post(client, "nora", join, {"party": "receiver", "agent_id": "nora"})
    post(client, "dana", join, {"party": "customer"})  # Dana's word: attested

    accept = f"{path}/handoffs/{handoff}/accept"
    refused = client.post(accept, json={}, headers=auth("nora"))
    assert refused.status_code == 409
    assert (refused.json()["code"], refused.json()["missing"]) == (
        "warm_session_required",
        ["customer"],
    )

    waiting = client.get(path, headers=auth("dana")).json()["session"]
    assert waiting["missing"] == ["customer"]  # the panel says so before anyone tries to accept
    assert waiting["waiting_for"][0]["customer_presence"] == "verified"
    panel = signed_in(TestClient(client.app), "dana").get(f"/ui/cases/{case['id']}").text
    assert "the customer, confirmed from their own page or by a partner system" in panel

    page = client.get(link)
    assert "Confirm that you are here" in page.text
    form = {"csrf_token": csrf_of(page.text), "session_id": session}
    confirmed = client.post(f"{link}/join", data=form, follow_redirects=False)
    assert confirmed.status_code == 303

    seen = client.get(path, headers=auth("dana")).json()
    customers = [p for p in seen["session"]["present"] if p["party"] == "customer"]
    assert [c["via"] for c in customers] == ["link"]  # one presence, now proven
    assert seen["session"]["missing"] == []
    events = client.get(f"{path}/events", headers=auth("dana")).json()["items"]
    joins = [e["data"] for e in events if e["type"] == "session_joined"]
    assert [(j["party"], j["via"]) for j in joins[-2:]] == [
        ("customer", "attested"),
        ("customer", "link"),
    ]
    page = client.get(link)
    assert "Confirm that you are here" not in page.text
    again = client.post(f"{link}/join", data={**form, "csrf_token": csrf_of(page.text)})
    assert "already present" in again.text

    accepted = client.post(accept, json={}, headers=auth("nora"))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["owner"]["agent_id"] == "nora"
    verify = client.get(f"{path}/events/verify", headers=auth("ada")).json()
    assert verify["valid"] is True
