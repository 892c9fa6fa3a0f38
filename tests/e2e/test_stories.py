"""The three stories of the spec, over HTTP only, each step by the person or system doing it."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from freezegun import freeze_time

from tests.e2e.conftest import auth


def act(client: TestClient, who: str, path: str, body: Any = None, status: int = 200) -> Any:
    response = client.post(path, json=body if body is not None else {}, headers=auth(who))
    assert response.status_code == status, response.text
    return response.json()


def refused(client: TestClient, who: str, path: str, body: Any, code: str) -> dict[str, Any]:
    answer = act(client, who, path, body, status=409)
    assert answer["code"] == code
    assert answer["status"] == 409
    assert answer["type"]
    assert answer["title"]
    assert answer["detail"]
    return answer


def events(client: TestClient, case_id: str) -> list[str]:
    page = client.get(f"/v1/cases/{case_id}/events?limit=200", headers=auth("ada")).json()
    return [e["type"] for e in page["items"]]


def test_merchant_and_bank_release_a_pending_charge_without_sending_the_customer_away(
    client: TestClient,
) -> None:
    case = act(
        client,
        "acme-crm",
        "/v1/cases",
        {
            "customer": {"name": "Carla Diaz", "email": "carla@example.com"},
            "subject": "Order never arrived; pending charge still on my card",
            "description": "Order 5521 was cancelled by the shop but the card shows a hold.",
            "participants": ["firstbank"],
        },
        status=201,
    )
    assert case["state"] == "unclaimed"
    assert case["owner"] == {"org_id": "acme", "agent_id": None}
    path = f"/v1/cases/{case['id']}"

    case = act(client, "dana", f"{path}/claim")
    assert (case["state"], case["owner"]["agent_id"]) == ("active", "dana")

    request = act(
        client,
        "dana",
        f"{path}/requests",
        {"to_org": "firstbank", "action": "Release the authorization hold"},
        status=201,
    )
    assert (request["state"], request["to_org"], request["case_id"]) == (
        "open",
        "firstbank",
        case["id"],
    )

    resolution = {"code": "credited", "summary": "The hold is released."}
    answer = refused(client, "dana", f"{path}/resolution", resolution, "open_requests")
    assert [r["to_org"] for r in answer["requests"]] == ["firstbank"]

    act(client, "ben", f"{path}/requests/{request['id']}/acknowledge")
    case = act(
        client,
        "firstbank-disputes",
        f"{path}/requests/{request['id']}/complete",
        {"note": "Authorization released."},
    )
    # Settled, the request leaves the case's open ones and is counted (SPEC §14), and listed.
    assert (case["requests"], case["request_counts"]["done"]) == ([], 1)
    listed = client.get(f"{path}/requests", headers=auth("dana")).json()["items"]
    assert [(r["id"], r["state"]) for r in listed] == [(request["id"], "done")]

    send_away = {"code": "credited", "summary": "Nothing more we can do, please contact your bank."}
    answer = refused(client, "dana", f"{path}/resolution", send_away, "send_away_language")
    assert answer["phrase"].lower() == "please contact your bank"

    case = act(
        client,
        "dana",
        f"{path}/resolution",
        {"code": "credited", "summary": "We asked First Bank to release the hold; it is released."},
    )
    assert case["state"] == "resolution_proposed"

    # The customer confirmed on the phone; Acme's CRM records it on their word.
    case = act(client, "acme-crm", f"{path}/resolution/confirm")
    assert case["state"] == "closed"
    assert events(client, case["id"]) == [
        "case_created",
        "claimed",
        "request_created",
        "refused",
        "request_acknowledged",
        "request_completed",
        "refused",
        "resolution_proposed",
        "resolution_confirmed",
    ]
    verification = client.get(f"{path}/events/verify", headers=auth("ada")).json()
    assert verification == {"valid": True, "events": 9, "first_broken_seq": None}


def test_vendor_hands_off_to_manufacturer_warm_and_the_case_cannot_bounce_back(
    client: TestClient,
) -> None:
    case = act(
        client,
        "vic",
        "/v1/cases",
        {
            "customer": {"name": "Omar Haddad", "phone": "+1 555 0100"},
            "subject": "Vending machine missing its coin mechanism",
            "participants": ["forge"],
        },
        status=201,
    )
    assert (case["state"], case["owner"]["agent_id"]) == ("active", "vic")
    path = f"/v1/cases/{case['id']}"
    summary = "Machine VM-200 shipped without the coin mechanism; customer needs the part."
    handoff = act(client, "vic", f"{path}/handoffs", {"to_org": "forge", "summary": summary}, 201)
    assert (handoff["state"], handoff["to_org"]) == ("proposed", "forge")

    session = act(client, "vic", f"{path}/sessions", {"handoff_id": handoff["id"]}, status=201)
    assert (session["state"], session["handoff_id"]) == ("live", handoff["id"])
    sessions = f"{path}/sessions/{session['id']}"
    act(client, "vic", f"{sessions}/join", {"party": "owner", "agent_id": "vic"})
    waiting = act(client, "mia", f"{sessions}/join", {"party": "receiver", "agent_id": "mia"})
    assert waiting["session"]["missing"] == ["customer"]
    assert [w["party"] for w in waiting["session"]["waiting_for"]] == ["customer"]

    accept = f"{path}/handoffs/{handoff['id']}/accept"
    answer = refused(client, "mia", accept, {}, "warm_session_required")
    assert answer["missing"] == ["customer"]
    assert answer["waiting_for"] == [{"party": "customer"}]

    case = act(client, "vendo-phone", f"{sessions}/join", {"party": "customer"})
    assert {p["party"] for p in case["session"]["present"]} == {"owner", "receiver", "customer"}
    case = act(client, "mia", accept)
    assert case["owner"] == {"org_id": "forge", "agent_id": "mia"}
    assert {"org_id": "vendo", "role": "participant"} in case["participants"]

    still_seen = client.get(path, headers=auth("vic"))
    assert still_seen.status_code == 200
    assert still_seen.json()["owner"]["org_id"] == "forge"

    back = {"to_org": "vendo", "summary": "Vendo should refund instead."}
    answer = refused(client, "mia", f"{path}/handoffs", back, "ping_pong")
    assert answer["org_id"] == "vendo"
    overridden = back | {"override_reason": "Vendo agreed to refund; the part is discontinued."}
    handoff = act(client, "max", f"{path}/handoffs", overridden, status=201)
    assert handoff["override_reason"] == overridden["override_reason"]


def test_dealer_waits_for_a_photo_resolves_twice_and_cannot_reopen_after_the_window(
    client: TestClient,
) -> None:
    case = act(
        client,
        "dora",
        "/v1/cases",
        {
            "customer": {"name": "Lena Park"},
            "subject": "Second-hand thermostat shows E4",
            "participants": ["thermo"],
        },
        status=201,
    )
    path = f"/v1/cases/{case['id']}"
    case = act(
        client, "dora", f"{path}/await-customer", {"needed": "photo of the thermostat label"}
    )
    assert case["state"] == "awaiting_customer"
    case = act(client, "dora", f"{path}/customer-responded", {"note": "Photo received: TC-40."})
    assert case["state"] == "active"

    request = act(
        client, "dora", f"{path}/requests", {"to_org": "thermo", "action": "Ship a TC-40"}, 201
    )
    act(client, "tom", f"{path}/requests/{request['id']}/complete", {"note": "Unit shipped."})
    replaced = {"code": "replaced", "summary": "ThermoCo shipped you a new TC-40 at our request."}
    case = act(client, "dora", f"{path}/resolution", replaced)
    assert case["state"] == "resolution_proposed"

    case = act(client, "dora", f"{path}/resolution/reject", {"reason": "still broken"})
    assert (case["state"], case["owner"]) == ("active", {"org_id": "dealer", "agent_id": "dora"})

    case = act(client, "dora", f"{path}/resolution", replaced)
    case = act(client, "dora", f"{path}/resolution/confirm")
    assert case["state"] == "closed"

    with freeze_time(datetime.now(UTC) + timedelta(days=31), real_asyncio=True):
        answer = refused(client, "dora", f"{path}/reopen", {"reason": "E4 again"}, "window_passed")
    assert "reopen_until" in answer


def test_an_org_finds_the_cases_waiting_on_it_until_it_has_answered(client: TestClient) -> None:
    def waiting_on_firstbank() -> list[str]:
        page = client.get("/v1/cases?waiting_on=firstbank", headers=auth("ben")).json()
        return [c["id"] for c in page["items"]]

    new = {"customer": {"name": "Carla"}, "subject": "Hold", "participants": ["firstbank"]}
    asked = act(client, "dana", "/v1/cases", new, status=201)["id"]
    handed = act(client, "dana", "/v1/cases", new, status=201)["id"]
    act(client, "dana", "/v1/cases", new, status=201)  # nothing asked of the bank
    request = act(
        client, "dana", f"/v1/cases/{asked}/requests", {"to_org": "firstbank", "action": "Release"},
        status=201,
    )  # fmt: skip
    handoff = {"to_org": "firstbank", "summary": "The bank must re-issue the card."}
    act(client, "dana", f"/v1/cases/{handed}/handoffs", handoff, status=201)

    both = waiting_on_firstbank()
    act(client, "ben", f"/v1/cases/{asked}/requests/{request['id']}/complete", {"note": "Done."})
    one = waiting_on_firstbank()

    assert both == [asked, handed]
    assert one == [handed]
