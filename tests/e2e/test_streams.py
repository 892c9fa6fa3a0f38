"""Event streams over HTTP (SPEC §12): a case's, and every visible case's, as they are committed."""

import json
from collections.abc import Iterator

import httpx
import pytest

from api.app import create_app
from handoff.config import Settings
from handoff.store.db import Database
from tests.e2e.conftest import auth, issue_tokens
from tests.e2e.sse import reading, serving
from tests.integration.world import World


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
