"""Nothing about one case grows without bound in one answer (SPEC §14): the case carries its open
requests and counts the rest, every request is listed page by page, and `/as-of`, the case page's
timeline and the customer's page are paged."""

from typing import Any

from fastapi.testclient import TestClient

from handoff import services
from tests.e2e.conftest import auth
from tests.integration.world import World

LONG = "A long account of what the customer said. " * 50  # about 2 KB


def new_case(client: TestClient) -> dict[str, Any]:
    body = {"customer": {"name": "Carla"}, "subject": "Hold", "participants": ["firstbank"]}
    answer = client.post("/v1/cases", json=body, headers=auth("dana"))
    assert answer.status_code == 201
    case: dict[str, Any] = answer.json()
    return case


def grow(world: World, case_id: str, requests: int, notes: int, still_open: int = 2) -> list[str]:
    """Requests (all but `still_open` of them done) and internal notes, with long texts, written
    through the services; the requests' ids in the order they were made."""
    dana, ben = world.agent("dana"), world.agent("ben")
    made = []
    for n in range(requests):
        request = services.create_request(
            world.db, dana, case_id, "firstbank", f"Step {n}", details=LONG
        )
        made.append(request.id)
        if n < requests - still_open:
            services.complete_request(world.db, ben, case_id, request.id, note="Done.")
    for n in range(notes):
        services.add_note(world.db, ben, case_id, f"{n}: {LONG}")
    return made


def walk(client: TestClient, path: str, who: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a list, following `next_cursor`."""
    pages, cursor = [], None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        answer = client.get(path, params=query, headers=auth(who))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages.append(body["items"] if "items" in body else body["events"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_the_case_answer_carries_the_open_requests_with_counts_of_the_rest(
    client: TestClient, world: World
) -> None:
    case = new_case(client)
    made = grow(world, case["id"], requests=5, notes=0)

    answer = client.get(f"/v1/cases/{case['id']}", headers=auth("dana")).json()

    assert [r["id"] for r in answer["requests"]] == made[3:]
    assert answer["request_counts"] == {
        "open": 2,
        "acknowledged": 0,
        "done": 3,
        "declined": 0,
        "cancelled": 0,
    }


def test_paging_a_cases_requests_walks_every_one_exactly_once_in_the_order_made(
    client: TestClient, world: World
) -> None:
    case = new_case(client)
    made = grow(world, case["id"], requests=7, notes=0)

    pages = walk(client, f"/v1/cases/{case['id']}/requests", "ben", limit=3)

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [r["id"] for page in pages for r in page] == made
    done = walk(client, f"/v1/cases/{case['id']}/requests", "ben", state="done", limit=2)
    assert [r["id"] for page in done for r in page] == made[:5]
    assert {r["state"] for page in done for r in page} == {"done"}


def test_requests_made_in_the_same_instant_are_each_listed_once(
    client: TestClient, world: World
) -> None:
    case = new_case(client)
    dana = world.agent("dana")
    made = {
        services.create_request(world.db, dana, case["id"], "firstbank", f"Step {n}").id
        for n in range(5)
    }

    pages = walk(client, f"/v1/cases/{case['id']}/requests", "dana", limit=2)

    listed = [r["id"] for page in pages for r in page]
    assert sorted(listed) == sorted(made)


def test_an_unknown_request_state_or_a_forged_cursor_answers_422_problem(
    client: TestClient,
) -> None:
    case = new_case(client)
    path = f"/v1/cases/{case['id']}/requests"

    bad_state = client.get(path, params={"state": "finished"}, headers=auth("dana"))
    forged = client.get(path, params={"cursor": "eyJhdCI6IDEsICJpZCI6IDJ9"}, headers=auth("dana"))

    for answer in (bad_state, forged):
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
    assert forged.json()["code"] == "validation_error"


def test_the_requests_of_a_case_are_listed_only_to_those_who_may_read_it(
    client: TestClient,
) -> None:
    case = new_case(client)

    outsider = client.get(f"/v1/cases/{case['id']}/requests", headers=auth("tom"))

    assert outsider.status_code == 404


def test_as_of_pages_walk_every_event_up_to_then_exactly_once(
    client: TestClient, world: World
) -> None:
    case = new_case(client)
    grow(world, case["id"], requests=3, notes=8)
    history = walk(client, f"/v1/cases/{case['id']}/events", "ada", limit=200)[0]

    pages = walk(client, f"/v1/cases/{case['id']}/as-of", "ada", at="2100-01-01T00:00:00Z", limit=4)

    assert all(len(page) <= 4 for page in pages)
    assert [e["seq"] for page in pages for e in page] == [e["seq"] for e in history]
    first = client.get(
        f"/v1/cases/{case['id']}/as-of",
        params={"at": "2100-01-01T00:00:00Z", "limit": 4},
        headers=auth("ada"),
    ).json()
    assert first["request_counts"]["done"] == 1
    assert first["state"] == "active"


def sign_in(client: TestClient, who: str) -> None:
    page = client.get("/ui/sign-in").text
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    signed_in = client.post(
        "/ui/sign-in",
        data={"csrf_token": csrf, "token": f"tok-{who}", "next": "/ui/"},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303


def sizes(client: TestClient, case: dict[str, Any]) -> dict[str, int]:
    """The length of each answer about the case that SPEC §14 bounds."""
    case_id, link = case["id"], case["customer_link"]
    read = {
        "case": client.get(f"/v1/cases/{case_id}", headers=auth("dana")),
        "as-of": client.get(
            f"/v1/cases/{case_id}/as-of",
            params={"at": "2100-01-01T00:00:00Z"},
            headers=auth("ada"),
        ),
        "case page": client.get(f"/ui/cases/{case_id}"),
        "customer page": client.get(link),
    }
    for answer in read.values():
        assert answer.status_code == 200
    return {what: len(answer.content) for what, answer in read.items()}


def test_answers_about_a_case_stay_the_same_size_however_much_it_holds(
    client: TestClient, world: World
) -> None:
    """Each answer shows a bounded page: writing many more requests and notes (each note about
    2 KB) leaves their sizes where they were, give or take a few digits; `/as-of` lists up to 100
    requests beside its page of 50 events."""
    sign_in(client, "dana")
    case = new_case(client)
    services.add_note(world.db, world.agent("dana"), case["id"], "We are on it.", "customer")
    grow(world, case["id"], requests=4, notes=60)
    before = sizes(client, case)

    grow(world, case["id"], requests=60, notes=120, still_open=0)
    after = sizes(client, case)

    for what in ("case", "case page", "customer page"):
        assert after[what] <= before[what] * 1.02, what
    assert after["as-of"] < 50 * 2_500 + 100 * 200
    assert after["case"] < 20_000  # two open requests of 2 KB
    assert after["customer page"] < 20_000


def test_the_case_pages_timeline_shows_the_newest_events_and_links_to_older_ones(
    client: TestClient, world: World
) -> None:
    sign_in(client, "dana")
    case = new_case(client)
    for n in range(60):
        services.add_note(world.db, world.agent("dana"), case["id"], f"Note number {n}.")

    newest = client.get(f"/ui/cases/{case['id']}").text
    before = newest.split("?before=", 1)[1].split('"', 1)[0]
    older = client.get(f"/ui/cases/{case['id']}", params={"before": before}).text
    oldest = client.get(f"/ui/cases/{case['id']}", params={"before": "4"}).text
    refused = client.get(f"/ui/cases/{case['id']}", params={"before": "soon"})

    assert "Note number 59." in newest
    assert "Note number 0." not in newest
    assert "Note number 59." not in older
    assert "Note number 30." in older
    assert "Older events" in older
    assert "Note number 0." in oldest
    assert "Older events" not in oldest
    assert refused.status_code == 422
    assert "No such page" in refused.text


def test_the_customers_page_shows_the_newest_notes_to_them_and_links_to_earlier_ones(
    client: TestClient, world: World
) -> None:
    case = new_case(client)
    dana = world.agent("dana")
    for n in range(30):
        services.add_note(world.db, dana, case["id"], f"Update number {n}.", "customer")
        services.add_note(world.db, dana, case["id"], f"Internal number {n}.", "internal")

    newest = client.get(case["customer_link"]).text
    before = newest.split("?before=", 1)[1].split('"', 1)[0]
    earlier = client.get(case["customer_link"], params={"before": before}).text

    assert "Update number 29." in newest
    assert "Update number 0." not in newest
    assert "Update number 0." in earlier
    assert "Update number 29." not in earlier
    assert "Internal number" not in newest + earlier


def test_the_case_page_counts_the_settled_requests_it_does_not_show(
    client: TestClient, world: World
) -> None:
    sign_in(client, "dana")
    case = new_case(client)
    grow(world, case["id"], requests=4, notes=0)

    page = client.get(f"/ui/cases/{case['id']}").text

    assert 'data-testid="settled-requests">Settled: 2 done</p>' in page
