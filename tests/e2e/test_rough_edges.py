"""What a new user meets walking the README and the web UI (issue 16's rough edges), over HTTP
and the command line: each says what is true, in names, and every address a page shows works."""

import logging
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from freezegun import freeze_time
from typer.testing import CliRunner

from handoff import services
from handoff.cli import app as cli
from handoff.cli import configure_worker_logging
from handoff.delivery.worker import tick
from handoff.demo import load_demo
from handoff.services import queries
from handoff.store.db import Database
from tests.e2e.conftest import auth
from tests.integration.world import World

ROOT = Path(__file__).parents[2]


def signed_in(client: TestClient, who: str) -> TestClient:
    page = client.get("/ui/sign-in").text
    csrf = csrf_of(page)
    answer = client.post("/ui/sign-in", data={"csrf_token": csrf, "token": f"tok-{who}"})
    assert answer.status_code == 200, answer.text
    return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form"
    return found.group(1)


def bank_case(world: World) -> str:
    """Dana's case, with First Bank taking part."""
    dana = world.agent("dana")
    case = services.create_case(
        world.db, dana, customer={"name": "Carla Diaz"}, subject="Hold", participants=["firstbank"]
    )
    return case.id


def audit_search(client: TestClient, case: str) -> list[str]:
    answer = client.get("/v1/audit/events", params={"case": case}, headers=auth("ada"))
    assert answer.status_code == 200, answer.text
    return [e["case_id"] for e in answer.json()["items"]]


# 1. Audit search by a case's reference and by the short id the results show.


def test_audit_search_finds_a_case_by_its_reference_and_its_short_id_as_by_its_id(
    client: TestClient, world: World
) -> None:
    wanted, other = bank_case(world), bank_case(world)
    reference = queries.get_case(world.db, world.agent("dana"), wanted).reference

    by_id = audit_search(client, wanted)
    assert by_id
    assert set(by_id) == {wanted}
    assert audit_search(client, reference) == by_id
    assert audit_search(client, reference.lower()) == by_id
    assert audit_search(client, wanted[:8]) == by_id
    assert audit_search(client, "HC-999999") == []
    assert other not in audit_search(client, reference)

    page = signed_in(client, "ada").get("/ui/audit", params={"case": reference})
    assert page.status_code == 200
    assert f"{reference} · case {wanted[:8]}" in page.text
    assert f"case {other[:8]}" not in page.text
    shown = client.get("/ui/audit", params={"case": wanted[:8]})
    assert f"case {wanted[:8]}" in shown.text


# 2. My cases: closed ones too, and an empty list that says what is true.


def test_my_cases_lists_closed_cases_under_closed_and_says_where_they_are(
    client: TestClient, world: World
) -> None:
    db, dana = world.db, world.agent("dana")
    case_id = bank_case(world)
    services.withdraw(db, dana, case_id, "The customer sorted it out.")

    page = signed_in(client, "dana").get("/ui/mine").text
    assert "No cases here." not in page
    assert "You own no open cases." in page
    assert 'href="/ui/mine?show=closed"' in page
    closed = client.get("/ui/mine", params={"show": "closed"}).text
    assert f"/ui/cases/{case_id}" in closed
    mine = client.get("/v1/cases", params={"mine": "true", "state": "closed"}, headers=auth("dana"))
    assert [c["id"] for c in mine.json()["items"]] == [case_id]
    assert client.get("/ui/mine", params={"show": "everything"}).status_code == 422


def test_a_rep_with_no_cases_at_all_is_told_so_without_a_link_to_closed_ones(
    client: TestClient,
) -> None:
    page = signed_in(client, "dave").get("/ui/mine").text
    assert "You own no open cases." in page
    assert "See your closed cases" not in page
    assert "You own no closed cases." in client.get("/ui/mine?show=closed").text


# 3 and 4. `make run` on HOST and PORT, and the demo's printout.


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_serves_on_the_port_given_and_the_demo_links_there() -> None:
    def planned(*args: str, env: dict[str, str] | None = None) -> list[str]:
        done = subprocess.run(
            ["make", "-n", "run", *args],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", **(env or {})},
            capture_output=True,
            text=True,
            check=True,
        )
        return [line for line in done.stdout.splitlines() if "handoff " in line]

    lines = planned("PORT=8731")
    assert any("demo --base-url 'http://127.0.0.1:8731'" in line for line in lines), lines
    assert any("serve --host '127.0.0.1' --port '8731'" in line for line in lines), lines
    everywhere = planned("HOST=0.0.0.0", "PORT=9000")
    assert any("demo --base-url 'http://127.0.0.1:9000'" in line for line in everywhere)
    assert any("serve --host '0.0.0.0' --port '9000'" in line for line in everywhere)
    public = planned(env={"HANDOFF_PUBLIC_URL": "https://help.example.com"})
    assert any("demo --base-url 'https://help.example.com'" in line for line in public)


def test_the_demo_prints_its_links_on_the_address_it_is_given(db: Database) -> None:
    env = {"HANDOFF_DATABASE_URL": db.settings.database_url}
    given = CliRunner().invoke(cli, ["demo", "--base-url", "http://127.0.0.1:8731/"], env=env)
    public = CliRunner().invoke(
        cli, ["demo"], env={**env, "HANDOFF_PUBLIC_URL": "https://h.example"}
    )

    assert given.exit_code == 0, given.output
    links = re.findall(r"https?://[^\s\"']+", given.output)
    assert links
    assert all(link.startswith("http://127.0.0.1:8731/") for link in links)
    assert public.exit_code == 0, public.output
    links = re.findall(r"https?://[^\s\"']+", public.output)
    assert links
    assert all(link.startswith("https://h.example/") for link in links)


def test_the_demo_run_again_says_each_case_as_it_is_now_and_suggests_what_fits(
    db: Database,
) -> None:
    first = load_demo(db)
    assert any(re.search(r"/v1/cases/\w+/claim", line) for line in first.lines())
    dana = services.authenticate(db, "tok-dana")
    assert dana is not None
    for case in first.cases:
        if case.state == "unclaimed":
            services.claim(db, dana, case.id)
            services.withdraw(db, dana, case.id, "The customer found the parcel.")

    again = load_demo(db)
    printed = "\n".join(again.lines())

    assert [c.state for c in again.cases if c.story.startswith("Acme")] == ["closed", "closed"]
    for case in again.cases:
        row = next(line for line in again.lines() if line.strip().startswith(case.reference))
        assert case.state in row.split()
        assert "unclaimed" not in row or case.state == "unclaimed"
    assert "claim it" not in printed
    assert not re.search(r"/v1/cases/\w+/claim", printed)
    assert "/v1/cases?mine=true" in printed


# 5. Names, not ids, in what people read.


def test_a_refused_acceptance_names_who_is_missing(client: TestClient, world: World) -> None:
    db, dana = world.db, world.agent("dana")
    case_id = bank_case(world)
    handoff = services.propose_handoff(db, dana, case_id, "firstbank", "Hold on the card.")
    services.start_session(db, dana, case_id, handoff.id)
    ben = signed_in(client, "ben")
    csrf = csrf_of(ben.get(f"/ui/cases/{case_id}").text)

    page = ben.post(
        f"/ui/cases/{case_id}/accept_handoff", data={"csrf_token": csrf, "handoff_id": handoff.id}
    )

    assert page.status_code == 409
    assert (
        "Missing: the owner (Dana Reyes), the receiver (Ben Okafor) and the customer" in page.text
    )
    assert "(ben)" not in page.text
    assert "(dana)" not in page.text
    assert "warm_session_required" in page.text


def test_a_refused_resolution_names_the_org_that_owes_work_on_the_page_and_timeline(
    client: TestClient, world: World
) -> None:
    db, dana = world.db, world.agent("dana")
    case_id = bank_case(world)
    services.create_request(db, dana, case_id, "firstbank", "Release the hold")
    page = signed_in(client, "dana")
    csrf = csrf_of(page.get(f"/ui/cases/{case_id}").text)

    refused = page.post(
        f"/ui/cases/{case_id}/propose_resolution",
        data={"csrf_token": csrf, "code": "credited", "summary": "The hold is released."},
    )

    sentence = "The case cannot be resolved while First Bank still owes work on it."
    assert refused.status_code == 409
    assert sentence in refused.text
    assert "firstbank still owes" not in refused.text
    timeline = page.get(f"/ui/cases/{case_id}").text
    assert f"refused: {sentence}" in timeline
    ada = signed_in(TestClient(client.app), "ada")
    assert sentence in ada.get("/ui/audit", params={"case": case_id, "type": "refused"}).text


# 6. A refusal's page can be reloaded: it was reached by a redirect, and its form's address is a
# page too.


def test_a_refused_action_redirects_to_the_case_page_which_shows_the_refusal_once(
    client: TestClient, world: World
) -> None:
    case_id = bank_case(world)
    page = signed_in(client, "dana")
    csrf = csrf_of(page.get(f"/ui/cases/{case_id}").text)
    summary = "Nothing more we can do here, please call your bank."

    answer = page.post(
        f"/ui/cases/{case_id}/propose_resolution",
        data={"csrf_token": csrf, "code": "explained", "summary": summary},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/ui/cases/{case_id}"

    shown = page.get(answer.headers["location"])
    assert shown.status_code == 409
    assert "must not send the customer elsewhere" in shown.text
    assert summary in shown.text  # what was typed is kept in its form
    reloaded = page.get(f"/ui/cases/{case_id}")
    assert reloaded.status_code == 200
    assert "must not send the customer elsewhere" not in reloaded.text.split("Timeline")[0]

    address = page.get(f"/ui/cases/{case_id}/propose_resolution", follow_redirects=False)
    assert address.status_code == 303
    assert address.headers["location"] == f"/ui/cases/{case_id}"
    assert page.get(f"/ui/cases/{case_id}/no_such_action").status_code == 404


def test_the_pages_own_refresh_leaves_the_refusal_to_the_page_the_browser_goes_to(
    client: TestClient, world: World
) -> None:
    case_id = bank_case(world)
    page = signed_in(client, "dana")
    csrf = csrf_of(page.get(f"/ui/cases/{case_id}").text)
    page.post(
        f"/ui/cases/{case_id}/propose_resolution",
        data={"csrf_token": csrf, "code": "explained", "summary": "Please call your bank."},
        follow_redirects=False,
    )

    refreshed = page.get(f"/ui/cases/{case_id}", headers={"Sec-Fetch-Mode": "cors"})
    visited = page.get(f"/ui/cases/{case_id}", headers={"Sec-Fetch-Mode": "navigate"})

    assert refreshed.status_code == 200
    assert visited.status_code == 409
    assert "must not send the customer elsewhere" in visited.text


def test_a_customers_refused_answer_redirects_to_their_page_which_reloads(
    client: TestClient, world: World
) -> None:
    db, dana = world.db, world.agent("dana")
    case = services.propose_resolution(db, dana, bank_case(world), "fixed", "Hold released.")
    link = str(case.customer_link)
    csrf = csrf_of(client.get(link).text)
    services.confirm_resolution(db, dana, case.id)

    answer = client.post(
        f"{link}/reject_resolution",
        data={"csrf_token": csrf, "reason": "Still there."},
        follow_redirects=False,
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == link
    shown = client.get(link)
    assert shown.status_code == 409
    assert "That is no longer possible" in shown.text
    assert client.get(link).status_code == 200
    assert client.get(f"{link}/reject_resolution").status_code == 200  # back to the page
    assert client.get(f"{link}/no_such_answer").status_code == 404


def test_a_refusal_with_more_typed_than_a_cookie_holds_is_answered_in_place(
    client: TestClient, world: World
) -> None:
    case_id = bank_case(world)
    page = signed_in(client, "dana")
    csrf = csrf_of(page.get(f"/ui/cases/{case_id}").text)
    summary = "Please call your bank. " + "The hold was placed on 2 March. " * 200

    answer = page.post(
        f"/ui/cases/{case_id}/propose_resolution",
        data={"csrf_token": csrf, "code": "explained", "summary": summary},
        follow_redirects=False,
    )

    assert answer.status_code == 409
    assert summary.strip() in answer.text  # not a word lost
    assert len(answer.headers.get("set-cookie", "")) < 4096


# 7. The worker's log: one line of its own per change, none of the transitions library's.


@pytest.fixture
def worker_logging() -> Iterator[None]:
    names = ("alembic", "transitions")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("worker_logging")
def test_the_worker_logs_no_transitions_lines(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    opened = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)
    with freeze_time(opened):
        case = services.create_case(
            world.db, world.system("acme-crm"), customer={"name": "Omar"}, subject="Refund"
        )
    configure_worker_logging()
    caplog.set_level(logging.INFO)

    with freeze_time(opened + timedelta(hours=1)):
        done = tick(world.db, deliver=False)

    assert done["escalated_unclaimed"] == 1
    assert queries.get_case(world.db, world.agent("sam"), case.id).state == "active"
    assert [r.getMessage() for r in caplog.records if r.name.startswith("transitions")] == []


# 8. The queue says what is true of what it shows.


def test_a_queue_with_nothing_to_claim_does_not_say_nothing_waits_above_what_waits(
    client: TestClient, world: World
) -> None:
    case_id = bank_case(world)
    services.create_request(world.db, world.agent("dana"), case_id, "firstbank", "Release it")

    queue = signed_in(client, "ben").get("/ui/queue").text

    assert "Nothing is waiting" not in queue
    assert "Nothing to claim: every case of First Bank has an owner." in queue
    assert f"/ui/cases/{case_id}" in queue[queue.index('data-testid="asked"') :]
