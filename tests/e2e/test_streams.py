"""Event streams over HTTP (SPEC §12): a case's, and every visible case's, as they are committed."""

import asyncio
import gc
import json
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import select

from api.app import create_app
from api.routes import streams as routes
from handoff import services
from handoff.config import Settings
from handoff.delivery import stream_reads
from handoff.delivery.stream_feeds import Message, open_case
from handoff.delivery.streams import Hub
from handoff.domain.principals import customer_of
from handoff.services import queries
from handoff.services.views import EventView
from handoff.store.db import Database
from handoff.store.models import PartyRow
from tests.browser.conftest import csrf_of
from tests.e2e.conftest import auth, issue_tokens
from tests.e2e.sse import reading, serving
from tests.integration.world import World

T = TypeVar("T")


@pytest.fixture
def base(world: World) -> Iterator[str]:
    issue_tokens(world.db)
    settings = Settings(database_url=world.db.settings.database_url, stream_keepalive=0.3)
    db = Database(settings)
    with serving(create_app(db)) as url:
        yield url
    db.dispose()


def post(base: str, who: str, path: str, body: dict[str, object] | None = None) -> dict:
    response = httpx.post(f"{base}{path}", json=body or {}, headers=auth(who), timeout=30)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def new_case(base: str, who: str = "acme-crm", participants: list[str] | None = None) -> str:
    body = {"customer": {"name": "Carla"}, "subject": "Pending charge"}
    body["participants"] = participants or ["firstbank"]
    return str(post(base, who, "/v1/cases", body)["id"])


def note(base: str, case_id: str, text: str, who: str = "dana") -> None:
    post(base, who, f"/v1/cases/{case_id}/notes", {"text": text, "visibility": "internal"})


def history(base: str, case_id: str) -> list[dict]:
    response = httpx.get(f"{base}/v1/cases/{case_id}/events?limit=200", headers=auth("dana"))
    return list(response.json()["items"])


def test_a_case_stream_sends_the_history_then_each_event_as_it_is_committed(base: str) -> None:
    case_id = new_case(base)
    with reading(f"{base}/v1/cases/{case_id}/stream", **auth("ben")) as stream:
        assert stream.response is not None
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        first = stream.next_event()
        post(base, "dana", f"/v1/cases/{case_id}/claim")
        claimed = stream.next_event()
    events = history(base, case_id)
    assert [first.id, claimed.id] == ["1", "2"]
    assert claimed.event == events[1]["type"] == "claimed"
    assert [json.loads(first.data), json.loads(claimed.data)] == events


def test_last_event_id_resumes_with_nothing_lost_or_repeated(base: str) -> None:
    case_id = new_case(base)
    post(base, "dana", f"/v1/cases/{case_id}/claim")
    url = f"{base}/v1/cases/{case_id}/stream"
    with reading(url, **auth("dana")) as stream:
        seen = [stream.next_event().id, stream.next_event().id]
    for n in range(3):  # written while nobody listens
        note(base, case_id, f"note {n}")
    with reading(url, **auth("dana"), **{"Last-Event-ID": seen[-1]}) as stream:
        seen += [stream.next_event().id for _ in range(3)]
        note(base, case_id, "one more")
        seen.append(stream.next_event().id)
        with pytest.raises(AssertionError):  # nothing more: no event is sent twice
            stream.next_event(timeout=1)
    assert seen == [str(seq) for seq in range(1, 7)]


def test_a_case_the_caller_may_not_see_is_not_found_before_any_stream(base: str) -> None:
    case_id = new_case(base)
    response = httpx.get(f"{base}/v1/cases/{case_id}/stream", headers=auth("vic"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    missing = httpx.get(f"{base}/v1/cases/{'0' * 32}/stream", headers=auth("dana"))
    assert missing.status_code == 404
    assert httpx.get(f"{base}/v1/cases/{case_id}/stream").status_code == 401


def test_a_quiet_stream_sends_keep_alive_comments(base: str) -> None:
    case_id = new_case(base)
    with reading(f"{base}/v1/cases/{case_id}/stream?last_event_id=1", **auth("dana")) as stream:
        message = stream.next(timeout=5)
        while not message.comments:
            message = stream.next(timeout=5)
        assert message.comments == ["keep-alive"]


def test_the_org_stream_sends_only_the_cases_the_org_takes_part_in(base: str) -> None:
    with (
        reading(f"{base}/v1/stream", **auth("ben")) as bank,
        reading(f"{base}/v1/stream", **auth("vic")) as vendo,
    ):
        with_bank = new_case(base, participants=["firstbank"])
        without_bank = new_case(base, participants=["vendo"])
        post(base, "dana", f"/v1/cases/{without_bank}/claim")
        post(base, "dana", f"/v1/cases/{with_bank}/claim")
        got = [json.loads(bank.next_event().data) for _ in range(2)]
        assert [(e["case_id"], e["seq"]) for e in got] == [(with_bank, 1), (with_bank, 2)]
        assert json.loads(vendo.next_event().data)["case_id"] == without_bank
        with pytest.raises(AssertionError):
            bank.next_event(timeout=1)


def test_the_org_stream_resumes_from_its_cursor(base: str) -> None:
    with reading(f"{base}/v1/stream", **auth("ben")) as stream:
        case_id = new_case(base)
        created = stream.next_event()
    post(base, "dana", f"/v1/cases/{case_id}/claim")
    note(base, case_id, "while away")
    with reading(f"{base}/v1/stream", **auth("ben"), **{"Last-Event-ID": created.id}) as stream:
        got = [json.loads(stream.next_event().data)["seq"] for _ in range(2)]
        note(base, case_id, "after")
        got.append(json.loads(stream.next_event().data)["seq"])
        with pytest.raises(AssertionError):
            stream.next_event(timeout=1)
    assert got == [2, 3, 4]
    bad = httpx.get(f"{base}/v1/stream", headers={**auth("ben"), "Last-Event-ID": "nonsense"})
    assert bad.status_code == 422


# The web pages' streams: the same hub, read with the page's own key.


def link_of(world: World, case_id: str) -> str:
    link = queries.get_case(world.db, world.agent("dana"), case_id).customer_link
    assert link is not None
    return link


def page_cookie(base: str, who: str) -> dict[str, str]:
    """The session cookie of `who`, signed in on the web UI, as a header."""
    with httpx.Client(base_url=base) as client:
        form = csrf_of(client.get("/ui/sign-in").text)
        signed = client.post("/ui/sign-in", data={"csrf_token": form, "token": f"tok-{who}"})
        assert signed.status_code in (200, 303), signed.text
        return {"Cookie": f"handoff_session={client.cookies['handoff_session']}"}


def test_a_case_pages_stream_sends_the_events_to_a_signed_in_reader_only(
    base: str, world: World
) -> None:
    case_id = new_case(base)
    url = f"{base}/ui/cases/{case_id}/stream?after=1"
    with reading(url, **page_cookie(base, "ben")) as stream:
        note(base, case_id, "Called the bank.")
        got = stream.next_event()
    assert (got.id, got.event) == ("2", "note_added")
    assert json.loads(got.data) == history(base, case_id)[1]
    outsider = httpx.get(url, headers=page_cookie(base, "vic"))
    assert outsider.status_code == 404
    assert outsider.headers["content-type"].startswith("text/html")


def test_the_customers_page_stream_says_only_that_the_case_changed(base: str, world: World) -> None:
    case_id = new_case(base)
    url = f"{base}{link_of(world, case_id)}/stream?after=1"
    with reading(url) as stream:
        note(base, case_id, "Internal: the customer is on hold with the bank.")
        got = stream.next_event()
    assert (got.id, got.event, json.loads(got.data)) == ("2", "changed", {"seq": 2})
    assert httpx.get(f"{base}/c/{'x' * 32}/stream").status_code == 404


def test_the_customers_page_stream_keeps_their_presence_by_link_while_it_is_open(
    base: str, world: World
) -> None:
    case_id = new_case(base)
    post(base, "dana", f"/v1/cases/{case_id}/claim")
    session_id = post(base, "dana", f"/v1/cases/{case_id}/sessions")["id"]
    customer = customer_of(case_id)
    services.join_session(world.db, customer, case_id, session_id, "customer")
    joined = seen_at(world, session_id)
    with reading(f"{base}{link_of(world, case_id)}/stream") as stream:
        for _ in range(2):  # each keep-alive comment is followed by a heartbeat
            message = stream.next(timeout=5)
            while not message.comments:
                message = stream.next(timeout=5)
        assert seen_at(world, session_id) > joined


def seen_at(world: World, session_id: str) -> datetime:
    with world.db.reading() as session:
        row = session.scalars(select(PartyRow).where(PartyRow.session_id == session_id)).one()
        assert row.seen_at is not None
        return row.seen_at


# The hub itself: what the news of one commit costs, however many streams are open.


def run_apart(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """`work` on an event loop of its own thread (Playwright's sync API, in the same test
    process, keeps one running on this one)."""
    with ThreadPoolExecutor(1) as apart:
        return apart.submit(asyncio.run, work()).result()


def test_one_commit_costs_one_read_and_one_rendering_for_all_the_case_streams(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    if world.db.is_postgres:
        pytest.skip("the LISTEN connection wakes the hub at times of its own: reads uncountable")
    db, dana = world.db, world.agent("dana")
    case_id = services.create_case(db, dana, customer={"name": "Carla"}, subject="Hold").id
    seen = len(queries.case_events(db, world.auditor(), case_id))
    hub_reads: list[stream_reads.Batch] = []
    reading_new = stream_reads.new_events

    def counted(*args: Any) -> stream_reads.Batch:
        hub_reads.append(reading_new(*args))
        return hub_reads[-1]

    monkeypatch.setattr(stream_reads, "new_events", counted)
    rendered: list[int] = []

    def render(view: EventView) -> str:
        rendered.append(view.seq)
        return routes.render(view)

    async def fifty_streams_see_one_note() -> list[Message | None]:
        hub = Hub(db, render, poll=600, keepalive=600)  # no polls, no keep-alives: only news
        streams = [(await open_case(hub, dana, case_id, seen)).messages() for _ in range(50)]
        await asyncio.to_thread(services.add_note, db, dana, case_id, "Called the bank.")
        got = [await asyncio.wait_for(anext(stream), 10) for stream in streams]
        await hub.close()
        return got

    got = run_apart(fifty_streams_see_one_note)
    assert {(m[0], m[1].type) for m in got if m is not None} == {(str(seen + 1), "note_added")}
    assert len(got) == 50
    assert [len(batch.events) for batch in hub_reads if batch.events] == [1]
    assert rendered == [seen + 1]


def test_a_stream_dropped_before_its_answer_began_leaves_the_hub(world: World) -> None:
    db, dana = world.db, world.agent("dana")
    case_id = services.create_case(db, dana, customer={"name": "Carla"}, subject="Hold").id

    async def open_and_drop() -> tuple[bool, bool]:
        hub = Hub(db, routes.render, poll=600, keepalive=600)
        stream = await open_case(hub, dana, case_id, None)
        watched_while_open = hub.watched
        del stream  # its answer never iterated it: a client gone before the first byte
        gc.collect()
        watched_after = hub.watched
        await hub.close()
        return watched_while_open, watched_after

    assert run_apart(open_and_drop) == (True, False)
