"""History and audit over HTTP: events page by page, chain verification, a case as of a time,
search and streamed export across cases, metrics per org."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from fastapi.testclient import TestClient
from freezegun import freeze_time

from tests.e2e.conftest import auth

T0 = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)


def post(client: TestClient, who: str, path: str, body: object = None) -> Any:
    answer = client.post(path, json=body or {}, headers=auth(who))
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def handed_to_the_bank(client: TestClient) -> str:
    """Acme's case, claimed at 9:05, handed warm to First Bank at 9:30."""
    with freeze_time(T0, real_asyncio=True) as clock:
        new = {"customer": {"name": "Carla"}, "subject": "Hold", "participants": ["firstbank"]}
        case = post(client, "acme-crm", "/v1/cases", new)["id"]
        at = f"/v1/cases/{case}"
        clock.move_to(T0 + timedelta(minutes=5))
        post(client, "dana", f"{at}/claim")
        clock.move_to(T0 + timedelta(minutes=30))
        handoff = post(client, "dana", f"{at}/handoffs", {"to_org": "firstbank", "summary": "S"})
        session = post(client, "dana", f"{at}/sessions", {"handoff_id": handoff["id"]})["id"]
        for who, party in (("dana", "owner"), ("ben", "receiver")):
            post(client, who, f"{at}/sessions/{session}/join", {"party": party, "agent_id": who})
        post(client, "dana", f"{at}/sessions/{session}/join", {"party": "customer"})
        post(client, "ben", f"{at}/handoffs/{handoff['id']}/accept")
    return str(case)


def test_events_come_a_page_at_a_time_in_seq_order(client: TestClient) -> None:
    case = handed_to_the_bank(client)
    seqs, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"/v1/cases/{case}/events", params=params, headers=auth("ben")).json()
        seqs += [e["seq"] for e in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seqs == list(range(1, 9))
    verification = client.get(f"/v1/cases/{case}/events/verify", headers=auth("ada")).json()
    assert verification == {"valid": True, "events": 8, "first_broken_seq": None}


def test_a_case_as_it_stood_at_a_given_time(client: TestClient) -> None:
    case = handed_to_the_bank(client)

    def as_of(at: datetime) -> dict[str, Any]:
        params = {"at": at.isoformat()}
        answer: dict[str, Any] = client.get(
            f"/v1/cases/{case}/as-of", params=params, headers=auth("ada")
        ).json()
        return answer

    before = as_of(T0 - timedelta(minutes=1))
    assert (before["state"], before["owner"], before["events"]) == (None, None, [])
    unclaimed = as_of(T0 + timedelta(minutes=1))
    assert (unclaimed["state"], unclaimed["owner"]) == (
        "unclaimed",
        {"org_id": "acme", "agent_id": None},
    )
    claimed = as_of(T0 + timedelta(minutes=10))
    assert (claimed["state"], claimed["owner"]["agent_id"]) == ("active", "dana")
    now = as_of(T0 + timedelta(hours=1))
    assert now["owner"] == {"org_id": "firstbank", "agent_id": "ben"}
    assert now["participants"] == ["acme", "firstbank"]
    assert [e["type"] for e in now["events"]][-1] == "handoff_accepted"
    in_berlin = (T0 + timedelta(minutes=4)).astimezone(timezone(timedelta(hours=1)))
    assert as_of(in_berlin)["state"] == "unclaimed"


def test_auditors_search_events_across_cases_and_export_them_streamed(
    client: TestClient,
) -> None:
    first, second = handed_to_the_bank(client), handed_to_the_bank(client)

    def search(**params: Any) -> list[dict[str, Any]]:
        answer = client.get("/v1/audit/events", params=params, headers=auth("ada"))
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    assert len(search(case=[first, second], limit=200)) == 16
    assert {e["case_id"] for e in search(type="handoff_accepted")} == {first, second}
    assert {e["type"] for e in search(actor="ben")} == {"session_joined", "handoff_accepted"}
    assert {e["org_id"] for e in search(org="firstbank")} == {"firstbank"}
    window = {
        "from": (T0 + timedelta(minutes=5)).isoformat(),
        "to": (T0 + timedelta(minutes=6)).isoformat(),
    }
    assert [e["type"] for e in search(**window)] == ["claimed", "claimed"]

    ndjson = client.get(
        "/v1/audit/events", params={"case": first, "format": "ndjson"}, headers=auth("ada")
    )
    assert ndjson.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in ndjson.text.splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, 9))
    assert lines == search(case=first)

    exported = client.get(
        "/v1/audit/events", params={"case": second, "format": "csv"}, headers=auth("ada")
    )
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["type"] for r in rows][:2] == ["case_created", "claimed"]
    assert json.loads(rows[-1]["data"])["to_agent"] == "ben"


def test_metrics_per_org_count_owner_changes_and_times(client: TestClient) -> None:
    handed_to_the_bank(client)
    metrics = client.get("/v1/audit/metrics", headers=auth("ada")).json()
    acme = next(m for m in metrics if m["org_id"] == "acme")
    assert [m["org_id"] for m in metrics] == ["acme", "firstbank"]
    assert acme["cases"] == 1
    assert (acme["owner_changes_people"], acme["owner_changes_orgs"]) == (1, 1)
    assert (acme["bounces"], acme["reopens"]) == (0, 0)
    assert acme["time_to_claim"] == {"cases": 1, "mean_seconds": 300.0, "max_seconds": 300.0}
    assert acme["time_without_owner"]["mean_seconds"] == 300.0
    assert acme["time_to_resolution"]["cases"] == 0
    later = {"from": (T0 + timedelta(days=1)).isoformat()}
    assert client.get("/v1/audit/metrics", params=later, headers=auth("ada")).json() == []


def test_refused_send_away_attempts_show_in_the_metrics(client: TestClient) -> None:
    new = {"customer": {"name": "Carla"}, "subject": "Hold", "participants": ["firstbank"]}
    case = post(client, "dana", "/v1/cases", new)["id"]
    summary = {"code": "fixed", "summary": "Please call your bank."}
    assert (
        client.post(f"/v1/cases/{case}/resolution", json=summary, headers=auth("dana")).status_code
        == 409
    )
    metrics = client.get("/v1/audit/metrics?org=acme", headers=auth("ada")).json()
    assert metrics[0]["send_away_refused"] == {"send_away_language": 1}
