"""Audit over HTTP (SPEC §6): the three stories read back, a case as of a time at the edges,
search filters and pages, every chain verified, metrics per org, per-org windows, and an export
of 100,000 events streamed in constant memory."""

import asyncio
import hashlib
import json
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from freezegun import freeze_time
from sqlalchemy import event, insert, select, text, update

from api.app import create_app
from handoff import services
from handoff.delivery.worker import tick
from handoff.history import chain
from handoff.services import queries
from handoff.services.audit import EXPORT_BATCH
from handoff.store.db import Database
from handoff.store.models import CaseRow, Event
from tests.e2e.conftest import auth, issue_tokens
from tests.integration.world import World, tampering

T0 = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)  # the bank story starts
T1 = T0 + timedelta(days=1)  # the vendor story
T2 = T0 + timedelta(days=2)  # the dealer story
MINUTE = timedelta(minutes=1)
MICROSECOND = timedelta(microseconds=1)

BANK_STORY = [
    "case_created", "claimed", "request_created", "refused", "request_acknowledged",
    "request_completed", "refused", "resolution_proposed", "resolution_confirmed",
]  # fmt: skip
VENDOR_STORY = [
    "case_created", "claimed", "handoff_proposed", "session_started", "session_joined",
    "session_joined", "refused", "session_joined", "handoff_accepted", "session_ended",
    "refused", "handoff_proposed", "session_started", "session_joined", "session_joined",
    "session_joined", "handoff_accepted", "resolution_proposed", "resolution_confirmed",
    "session_ended",
]  # fmt: skip
DEALER_STORY = [
    "case_created", "claimed", "awaiting_customer", "customer_responded", "request_created",
    "request_completed", "resolution_proposed", "resolution_rejected", "resolution_proposed",
    "resolution_confirmed", "reopened", "resolution_proposed", "resolution_confirmed",
]  # fmt: skip


def post(client: TestClient, who: str, path: str, body: Any = None, status: int = 200) -> Any:
    answer = client.post(path, json=body if body is not None else {}, headers=auth(who))
    assert answer.status_code == status, answer.text
    return answer.json()


def get(client: TestClient, path: str, who: str = "ada", **params: Any) -> Any:
    answer = client.get(path, params=params, headers=auth(who))
    assert answer.status_code == 200, answer.text
    return answer.json()


@contextmanager
def clock_at(start: datetime) -> Iterator[Any]:
    """Frozen time; `at(minutes)` moves it to that many minutes after `start`."""
    with freeze_time(start, real_asyncio=True) as clock:
        yield lambda minutes: clock.move_to(start + minutes * MINUTE)


def bank_story(client: TestClient) -> str:
    """Acme's CRM opens the case; Dana claims it at 5 min; First Bank releases the hold; two
    send-away attempts are refused; the customer's confirmation closes it at 40 min."""
    with clock_at(T0) as at:
        new = {"customer": {"name": "Carla"}, "subject": "Hold", "participants": ["firstbank"]}
        case = post(client, "acme-crm", "/v1/cases", new, 201)["id"]
        path = f"/v1/cases/{case}"
        at(5)
        post(client, "dana", f"{path}/claim")
        at(10)
        ask = {"to_org": "firstbank", "action": "Release the hold"}
        request = post(client, "dana", f"{path}/requests", ask, 201)["id"]
        at(11)
        resolution = {"code": "credited", "summary": "The hold is released."}
        post(client, "dana", f"{path}/resolution", resolution, 409)
        at(20)
        post(client, "ben", f"{path}/requests/{request}/acknowledge")
        at(30)
        post(client, "firstbank-disputes", f"{path}/requests/{request}/complete", {"note": "Done"})
        at(31)
        away = {"code": "credited", "summary": "Please contact your bank."}
        post(client, "dana", f"{path}/resolution", away, 409)
        at(32)
        post(client, "dana", f"{path}/resolution", resolution)
        at(40)
        post(client, "acme-crm", f"{path}/resolution/confirm")
    return str(case)


def warm_handoff(client: TestClient, path: str, owner: str, receiver: str, customer_by: str) -> str:
    """Join owner, receiver and customer to a session for the pending handoff; its id."""
    handoff = get(client, path, owner)["handoff"]["id"]
    session = post(client, owner, f"{path}/sessions", {"handoff_id": handoff}, 201)["id"]
    for who, party in ((owner, "owner"), (receiver, "receiver")):
        post(client, who, f"{path}/sessions/{session}/join", {"party": party, "agent_id": who})
    post(client, customer_by, f"{path}/sessions/{session}/join", {"party": "customer"})
    return str(handoff)


def vendor_story(client: TestClient) -> str:
    """Vic (Vendo) hands warm to Mia (Forge) at 15 min; Forge's bounce back is refused, then
    allowed by Max's override and accepted by Vic at 30 min: Vendo owns the case a second time."""
    with clock_at(T1) as at:
        new = {"customer": {"name": "Omar"}, "subject": "Coin mechanism", "participants": ["forge"]}
        case = post(client, "vic", "/v1/cases", new, 201)["id"]
        path = f"/v1/cases/{case}"
        at(10)
        ask = {"to_org": "forge", "summary": "Needs a part"}
        handoff = post(client, "vic", f"{path}/handoffs", ask, 201)["id"]
        session = post(client, "vic", f"{path}/sessions", {"handoff_id": handoff}, 201)["id"]
        for who, party in (("vic", "owner"), ("mia", "receiver")):
            post(client, who, f"{path}/sessions/{session}/join", {"party": party, "agent_id": who})
        at(13)
        post(client, "mia", f"{path}/handoffs/{handoff}/accept", status=409)
        at(14)
        post(client, "vendo-phone", f"{path}/sessions/{session}/join", {"party": "customer"})
        at(15)
        post(client, "mia", f"{path}/handoffs/{handoff}/accept")
        post(client, "mia", f"{path}/sessions/{session}/end")
        at(20)
        back = {"to_org": "vendo", "summary": "Vendo refunds instead."}
        post(client, "mia", f"{path}/handoffs", back, 409)
        at(21)
        override = back | {"override_reason": "Vendo agreed to refund."}
        post(client, "max", f"{path}/handoffs", override, 201)
        second = warm_handoff(client, path, "mia", "vic", "mia")
        at(30)
        post(client, "vic", f"{path}/handoffs/{second}/accept")
        at(45)
        post(client, "vic", f"{path}/resolution", {"code": "refunded", "summary": "Refunded."})
        at(50)
        post(client, "vendo-phone", f"{path}/resolution/confirm")
    return str(case)


def dealer_story(client: TestClient) -> str:
    """Dora waits for a photo, gets a part shipped, is rejected once, closes at 60 min, reopens
    the next day and closes again."""
    with clock_at(T2) as at:
        new = {"customer": {"name": "Lena"}, "subject": "Thermostat E4", "participants": ["thermo"]}
        case = post(client, "dora", "/v1/cases", new, 201)["id"]
        path = f"/v1/cases/{case}"
        at(5)
        post(client, "dora", f"{path}/await-customer", {"needed": "photo of the label"})
        at(10)
        post(client, "dora", f"{path}/customer-responded", {"note": "TC-40"})
        ask = {"to_org": "thermo", "action": "Ship a TC-40"}
        request = post(client, "dora", f"{path}/requests", ask, 201)["id"]
        at(20)
        post(client, "tom", f"{path}/requests/{request}/complete", {"note": "Shipped."})
        replaced = {"code": "replaced", "summary": "ThermoCo shipped a new TC-40."}
        post(client, "dora", f"{path}/resolution", replaced)
        at(30)
        post(client, "dora", f"{path}/resolution/reject", {"reason": "still broken"})
        at(40)
        post(client, "dora", f"{path}/resolution", replaced)
        at(60)
        post(client, "dora", f"{path}/resolution/confirm")
        at(24 * 60)
        post(client, "dora", f"{path}/reopen", {"reason": "E4 again"})
        at(25 * 60)
        post(client, "dora", f"{path}/resolution", replaced)
        post(client, "dora", f"{path}/resolution/confirm")
    return str(case)


def history_of(client: TestClient, case: str) -> list[dict[str, Any]]:
    """Every event of the case, read three to a page."""
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = get(
            client, f"/v1/cases/{case}/events", limit=3, **({"cursor": cursor} if cursor else {})
        )
        events += page["items"]
        if (cursor := page["next_cursor"]) is None:
            return events


@pytest.mark.parametrize(
    ("story", "expected"),
    [(bank_story, BANK_STORY), (vendor_story, VENDOR_STORY), (dealer_story, DEALER_STORY)],
    ids=["bank", "vendor", "dealer"],
)
def test_each_storys_history_reads_back_event_by_event_in_order(
    client: TestClient, story: Any, expected: list[str]
) -> None:
    case = story(client)

    events = history_of(client, case)

    assert [e["type"] for e in events] == expected
    assert [e["seq"] for e in events] == list(range(1, len(expected) + 1))
    assert all(e["case_id"] == case for e in events)
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert get(client, f"/v1/cases/{case}/events/verify") == {
        "valid": True,
        "events": len(expected),
        "first_broken_seq": None,
    }


def test_the_bank_storys_refusals_name_who_tried_what_and_the_code(client: TestClient) -> None:
    case = bank_story(client)

    refused = [e for e in history_of(client, case) if e["type"] == "refused"]

    assert [(e["actor"], e["org_id"], e["data"]["code"]) for e in refused] == [
        ({"kind": "agent", "id": "dana"}, "acme", "open_requests"),
        ({"kind": "agent", "id": "dana"}, "acme", "send_away_language"),
    ]
    assert refused[1]["data"]["phrase"].lower() == "please contact your bank"


def three_stories(client: TestClient) -> dict[str, str]:
    return {
        "bank": bank_story(client),
        "vendor": vendor_story(client),
        "dealer": dealer_story(client),
    }


def durations(cases: int, seconds: float | None = None) -> dict[str, Any]:
    return {"cases": cases, "mean_seconds": seconds, "max_seconds": seconds}


def line(org: str, **figures: Any) -> dict[str, Any]:
    """A metrics line: nothing happened unless `figures` says so."""
    return {
        "org_id": org, "cases": 1, "owner_changes_people": 0, "owner_changes_orgs": 0,
        "bounces": 0, "cases_bounced": 0, "reopens": 0, "send_away_refused": {},
        "time_to_claim": durations(0), "time_without_owner": durations(0),
        "time_to_resolution": durations(0), "period_start": None, "period_end": None,
    } | figures  # fmt: skip


def test_metrics_per_org_count_the_three_stories_exactly(client: TestClient) -> None:
    three_stories(client)
    bank = {"time_to_resolution": durations(1, 2400.0)}  # confirmed at 40 min
    vendor = {
        "owner_changes_people": 2,  # Vic to Mia, Mia to Vic
        "owner_changes_orgs": 2,  # Vendo to Forge, Forge to Vendo
        "bounces": 1,  # Vendo owned it twice
        "cases_bounced": 1,
        "time_to_resolution": durations(1, 3000.0),
    }
    dealer = {"reopens": 1, "time_to_resolution": durations(1, 3600.0)}  # first closed at 60 min
    arrived_at = {"time_without_owner": durations(1, 0.0)}  # opened by an agent: claimed at once

    metrics = get(client, "/v1/audit/metrics")

    assert metrics == [
        line(
            "acme",
            **bank,
            send_away_refused={"open_requests": 1, "send_away_language": 1},
            time_to_claim=durations(1, 300.0),
            time_without_owner=durations(1, 300.0),
        ),
        line("dealer", **dealer, **arrived_at),
        line("firstbank", **bank),
        line("forge", **vendor, send_away_refused={"ping_pong": 1, "warm_session_required": 1}),
        line("thermo", **dealer),
        line("vendo", **vendor, **arrived_at),
    ]


def test_metrics_for_a_period_count_only_the_cases_created_in_it(client: TestClient) -> None:
    three_stories(client)
    period = {"from": T1.isoformat(), "to": T2.isoformat()}

    metrics = get(client, "/v1/audit/metrics", **period)
    forge_only = get(client, "/v1/audit/metrics", org="forge", **period)

    assert [m["org_id"] for m in metrics] == ["forge", "vendo"]
    assert {(m["period_start"], m["period_end"]) for m in metrics} == {
        ("2030-05-07T09:00:00Z", "2030-05-08T09:00:00Z")
    }
    assert forge_only == [metrics[0]]
    assert get(client, "/v1/audit/metrics", to=T0.isoformat()) == []


def as_of(client: TestClient, case: str, at: datetime) -> dict[str, Any]:
    answer: dict[str, Any] = get(client, f"/v1/cases/{case}/as-of", at=at.isoformat())
    return answer


def test_as_of_an_events_own_time_includes_it_and_a_microsecond_earlier_does_not(
    client: TestClient,
) -> None:
    case = vendor_story(client)
    accepted = T1 + 15 * MINUTE

    at_accept = as_of(client, case, accepted)
    just_before = as_of(client, case, accepted - MICROSECOND)

    assert (at_accept["state"], at_accept["owner"]) == (
        "active",
        {"org_id": "forge", "agent_id": "mia"},
    )
    assert [e["seq"] for e in at_accept["events"]][-2:] == [9, 10]  # accepted, session ended
    assert (just_before["state"], just_before["owner"]) == (
        "handoff_pending",
        {"org_id": "vendo", "agent_id": "vic"},
    )
    assert just_before["events"][-1]["seq"] == 8
    assert (at_accept["handoff"], at_accept["session"]) == (None, None)
    assert (just_before["handoff"]["to_org"], just_before["handoff"]["summary"]) == (
        "forge",
        "Needs a part",
    )
    assert just_before["session"]["present"] == [
        {"party": "owner", "agent_id": "vic"},
        {"party": "receiver", "agent_id": "mia"},
        {"party": "customer", "agent_id": None},
    ]


def test_as_of_shows_each_request_in_the_state_it_was_in_then(client: TestClient) -> None:
    case = bank_story(client)
    release = {"to_org": "firstbank", "action": "Release the hold"}

    states = [
        [r["state"] for r in as_of(client, case, T0 + minutes * MINUTE)["requests"]]
        for minutes in (9, 10, 20, 30, 40)
    ]
    made = as_of(client, case, T0 + 10 * MINUTE)["requests"]

    assert states == [[], ["open"], ["acknowledged"], ["done"], ["done"]]
    assert [{k: r[k] for k in release} for r in made] == [release]


def test_as_of_before_the_case_existed_answers_with_no_state_and_no_events(
    client: TestClient,
) -> None:
    case = vendor_story(client)

    before = as_of(client, case, T1 - MICROSECOND)
    created = as_of(client, case, T1)

    assert before == {
        "case_id": case,
        "at": "2030-05-07T08:59:59.999999Z",
        "state": None,
        "owner": None,
        "participants": [],
        "requests": [],
        "request_counts": {"open": 0, "acknowledged": 0, "done": 0, "declined": 0, "cancelled": 0},
        "handoff": None,
        "session": None,
        "events": [],
        "next_cursor": None,
    }
    assert (created["state"], created["owner"], created["participants"]) == (
        "active",
        {"org_id": "vendo", "agent_id": "vic"},
        ["vendo", "forge"],
    )


def test_as_of_after_the_last_event_is_the_case_as_it_stands_now(client: TestClient) -> None:
    for case in three_stories(client).values():
        now = get(client, f"/v1/cases/{case}")

        later = as_of(client, case, T2 + timedelta(days=365))

        assert (later["state"], later["owner"]) == (now["state"], now["owner"])
        assert sorted(later["participants"]) == sorted(p["org_id"] for p in now["participants"])
        every = get(client, f"/v1/cases/{case}/requests", limit=200)["items"]
        assert later["requests"] == [
            {k: r[k] for k in ("id", "to_org", "action", "state")} for r in every
        ]
        assert later["request_counts"] == now["request_counts"]
        closed = (None, None)  # all three stories end closed: nothing pending, nothing live
        assert (later["handoff"], later["session"]) == (now["handoff"], now["session"]) == closed
        assert later["events"] == history_of(client, case)


def search(client: TestClient, who: str = "ada", **params: Any) -> list[tuple[str, int]]:
    """(case, seq) of every match, read page after page."""
    found: list[tuple[str, int]] = []
    cursor = None
    while True:
        page = get(
            client, "/v1/audit/events", who, **params, **({"cursor": cursor} if cursor else {})
        )
        found += [(e["case_id"], e["seq"]) for e in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            return found


def test_search_filters_must_all_hold_and_repeated_ones_match_any_value(
    client: TestClient,
) -> None:
    cases = three_stories(client)
    bank, vendor, dealer = cases["bank"], cases["vendor"], cases["dealer"]

    assert search(client, type="refused", org="forge") == [(vendor, 7), (vendor, 11)]
    assert search(client, type="refused", actor="dana") == [(bank, 4), (bank, 7)]
    assert search(client, type="refused", org="forge", case=bank) == []
    assert search(client, type=["refused", "reopened"]) == [
        (bank, 4), (bank, 7), (vendor, 7), (vendor, 11), (dealer, 11),
    ]  # fmt: skip
    assert search(client, case=[bank, dealer], type="resolution_confirmed") == [
        (bank, 9), (dealer, 10), (dealer, 13),
    ]  # fmt: skip
    assert search(client, case=[vendor, dealer], actor="mia", type="handoff_accepted") == [
        (vendor, 9)
    ]


def test_search_from_is_inclusive_and_to_is_exclusive(client: TestClient) -> None:
    vendor = vendor_story(client)
    window = {"from": (T1 + 15 * MINUTE).isoformat(), "to": (T1 + 21 * MINUTE).isoformat()}

    assert search(client, **window) == [(vendor, 9), (vendor, 10), (vendor, 11)]
    assert search(client, **{"from": (T1 + 50 * MINUTE).isoformat()}) == [
        (vendor, 19),
        (vendor, 20),
    ]
    assert search(client, to=(T1 + MICROSECOND).isoformat()) == [(vendor, 1), (vendor, 2)]


def test_search_pages_hold_every_match_once_in_the_order_written(client: TestClient) -> None:
    cases = three_stories(client)
    written = [
        (c, seq)
        for c, n in zip(cases.values(), (9, 20, 13), strict=True)
        for seq in range(1, n + 1)
    ]

    assert search(client, limit=4) == written
    assert search(client, limit=1, type="session_joined") == [
        (c, seq) for c, seq in written if seq in (5, 6, 8, 14, 15, 16) and c == cases["vendor"]
    ]
    assert search(client, limit=200) == written


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("from", "yesterday"),
        ("to", "2030-13-01T00:00:00Z"),
        ("from", "2030-05-06T09:00:00"),  # no offset: which 9 o'clock?
        ("to", "2030-05-06"),
    ],
)
def test_a_time_that_is_not_rfc3339_with_an_offset_answers_422_problem(
    client: TestClient, name: str, value: str
) -> None:
    for path, params in (
        ("/v1/audit/events", {name: value}),
        ("/v1/audit/metrics", {name: value}),
    ):
        answer = client.get(path, params=params, headers=auth("ada"))

        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "validation_error"
        assert name in answer.text


def test_as_of_a_time_without_an_offset_answers_422_problem(client: TestClient) -> None:
    case = bank_story(client)

    answer = client.get(
        f"/v1/cases/{case}/as-of", params={"at": "2030-05-06T09:00:00"}, headers=auth("ada")
    )

    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_error"


@pytest.mark.parametrize("path", ["/v1/audit/events", "/v1/audit/verify", "/v1/audit/metrics"])
def test_only_auditors_search_verify_and_measure(client: TestClient, path: str) -> None:
    bank_story(client)

    answer = client.get(path, headers=auth("dana"))

    assert answer.status_code == 403
    assert answer.json()["code"] == "forbidden"


def test_every_chain_verifies_when_nobody_tampered(client: TestClient) -> None:
    three_stories(client)

    assert get(client, "/v1/audit/verify") == {
        "valid": True,
        "chains": 3,
        "events": 9 + 20 + 13,
        "broken": [],
    }


def test_an_edited_event_is_named_by_its_case_and_seq_on_both_verify_endpoints(
    client: TestClient, world: World
) -> None:
    cases = three_stories(client)
    vendor = cases["vendor"]
    with tampering(world.db) as conn:
        conn.execute(
            text("UPDATE events SET type = 'handoff_declined' WHERE case_id = :c AND seq = 9"),
            {"c": vendor},
        )

    one = get(client, f"/v1/cases/{vendor}/events/verify")
    every = get(client, "/v1/audit/verify")

    assert one == {"valid": False, "events": 20, "first_broken_seq": 9}
    assert every == {
        "valid": False,
        "chains": 3,
        "events": 42,
        "broken": [{"case_id": vendor, "first_broken_seq": 9}],
    }


def test_a_deleted_last_event_is_named_by_its_case_and_seq(
    client: TestClient, world: World
) -> None:
    cases = three_stories(client)
    with tampering(world.db) as conn:
        conn.execute(
            text("DELETE FROM events WHERE case_id = :c AND seq = 13"), {"c": cases["dealer"]}
        )

    every = get(client, "/v1/audit/verify")

    assert every["broken"] == [{"case_id": cases["dealer"], "first_broken_seq": 13}]
    assert (every["valid"], every["events"]) == (False, 41)


def test_a_scoped_auditor_verifies_only_the_chains_of_its_orgs(
    client: TestClient, world: World
) -> None:
    cases = three_stories(client)
    scoped = post(
        client, "root", "/v1/credentials", {"kind": "agent", "id": "ada", "orgs": ["vendo"]}, 201
    )
    headers = {"Authorization": f"Bearer {scoped['token']}"}
    with tampering(world.db) as conn:
        conn.execute(
            text("DELETE FROM events WHERE case_id = :c AND seq = 9"), {"c": cases["bank"]}
        )

    answer = client.get("/v1/audit/verify", headers=headers).json()
    events = client.get("/v1/audit/events", params={"limit": 200}, headers=headers).json()

    assert answer == {"valid": True, "chains": 1, "events": 20, "broken": []}
    assert {e["case_id"] for e in events["items"]} == {cases["vendor"]}
    assert get(client, "/v1/audit/verify")["broken"] == [
        {"case_id": cases["bank"], "first_broken_seq": 9}
    ]


def test_an_admin_gives_a_new_org_its_own_windows(client: TestClient) -> None:
    org = {"id": "quickpay", "name": "Quick Pay", "kind": "bank"}
    windows = {"claim_window": 600, "reopen_window": 86400}

    created = post(client, "root", "/v1/orgs", org | {"windows": windows}, 201)
    plain = post(client, "root", "/v1/orgs", org | {"id": "slowpay"}, 201)

    assert created["windows"] == windows
    assert plain["windows"] is None


@pytest.mark.parametrize(
    "windows",
    [
        {"claim": 600},
        {"nap_window": 60},
        {"claim_window": 0},
        {"claim_window": -5},
        {"claim_window": 1.5},
        {"claim_window": "soon"},
        {"claim_window": None},
        ["claim_window", 600],
    ],
)
def test_org_windows_must_be_known_names_with_positive_whole_seconds(
    client: TestClient, windows: Any
) -> None:
    org = {"id": "quickpay", "name": "Quick Pay", "kind": "bank", "windows": windows}

    answer = client.post("/v1/orgs", json=org, headers=auth("root"))

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "validation_error"
    del org["windows"]
    assert client.post("/v1/orgs", json=org, headers=auth("root")).status_code == 201


def test_an_orgs_own_claim_window_is_what_the_worker_escalates_on(
    client: TestClient, world: World
) -> None:
    """Quick Pay waits 10 minutes for a claim; Acme, on the deployment's default, 15."""
    windows = {"claim_window": 600}
    post(
        client,
        "root",
        "/v1/orgs",
        {"id": "quickpay", "name": "Q", "kind": "bank", "windows": windows},
        201,
    )
    post(
        client,
        "root",
        "/v1/orgs/quickpay/agents",
        {"id": "quinn", "name": "Quinn", "role": "supervisor"},
        201,
    )
    crm = post(
        client,
        "root",
        "/v1/credentials",
        {"kind": "system", "id": "qp-crm", "org_id": "quickpay"},
        201,
    )
    new = {"customer": {"name": "Ida"}, "subject": "Card declined"}
    with freeze_time(T0, real_asyncio=True) as clock:
        quick = client.post(
            "/v1/cases", json=new, headers={"Authorization": f"Bearer {crm['token']}"}
        )
        acme = post(client, "acme-crm", "/v1/cases", new, 201)
        owners = {}
        for seconds in (599, 600, 899, 900):
            clock.move_to(T0 + timedelta(seconds=seconds))
            tick(world.db)
            owners[seconds] = (
                get(client, f"/v1/cases/{quick.json()['id']}")["owner"]["agent_id"],
                get(client, f"/v1/cases/{acme['id']}")["owner"]["agent_id"],
            )

    assert owners == {
        599: (None, None),
        600: ("quinn", None),
        899: ("quinn", None),
        900: ("quinn", "sam"),
    }


def add_notes(db: Database, case_ids: list[str], per_case: int) -> None:
    """Append `per_case` internal notes to each case straight into the table (test data made
    fast), each hashed over the canonical encoding and chained to the one before, as the engine
    does it."""
    with db.engine.begin() as conn:
        for case_id in case_ids:
            seq, prev_hash = conn.execute(
                select(CaseRow.last_seq, CaseRow.last_hash).where(CaseRow.id == case_id)
            ).one()
            rows = []
            for n in range(1, per_case + 1):
                note = {
                    "case_id": case_id, "seq": seq + n, "type": "note_added", "actor_kind": "agent",
                    "actor_id": "dana", "org_id": "acme", "at": T0 + timedelta(seconds=n),
                    "data": {"text": f"Called back, attempt {n}.", "visibility": "internal"},
                    "prev_hash": prev_hash,
                }  # fmt: skip
                prev_hash = note["hash"] = hashlib.sha256(chain.canonical(**note)).hexdigest()
                rows.append(note)
            conn.execute(insert(Event.__table__), rows)
            conn.execute(
                update(CaseRow.__table__)
                .where(CaseRow.id == case_id)
                .values(last_seq=seq + per_case, last_hash=prev_hash)
            )


class StatementWatch:
    """Counts the SELECTs on events and the most events any one of them brought back."""

    def __init__(self) -> None:
        self.selects = self.rows = self.most_rows = 0

    def before_cursor_execute(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM events" in statement:
            self.selects, self.rows = self.selects + 1, 0

    def load(self, _event: Event, _context: Any) -> None:
        self.rows += 1
        self.most_rows = max(self.most_rows, self.rows)


async def export_through_the_app(db: Database, query: str) -> dict[str, Any]:
    """GET the export as a server would, keeping only the line count and the first and last
    lines of what the app sends: nothing is held but what the app itself holds."""
    app = create_app(db)
    seen: dict[str, Any] = {"lines": 0, "first": b"", "last": b"", "status": None}
    pending = b""

    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal pending
        if message["type"] == "http.response.start":
            seen["status"] = message["status"]
            seen["content_type"] = dict(message["headers"])[b"content-type"]
            return
        *complete, pending = (pending + message.get("body", b"")).split(b"\n")
        if complete:
            seen["first"] = seen["first"] or complete[0]
            seen["last"] = complete[-1]
            seen["lines"] += len(complete)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/v1/audit/events", "raw_path": b"/v1/audit/events",
        "root_path": "", "query_string": query.encode(), "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "headers": [(b"host", b"testserver"), (b"authorization", b"Bearer tok-ada")],
    }  # fmt: skip
    await app(scope, receive, send)
    assert pending == b"", "the export ends with a whole line"
    return seen


@pytest.mark.slow
def test_an_export_of_100000_events_streams_in_batches_without_holding_them(
    world: World,
) -> None:
    issue_tokens(world.db)
    dana = world.agent("dana")
    cases = [
        services.create_case(world.db, dana, customer={"name": f"C{i}"}, subject="Many notes").id
        for i in range(10)
    ]
    add_notes(world.db, cases, 10_000)
    assert queries.verify_case(world.db, world.auditor(), cases[-1]).valid
    watch = StatementWatch()
    event.listen(world.db.engine, "before_cursor_execute", watch.before_cursor_execute)
    event.listen(Event, "load", watch.load)
    tracemalloc.start()
    try:
        # A loop of its own, in a thread of its own: another test may leave one running here.
        with ThreadPoolExecutor(1) as server:
            export = export_through_the_app(world.db, "type=note_added&format=ndjson")
            seen = server.submit(asyncio.run, export).result()
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        event.remove(Event, "load", watch.load)
        event.remove(world.db.engine, "before_cursor_execute", watch.before_cursor_execute)

    assert (seen["status"], seen["content_type"]) == (200, b"application/x-ndjson")
    assert seen["lines"] == 100_000
    first, last = json.loads(seen["first"]), json.loads(seen["last"])
    assert (first["case_id"], first["seq"]) == (cases[0], 3)
    assert (last["case_id"], last["seq"]) == (cases[-1], 10_002)
    # 100,000 events as NDJSON alone are some 37 MB; held as objects, several times that.
    assert peak < 20 * 1024 * 1024, f"peak traced memory {peak / 2**20:.1f} MiB"
    assert watch.most_rows <= EXPORT_BATCH
    assert watch.selects >= 100_000 // EXPORT_BATCH
