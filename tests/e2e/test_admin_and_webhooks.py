"""Set-up over HTTP by an admin, and webhook subscriptions with their delivery log."""

from typing import Any

import httpx
from fastapi.testclient import TestClient

from handoff.config import Settings
from handoff.delivery import worker
from handoff.store.db import Database
from tests.e2e.conftest import auth
from tests.integration.world import World


def post(client: TestClient, who: str, path: str, body: object, status: int = 201) -> Any:
    answer = client.post(path, json=body, headers=auth(who))
    assert answer.status_code == status, answer.text
    return answer.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_admin_sets_up_an_org_its_people_and_a_partner_system(client: TestClient) -> None:
    org = post(client, "root", "/v1/orgs", {"id": "parcel", "name": "Parcel Co", "kind": "carrier"})
    assert (org["id"], org["kind"], org["windows"]) == ("parcel", "carrier", None)
    agent = post(
        client, "root", "/v1/orgs/parcel/agents", {"id": "pia", "name": "Pia", "role": "supervisor"}
    )
    assert (agent["org_id"], agent["active"]) == ("parcel", True)

    issued = post(client, "root", "/v1/credentials", {"kind": "agent", "id": "pia"})
    assert issued["token"].startswith("hot_")
    assert issued["principal_id"] == "pia"
    system = post(
        client,
        "root",
        "/v1/credentials",
        {"kind": "system", "id": "parcel-crm", "org_id": "parcel"},
    )
    new = {"customer": {"name": "Ann"}, "subject": "Lost parcel"}
    case = client.post("/v1/cases", json=new, headers=bearer(system["token"])).json()
    assert (case["state"], case["owner"]["org_id"]) == ("unclaimed", "parcel")
    claimed = client.post(f"/v1/cases/{case['id']}/claim", json={}, headers=bearer(issued["token"]))
    assert claimed.json()["owner"]["agent_id"] == "pia"

    again = post(client, "root", "/v1/orgs", {"id": "parcel", "name": "P", "kind": "carrier"}, 409)
    assert again["code"] == "already_exists"
    wrong_org = {"kind": "system", "id": "parcel-crm", "org_id": "acme"}
    assert post(client, "root", "/v1/credentials", wrong_org, 422)["errors"][0]["field"] == "org_id"
    unknown = post(client, "root", "/v1/credentials", {"kind": "agent", "id": "nobody"}, 404)
    assert unknown["code"] == "not_found"


def test_deactivating_an_agent_hands_their_cases_to_the_supervisor(client: TestClient) -> None:
    case = post(client, "dana", "/v1/cases", {"customer": {"name": "A"}, "subject": "S"})
    agent = post(client, "root", "/v1/orgs/acme/agents/dana/deactivate", {}, 200)
    assert agent["active"] is False
    assert agent["deactivated_at"]
    assert client.get("/v1/cases", headers=auth("dana")).status_code == 401
    moved = client.get(f"/v1/cases/{case['id']}", headers=auth("sam")).json()
    assert moved["owner"] == {"org_id": "acme", "agent_id": "sam"}
    elsewhere = post(client, "root", "/v1/orgs/vendo/agents/dave/deactivate", {}, 404)
    assert elsewhere["code"] == "not_found"


def test_a_revoked_token_stops_working_at_once_and_revoking_again_changes_nothing(
    client: TestClient,
) -> None:
    issued = post(client, "root", "/v1/credentials", {"kind": "agent", "id": "dana"})
    assert client.get("/v1/cases", headers=bearer(issued["token"])).status_code == 200

    revoked = post(client, "root", f"/v1/credentials/{issued['id']}/revoke", {}, status=200)
    again = post(client, "root", f"/v1/credentials/{issued['id']}/revoke", {}, status=200)

    assert (revoked["principal_id"], revoked["revoked_at"] is not None) == ("dana", True)
    assert again == revoked
    assert client.get("/v1/cases", headers=bearer(issued["token"])).status_code == 401
    assert client.get("/v1/cases", headers=auth("dana")).status_code == 200  # her other token


def test_an_admin_finds_a_persons_credentials_without_their_tokens(client: TestClient) -> None:
    issued = post(client, "root", "/v1/credentials", {"kind": "agent", "id": "dana"})

    listed = client.get("/v1/credentials?principal_id=dana", headers=auth("root")).json()

    assert [c["principal_id"] for c in listed["items"]] == ["dana", "dana"]
    assert issued["id"] in [c["id"] for c in listed["items"]]
    assert all("token" not in c and c["revoked_at"] is None for c in listed["items"])


def test_only_an_admin_sees_or_revokes_credentials(client: TestClient) -> None:
    issued = post(client, "root", "/v1/credentials", {"kind": "agent", "id": "dana"})

    assert client.get("/v1/credentials", headers=auth("sam")).status_code == 403
    refused = client.post(f"/v1/credentials/{issued['id']}/revoke", json={}, headers=auth("sam"))
    assert refused.status_code == 403
    unknown = client.post("/v1/credentials/nope/revoke", json={}, headers=auth("root"))
    assert unknown.status_code == 404


def test_a_web_session_signed_in_with_a_token_ends_when_the_token_is_revoked(
    client: TestClient,
) -> None:
    issued = post(client, "root", "/v1/credentials", {"kind": "agent", "id": "dana"})
    sign_in_page = client.get("/ui/sign-in").text
    csrf = sign_in_page.split('name="csrf_token" value="')[1].split('"')[0]
    signed_in = client.post(
        "/ui/sign-in",
        data={"csrf_token": csrf, "token": issued["token"], "next": "/ui/"},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    assert client.get("/ui/mine", follow_redirects=False).status_code == 200

    post(client, "root", f"/v1/credentials/{issued['id']}/revoke", {}, status=200)

    after = client.get("/ui/mine", follow_redirects=False)
    assert after.status_code == 303
    assert after.headers["location"].startswith("/ui/sign-in")


def test_a_webhook_secret_is_shown_once_and_deliveries_are_listed(
    client: TestClient, world: World
) -> None:
    hook = post(client, "acme-crm", "/v1/webhooks", {"url": "https://acme.example/hooks"})
    assert hook["secret"].startswith("whsec_")
    assert hook["org_id"] == "acme"
    deliveries = f"/v1/webhooks/{hook['id']}/deliveries"
    assert client.get(deliveries, headers=auth("sam")).json() == {"items": [], "next_cursor": None}

    post(client, "dana", "/v1/cases", {"customer": {"name": "A"}, "subject": "S"})
    received = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request.headers["webhook-id"])
        return httpx.Response(204)

    with httpx.Client(transport=httpx.MockTransport(receiver)) as http:
        worker.tick(world.db, client=http)
    first = client.get(deliveries, params={"limit": 1}, headers=auth("root")).json()
    assert [d["event_type"] for d in first["items"]] == ["case_created"]
    assert first["items"][0]["state"] == "delivered"
    assert first["items"][0]["id"] == received[0]
    rest = client.get(
        deliveries, params={"cursor": first["next_cursor"]}, headers=auth("acme-crm")
    ).json()
    assert [d["event_type"] for d in rest["items"]] == ["claimed"]
    assert rest["next_cursor"] is None
    assert client.get(deliveries, headers=auth("bea")).status_code == 404


def test_a_webhook_for_an_event_type_that_does_not_exist_is_refused(client: TestClient) -> None:
    typo = {"url": "https://acme.example/hooks", "events": ["case_created", "case_closd"]}
    answer = client.post("/v1/webhooks", json=typo, headers=auth("acme-crm"))
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "validation_error"
    assert "case_closd" in answer.json()["detail"]
    known = {"url": "https://acme.example/hooks", "events": ["resolution_confirmed", "refused"]}
    assert post(client, "acme-crm", "/v1/webhooks", known)["events"] == [
        "refused",
        "resolution_confirmed",
    ]


def test_a_webhook_for_no_event_types_at_all_is_refused_rather_than_sent_everything(
    client: TestClient,
) -> None:
    nothing = {"url": "https://acme.example/hooks", "events": []}
    answer = client.post("/v1/webhooks", json=nothing, headers=auth("acme-crm"))
    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_error"
    assert [e["field"] for e in answer.json()["errors"]] == ["events"]


def test_a_webhook_address_may_spell_its_scheme_in_capitals(client: TestClient) -> None:
    hook = post(client, "acme-crm", "/v1/webhooks", {"url": "HTTPS://acme.example/hooks"})
    assert hook["url"] == "HTTPS://acme.example/hooks"


def test_an_org_lists_its_webhooks_without_their_secrets(client: TestClient) -> None:
    acme = post(client, "sam", "/v1/webhooks", {"url": "https://acme.example/hooks"})
    bank = post(
        client, "root", "/v1/webhooks", {"url": "https://bank.example/h", "org_id": "firstbank"}
    )

    def ids(who: str) -> list[str]:
        answer = client.get("/v1/webhooks", headers=auth(who))
        assert answer.status_code == 200, answer.text
        assert all(w["secret"] is None for w in answer.json()["items"])
        return [w["id"] for w in answer.json()["items"]]

    assert ids("sam") == ids("acme-crm") == [acme["id"]]
    assert ids("root") == [acme["id"], bank["id"]]
    assert client.get("/v1/webhooks", headers=auth("dana")).status_code == 403


def test_a_deactivated_webhook_gets_nothing_more(client: TestClient, world: World) -> None:
    hook = post(client, "sam", "/v1/webhooks", {"url": "https://acme.example/hooks"})
    path = f"/v1/webhooks/{hook['id']}"
    assert client.post(f"{path}/deactivate", json={}, headers=auth("bea")).status_code == 404

    stopped = post(client, "sam", f"{path}/deactivate", {}, 200)
    post(client, "dana", "/v1/cases", {"customer": {"name": "A"}, "subject": "S"})
    sent: list[str] = []
    with httpx.Client(
        transport=httpx.MockTransport(lambda r: sent.append("x") or httpx.Response(204))
    ) as http:
        worker.tick(world.db, client=http)

    assert stopped["active"] is False
    assert client.get(f"{path}/deliveries", headers=auth("sam")).json()["items"] == []
    assert sent == []


def test_a_dead_delivery_is_sent_again_on_request_with_the_same_webhook_id(
    client: TestClient, world: World
) -> None:
    hook = post(
        client,
        "sam",
        "/v1/webhooks",
        {"url": "https://acme.example/hooks", "events": ["case_created"]},
    )
    post(client, "dana", "/v1/cases", {"customer": {"name": "A"}, "subject": "S"})
    once = Database(
        Settings(database_url=world.db.settings.database_url, webhook_max_attempts=1),
        engine=world.db.engine,
    )
    seen: list[str] = []

    def partner(status: int) -> httpx.Client:
        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request.headers["webhook-id"])
            return httpx.Response(status)

        return httpx.Client(transport=httpx.MockTransport(answer))

    with partner(500) as down:
        worker.tick(once, client=down)
    deliveries = f"/v1/webhooks/{hook['id']}/deliveries"
    (dead,) = client.get(deliveries, headers=auth("sam")).json()["items"]
    again = post(client, "sam", f"{deliveries}/{dead['id']}/redeliver", {}, 200)
    with partner(204) as up:
        worker.tick(once, client=up)
    (delivered,) = client.get(deliveries, headers=auth("sam")).json()["items"]
    twice = client.post(f"{deliveries}/{dead['id']}/redeliver", json={}, headers=auth("sam"))

    assert dead["state"] == "dead"
    assert (again["state"], again["attempts"]) == ("pending", 0)
    assert delivered["state"] == "delivered"
    assert seen == [dead["id"], dead["id"]]
    assert (twice.status_code, twice.json()["code"]) == (409, "invalid_transition")
