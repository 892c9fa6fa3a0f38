"""Who may do what over HTTP (SPEC §7): every endpoint against every kind of principal.

The case is Acme's (owner agent dana), with First Bank taking part. A case the caller may not see
answers 404, never 403; what it may see but not do answers 403.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.conftest import auth

# rep & owner agent, rep, supervisor, partner system (all Acme); rep and partner system of the
# participant org; auditor; admin; rep of an org not taking part; no token; an unknown token.
BANK_SYSTEM = "firstbank-disputes"
PRINCIPALS = (
    "dana", "dave", "sam", "acme-crm", "ben", BANK_SYSTEM, "ada", "root", "vic", None, "bad",
)  # fmt: skip
SEES_CASE = frozenset({"dana", "dave", "sam", "acme-crm", "ben", BANK_SYSTEM, "ada"})


def headers(who: str | None) -> dict[str, str]:
    return {} if who is None else auth(who)


def post(client: TestClient, who: str, path: str, body: Any = None) -> Any:
    response = client.post(path, json=body or {}, headers=auth(who))
    assert response.status_code in (200, 201), response.text
    return response.json()


# Cases in the states each endpoint needs; each returns the case's path and the ids it made.
def unclaimed(c: TestClient) -> dict[str, str]:
    body = {
        "customer": {"name": "Carla"},
        "subject": "Pending charge",
        "participants": ["firstbank"],
    }
    case = post(c, "acme-crm", "/v1/cases", body)
    return {"case": f"/v1/cases/{case['id']}"}


def active(c: TestClient) -> dict[str, str]:
    ids = unclaimed(c)
    post(c, "dana", f"{ids['case']}/claim")
    return ids


def awaiting(c: TestClient) -> dict[str, str]:
    ids = active(c)
    post(c, "dana", f"{ids['case']}/await-customer", {"needed": "a photo"})
    return ids


def requested(c: TestClient) -> dict[str, str]:
    ids = active(c)
    request = post(c, "dana", f"{ids['case']}/requests", {"to_org": "firstbank", "action": "Act"})
    return ids | {"request": f"{ids['case']}/requests/{request['id']}"}


def handed_off(c: TestClient) -> dict[str, str]:
    ids = active(c)
    handoff = post(c, "dana", f"{ids['case']}/handoffs", {"to_org": "firstbank", "summary": "S"})
    return ids | {"handoff": f"{ids['case']}/handoffs/{handoff['id']}", "handoff_id": handoff["id"]}


def warm(c: TestClient) -> dict[str, str]:
    ids = handed_off(c)
    session = post(c, "dana", f"{ids['case']}/sessions", {"handoff_id": ids["handoff_id"]})
    at = f"{ids['case']}/sessions/{session['id']}"
    post(c, "dana", f"{at}/join", {"party": "owner", "agent_id": "dana"})
    post(c, "ben", f"{at}/join", {"party": "receiver", "agent_id": "ben"})
    post(c, "dana", f"{at}/join", {"party": "customer"})
    return ids | {"session": at}


def in_session(c: TestClient) -> dict[str, str]:
    ids = active(c)
    session = post(c, "dana", f"{ids['case']}/sessions")
    return ids | {"session": f"{ids['case']}/sessions/{session['id']}"}


def customer_present(c: TestClient) -> dict[str, str]:
    ids = in_session(c)
    post(c, "dana", f"{ids['session']}/join", {"party": "customer"})
    return ids


def proposed(c: TestClient) -> dict[str, str]:
    ids = active(c)
    post(c, "dana", f"{ids['case']}/resolution", {"code": "fixed", "summary": "Done."})
    return ids


def closed(c: TestClient) -> dict[str, str]:
    ids = proposed(c)
    post(c, "dana", f"{ids['case']}/resolution/confirm")
    return ids


def webhook(c: TestClient) -> dict[str, str]:
    hook = post(c, "sam", "/v1/webhooks", {"url": "https://acme.example/hooks"})
    return {"webhook": f"/v1/webhooks/{hook['id']}"}


def nothing(_c: TestClient) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {case}, {request}, {handoff}, {session}, {webhook} come from the set-up
    setup: Callable[[TestClient], dict[str, str]]
    allowed: frozenset[str]
    success: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    # Status for principals that are not allowed: None means 403 if they see the case, else 404.
    others: int | None = None
    # Where one principal's answer differs for a reason of its own.
    but: dict[str, int] = field(default_factory=dict)

    def expected(self, who: str | None) -> int:
        if who in (None, "bad"):
            return 401
        if who in self.but:
            return self.but[who]
        if who in self.allowed:
            return self.success
        if self.others is not None:
            return self.others
        return 403 if who in SEES_CASE else 404

    def body_for(self, who: str | None) -> dict[str, Any]:
        # A partner system accepts a handoff for one of its org's agents.
        if self.path.endswith("/accept") and who in ("acme-crm", BANK_SYSTEM):
            return {"agent_id": "dana" if who == "acme-crm" else "ben"}
        return self.body


def allowed(*who: str) -> frozenset[str]:
    return frozenset(who)


EVERYONE = allowed("dana", "dave", "sam", "acme-crm", "ben", BANK_SYSTEM, "ada", "root", "vic")
OWNER_AGENT = allowed("dana", "sam")
OWNER_ORG = allowed("dana", "sam", "acme-crm")
TARGET_ORG = allowed("ben", BANK_SYSTEM)
TARGET_ORG_AGENT = allowed("ben")  # only a person declines a handoff (SPEC §3, §7)
WORKERS = allowed("dana", "dave", "sam", "acme-crm", "ben", BANK_SYSTEM)

ENDPOINTS = [
    Endpoint("POST", "/v1/cases", nothing, WORKERS | {"vic"}, 201,
             {"customer": {"name": "Ann"}, "subject": "S"}, others=403),
    Endpoint("GET", "/v1/cases", nothing, EVERYONE),
    Endpoint("GET", "{case}", active, SEES_CASE),
    Endpoint("POST", "{case}/claim", unclaimed, allowed("dana", "dave", "sam")),
    Endpoint("POST", "{case}/assign", active, OWNER_AGENT, body={"agent_id": "dave"}),
    Endpoint("POST", "{case}/participants", active, OWNER_ORG,
             body={"org_id": "forge", "reason": "makes the part"}),
    Endpoint("POST", "{case}/await-customer", active, OWNER_AGENT, body={"needed": "a photo"}),
    Endpoint("POST", "{case}/customer-responded", awaiting, OWNER_ORG),
    Endpoint("POST", "{case}/notes", active, WORKERS, body={"text": "Called the bank."}),
    Endpoint("POST", "{case}/requests", active, OWNER_ORG, 201,
             body={"to_org": "firstbank", "action": "Release the hold"}),
    Endpoint("POST", "{request}/acknowledge", requested, TARGET_ORG),
    Endpoint("POST", "{request}/complete", requested, TARGET_ORG, body={"note": "Released."}),
    Endpoint("POST", "{request}/decline", requested, TARGET_ORG, body={"reason": "No hold."}),
    Endpoint("POST", "{case}/handoffs", active, OWNER_AGENT, 201,
             body={"to_org": "firstbank", "summary": "The bank holds the charge."}),
    Endpoint("POST", "{handoff}/accept", warm, TARGET_ORG),
    Endpoint("POST", "{handoff}/decline", handed_off, TARGET_ORG_AGENT,
             body={"reason": "Not ours."}),
    Endpoint("POST", "{handoff}/cancel", handed_off, OWNER_AGENT),
    Endpoint("POST", "{case}/sessions", active, OWNER_ORG, 201),
    Endpoint("POST", "{session}/join", in_session, allowed("dana", "dave", "sam", "acme-crm"),
             body={"party": "customer"}),
    Endpoint("POST", "{session}/leave", customer_present,
             allowed("dana", "dave", "sam", "acme-crm"), body={"party": "customer"}),
    Endpoint("POST", "{session}/end", in_session, OWNER_ORG),
    Endpoint("POST", "{case}/resolution", active, OWNER_AGENT,
             body={"code": "fixed", "summary": "Fixed."}),
    Endpoint("POST", "{case}/resolution/confirm", proposed, OWNER_ORG),
    Endpoint("POST", "{case}/resolution/reject", proposed, OWNER_ORG, body={"reason": "No."}),
    Endpoint("POST", "{case}/reopen", closed, OWNER_ORG, body={"reason": "Again."}),
    Endpoint("POST", "{case}/withdraw", active, OWNER_AGENT, body={"reason": "Sorted it."}),
    Endpoint("GET", "{case}/events", active, SEES_CASE),
    Endpoint("GET", "{case}/events/verify", active, SEES_CASE),
    Endpoint("GET", "{case}/as-of?at=2030-01-01T00:00:00Z", active, SEES_CASE),
    Endpoint("GET", "/v1/audit/events", active, allowed("ada"), others=403),
    Endpoint("GET", "/v1/audit/events?format=csv", active, allowed("ada"), others=403),
    Endpoint("GET", "/v1/audit/metrics", active, allowed("ada"), others=403),
    Endpoint("GET", "/v1/audit/verify", active, allowed("ada"), others=403),
    Endpoint("POST", "/v1/orgs", nothing, allowed("root"), 201,
             {"id": "newco", "name": "New Co", "kind": "other"}, others=403),
    Endpoint("POST", "/v1/orgs/acme/agents", nothing, allowed("root"), 201,
             {"id": "neo", "name": "Neo", "role": "rep"}, others=403),
    Endpoint("POST", "/v1/orgs/acme/agents/dave/deactivate", nothing, allowed("root"),
             others=403),
    Endpoint("POST", "/v1/credentials", nothing, allowed("root"), 201,
             {"kind": "system", "id": "acme-phone", "org_id": "acme"}, others=403),
    Endpoint("POST", "/v1/webhooks", nothing, allowed("sam", "acme-crm", BANK_SYSTEM), 201,
             {"url": "https://acme.example/hooks"}, others=403, but={"root": 422}),  # names org
    Endpoint("GET", "{webhook}/deliveries", webhook, allowed("root", "sam", "acme-crm"),
             others=404),
]  # fmt: skip


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_each_principal_gets_the_status_the_spec_gives(
    client: TestClient, endpoint: Endpoint
) -> None:
    shared = endpoint.setup(client)
    got, expected = {}, {}
    for who in PRINCIPALS:
        # Whoever may act gets a case of their own, so one success does not spoil the next.
        ids = endpoint.setup(client) if who in endpoint.allowed else shared
        url = endpoint.path.format(**ids)
        body = endpoint.body_for(who) if endpoint.method == "POST" else None
        response = client.request(endpoint.method, url, json=body, headers=headers(who))
        got[who], expected[who] = response.status_code, endpoint.expected(who)
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"
    assert got == expected


def test_an_admin_names_the_org_a_webhook_is_for(client: TestClient) -> None:
    missing = client.post("/v1/webhooks", json={"url": "https://x.example"}, headers=auth("root"))
    assert (missing.status_code, missing.json()["errors"][0]["field"]) == (422, "org_id")
    named = {"url": "https://x.example", "org_id": "acme"}
    assert client.post("/v1/webhooks", json=named, headers=auth("root")).status_code == 201
    other = named | {"org_id": "vendo"}
    assert client.post("/v1/webhooks", json=other, headers=auth("sam")).status_code == 403


def test_no_foreign_case_leaks_through_lists_searches_or_errors(client: TestClient) -> None:
    case = active(client)["case"]
    case_id = case.rsplit("/", 1)[1]
    for query in ("", "?owner_org=acme", "?state=active", "?mine=true", "?unclaimed=false"):
        listed = client.get(f"/v1/cases{query}", headers=auth("vic")).json()
        assert listed == {"items": [], "next_cursor": None}

    nowhere = "/v1/cases/" + "0" * 32
    for method, suffix, body in [
        ("GET", "", None),
        ("GET", "/events", None),
        ("GET", "/events/verify", None),
        ("GET", "/as-of?at=2030-01-01T00:00:00Z", None),
        ("POST", "/claim", {}),
        ("POST", "/notes", {"text": "hello"}),
        ("POST", "/requests/" + "1" * 32 + "/acknowledge", {}),
    ]:
        hidden = client.request(method, case + suffix, json=body, headers=auth("vic"))
        missing = client.request(method, nowhere + suffix, json=body, headers=auth("vic"))
        assert (hidden.status_code, hidden.json()) == (404, missing.json())
        assert case_id not in hidden.text

    # An auditor whose credential is limited to Vendo's cases sees nothing of Acme's.
    issued = {"kind": "agent", "id": "ada", "orgs": ["vendo"]}
    scoped = client.post("/v1/credentials", json=issued, headers=auth("root")).json()
    as_scoped = {"Authorization": f"Bearer {scoped['token']}"}
    assert client.get(case, headers=as_scoped).status_code == 404
    assert client.get("/v1/cases", headers=as_scoped).json()["items"] == []
    search = client.get(f"/v1/audit/events?case={case_id}", headers=as_scoped).json()
    assert search["items"] == []
    export = client.get("/v1/audit/events?format=ndjson", headers=as_scoped)
    assert export.status_code == 200
    assert export.text == ""
    assert client.get("/v1/audit/metrics", headers=as_scoped).json() == []
    everything = client.get(f"/v1/audit/events?case={case_id}", headers=auth("ada")).json()
    assert [e["type"] for e in everything["items"]] == ["case_created", "claimed"]


def test_only_the_owner_orgs_people_and_system_are_given_the_customers_status_page(
    client: TestClient,
) -> None:
    """The link lets whoever holds it act as the customer; an auditor only reads (SPEC §7)."""
    case = active(client)["case"]
    links = {
        who: client.get(case, headers=auth(who)).json()["customer_link"]
        for who in ("dana", "dave", "sam", "acme-crm", "ben", BANK_SYSTEM, "ada")
    }
    given = {who for who, link in links.items() if link is not None}
    assert given == {"dana", "dave", "sam", "acme-crm"}
    assert links["dana"].startswith("/c/")


def test_a_token_that_is_not_valid_is_refused_before_the_input_is_judged(
    client: TestClient,
) -> None:
    case = unclaimed(client)
    bad_body = {"text": 12, "visibility": "shouting"}
    path = f"{case['case']}/notes"

    forged = client.post(path, json=bad_body, headers={"Authorization": "Bearer tok-forged"})
    missing = client.post(path, json=bad_body)
    bad_id = client.post("/v1/cases/not a case id/notes", json=bad_body, headers=headers(None))
    known = client.post(path, json=bad_body, headers=auth("dana"))

    assert (forged.status_code, forged.json()["code"]) == (401, "unauthorized")
    assert (missing.status_code, missing.json()["code"]) == (401, "unauthorized")
    assert bad_id.status_code == 401
    assert (known.status_code, known.json()["code"]) == (422, "validation_error")
