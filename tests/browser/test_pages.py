"""The pages without a browser (TestClient), on every test database."""

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from freezegun import freeze_time

from api.ui.actions import ACTS
from api.ui.timeline import PHRASES
from handoff import services
from handoff.domain import lifecycle
from handoff.domain.authority import timer
from handoff.domain.principals import customer_of
from handoff.services import queries
from tests.browser.conftest import csrf_of, issue_tokens, ui_app
from tests.integration.world import ADMIN, World

Pages = Callable[[str | None], TestClient]
# Allowed by who may, but with nothing to act on until a joint session is live.
NEEDS_A_LIVE_SESSION = {"join_session", "leave_session", "end_session"}


def bank_case(world: World) -> str:
    """Dana's case, with First Bank taking part."""
    case = services.create_case(
        world.db,
        world.agent("dana"),
        customer={"name": "Carla Diaz"},
        subject="Pending charge",
        participants=["firstbank"],
    )
    return case.id


def forms_on(html: str, case_id: str) -> set[str]:
    return set(re.findall(rf'action="/ui/cases/{case_id}/(\w+)"', html))


def test_signing_in_with_a_bad_token_shows_an_error(pages: Pages) -> None:
    client = pages(None)
    answer = client.post(
        "/ui/sign-in",
        data={"csrf_token": csrf_of(client.get("/ui/sign-in").text), "token": "tok-nobody"},
    )
    assert answer.status_code == 400
    assert "That token is not valid." in answer.text
    assert client.get("/ui/queue").url.path == "/ui/sign-in"


def test_pages_lead_a_signed_out_visitor_to_sign_in_and_back(pages: Pages, world: World) -> None:
    case_id = bank_case(world)
    client = pages(None)
    assert client.get("/").url.path == "/ui/sign-in"
    answer = client.get(f"/ui/cases/{case_id}")
    assert answer.url.path == "/ui/sign-in"
    assert f'value="/ui/cases/{case_id}"' in answer.text  # where to go once signed in


def test_a_post_without_the_csrf_token_is_refused(pages: Pages, world: World) -> None:
    case = services.create_case(
        world.db, world.system("acme-crm"), customer={"name": "Carla"}, subject="Hold"
    )
    client = pages("dana")
    for data in ({}, {"csrf_token": "forged"}):
        answer = client.post(f"/ui/cases/{case.id}/claim", data=data)
        assert answer.status_code == 403
        assert "This form was not accepted" in answer.text
    assert queries.get_case(world.db, world.agent("dana"), case.id).state == "unclaimed"


def test_a_foreign_orgs_rep_gets_404_for_a_case_page(pages: Pages, world: World) -> None:
    case_id = bank_case(world)
    vic = pages("vic")  # Vendo takes no part in the case
    assert vic.get(f"/ui/cases/{case_id}").status_code == 404
    refused = vic.post(
        f"/ui/cases/{case_id}/add_note",
        data={"csrf_token": csrf_of(vic.get("/ui/queue").text), "text": "hello"},
    )
    assert refused.status_code == 404
    assert pages("ben").get(f"/ui/cases/{case_id}").status_code == 200  # a participant sees it


def test_the_customer_page_shows_no_internal_note(pages: Pages, world: World) -> None:
    db, dana = world.db, world.agent("dana")
    case_id = bank_case(world)
    services.add_note(db, dana, case_id, "Customer sounded upset; VIP account.", "internal")
    services.add_note(db, dana, case_id, "We are on it with First Bank.", "customer")
    services.create_request(db, dana, case_id, "firstbank", "Release the authorization hold")
    link = queries.get_case(db, dana, case_id).customer_link
    assert link is not None

    page = pages(None).get(link)
    assert page.status_code == 200
    assert "We are on it with First Bank." in page.text
    assert "Dana Reyes" in page.text
    assert "Acme Store" in page.text
    assert "do not need to call anyone else" in page.text
    for internal in ("VIP account", "Release the authorization hold", "tok-", case_id):
        assert internal not in page.text


def test_the_customer_page_says_what_the_customer_is_asked_for_while_the_case_awaits_them(
    pages: Pages, world: World
) -> None:
    db, dana = world.db, world.agent("dana")
    case_id = bank_case(world)
    services.await_customer(db, dana, case_id, "a photo of the receipt")
    link = queries.get_case(db, dana, case_id).customer_link
    assert link is not None

    waiting = pages(None).get(link).text
    services.customer_responded(db, dana, case_id)
    answered = pages(None).get(link).text

    assert "What we need from you:</strong> a photo of the receipt" in waiting
    assert "a photo of the receipt" not in answered


def test_a_customer_answer_without_the_csrf_token_is_refused(pages: Pages, world: World) -> None:
    db, dana = world.db, world.agent("dana")
    case_id = bank_case(world)
    case = services.propose_resolution(db, dana, case_id, "fixed", "Hold released.")
    answer = pages(None).post(f"{case.customer_link}/confirm_resolution", data={})
    assert answer.status_code == 403
    assert queries.get_case(db, dana, case_id).state == "resolution_proposed"


def test_the_forms_on_a_case_are_its_allowed_actions(pages: Pages, world: World) -> None:
    case_id = bank_case(world)
    for agent_id in ("dana", "sam", "ben", "ada"):
        html = pages(agent_id).get(f"/ui/cases/{case_id}").text
        allowed = queries.get_case(world.db, world.agent(agent_id), case_id).allowed_actions
        forms = forms_on(html, case_id)
        assert forms <= set(allowed)
        assert set(allowed) - forms <= NEEDS_A_LIVE_SESSION


def test_the_forms_during_a_warm_handoff_are_the_allowed_actions(
    pages: Pages, world: World
) -> None:
    db, dana = world.db, world.agent("dana")
    case_id = bank_case(world)
    handoff = services.propose_handoff(db, dana, case_id, "firstbank", "Hold still on the card.")
    session = services.start_session(db, dana, case_id, handoff.id)
    services.join_session(db, dana, case_id, session.id, "owner", "dana")
    # Allowed by who may, with nothing to act on: a second session, leaving when not present.
    idle = {"dana": {"start_session"}, "ben": {"start_session", "leave_session", "post_message"}}
    for agent_id in ("dana", "ben"):
        html = pages(agent_id).get(f"/ui/cases/{case_id}").text
        allowed = set(queries.get_case(db, world.agent(agent_id), case_id).allowed_actions)
        forms = forms_on(html, case_id)
        assert forms <= allowed
        assert allowed - forms <= idle[agent_id]
    assert {"accept_handoff", "decline_handoff", "join_session"} <= forms


def test_a_refused_action_shows_its_message_and_code(pages: Pages, world: World) -> None:
    case_id = bank_case(world)
    dana = pages("dana")
    answer = dana.post(
        f"/ui/cases/{case_id}/propose_resolution",
        data={
            "csrf_token": csrf_of(dana.get(f"/ui/cases/{case_id}").text),
            "code": "explained",
            "summary": "Sorry, please call your bank.",
        },
    )
    assert answer.status_code == 409
    assert "must not send the customer elsewhere" in answer.text
    assert "send_away_language" in answer.text
    assert "Traceback" not in answer.text


def test_an_action_someone_else_took_first_is_explained_in_words(
    pages: Pages, world: World
) -> None:
    case_id = services.create_case(
        world.db, world.system("acme-crm"), customer={"name": "Omar"}, subject="Refund"
    ).id
    sam = pages("sam")
    csrf = csrf_of(sam.get(f"/ui/cases/{case_id}").text)
    services.claim(world.db, world.agent("dana"), case_id)

    answer = sam.post(f"/ui/cases/{case_id}/claim", data={"csrf_token": csrf})

    assert answer.status_code == 409
    assert "“Claim” is not possible now: the case is active." in answer.text
    assert "claim is not possible while" not in answer.text


def test_the_customer_is_told_in_words_and_without_codes_when_an_answer_came_too_late(
    pages: Pages, world: World
) -> None:
    db, dana = world.db, world.agent("dana")
    case = services.propose_resolution(db, dana, bank_case(world), "fixed", "Hold released.")
    customer = pages(None)
    csrf = csrf_of(customer.get(str(case.customer_link)).text)
    services.confirm_resolution(db, customer_of(case.id), case.id)

    answer = customer.post(
        f"{case.customer_link}/reject_resolution", data={"csrf_token": csrf, "reason": "No."}
    )

    assert answer.status_code == 409
    assert "That is no longer possible" in answer.text
    assert "invalid_transition" not in answer.text
    assert "reject_resolution" not in answer.text


def test_a_case_with_no_other_org_offers_no_handoff_or_request_form_but_says_why(
    pages: Pages, world: World
) -> None:
    case_id = services.create_case(
        world.db, world.agent("dana"), customer={"name": "Omar"}, subject="Refund"
    ).id

    html = pages("dana").get(f"/ui/cases/{case_id}").text

    assert not {"propose_handoff", "create_request"} & forms_on(html, case_id)
    assert "first add that org to the case" in html


def test_the_join_menu_offers_only_the_parties_a_person_may_be(pages: Pages, world: World) -> None:
    db, dana = world.db, world.agent("dana")
    case_id = bank_case(world)
    handoff = services.propose_handoff(db, dana, case_id, "firstbank", "Hold still on the card.")
    services.start_session(db, dana, case_id, handoff.id)

    def offered(agent_id: str) -> set[str]:
        html = pages(agent_id).get(f"/ui/cases/{case_id}").text
        menu = html[html.index('id="join_session-party"') :].split("</select>")[0]
        return set(re.findall(r'<option value="(\w+)"', menu))

    assert offered("dana") == {"owner", "customer", "collaborator"}
    assert offered("ben") == {"receiver", "collaborator"}


def test_the_queue_lists_the_cases_waiting_on_the_readers_org(pages: Pages, world: World) -> None:
    case_id = bank_case(world)
    services.create_request(
        world.db, world.agent("dana"), case_id, "firstbank", "Release the authorization hold"
    )

    bank = pages("ben").get("/ui/queue").text
    acme = pages("dana").get("/ui/queue").text

    asked = bank[bank.index('data-testid="asked"') :]
    assert f"/ui/cases/{case_id}" in asked
    assert "Asked: Release the authorization hold" in asked
    assert f"/ui/cases/{case_id}" not in acme[acme.index('data-testid="asked"') :]


def test_a_supervisor_may_override_ping_pong_with_a_reason(pages: Pages, world: World) -> None:
    case_id = bank_case(world)
    html = pages("sam").get(f"/ui/cases/{case_id}").text
    assert 'name="override_reason"' in html
    assert "Dave Kim (rep)" in html  # assign, within the org
    assign = html[html.index('id="assign-agent_id"') :].split("</select>")[0]
    assert 'value="dana"' not in assign  # the case is hers already
    assert 'name="override_reason"' not in pages("dana").get(f"/ui/cases/{case_id}").text


def test_every_trigger_a_person_fires_has_a_form() -> None:
    by_people = {row.trigger for row in lifecycle.CASE_TABLE if row.who is not timer}
    assert set(ACTS) | {"add_attachments"} == by_people  # files have a form of their own


def test_the_timeline_has_words_for_every_event_the_engine_writes() -> None:
    """Webhook subscriptions are checked against the engine's list; the pages phrase each one."""
    assert set(PHRASES) == lifecycle.EVENT_TYPES


def test_a_deactivated_agent_is_signed_out_at_once(pages: Pages, world: World) -> None:
    dave = pages("dave")
    assert dave.get("/ui/queue").url.path == "/ui/queue"
    services.deactivate_agent(world.db, ADMIN, "acme", "dave")
    assert dave.get("/ui/queue").url.path == "/ui/sign-in"


def test_the_customer_may_reopen_only_within_the_window(pages: Pages, world: World) -> None:
    db, dana = world.db, world.agent("dana")
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    with freeze_time(start):
        case_id = bank_case(world)
        case = services.propose_resolution(db, dana, case_id, "fixed", "Hold released.")
        services.confirm_resolution(db, customer_of(case_id), case_id)
    customer, link = pages(None), case.customer_link
    assert link is not None
    with freeze_time(start + timedelta(days=29)):
        assert "Reopen my case" in customer.get(link).text
    with freeze_time(start + timedelta(days=31)):
        page = customer.get(link)
        assert "Solved and closed" in page.text
        assert "Reopen my case" not in page.text


def test_pages_cannot_be_framed_or_leak_their_address(pages: Pages) -> None:
    headers = pages(None).get("/ui/sign-in").headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"


def test_an_auditor_downloads_the_events_of_a_case(pages: Pages, world: World) -> None:
    case_id = bank_case(world)
    query = f"/ui/audit/export?format=csv&case={case_id}"
    answer = pages("ada").get(query)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = answer.text.splitlines()
    assert rows[0].startswith("case_id,seq,type")
    assert [row.split(",")[2] for row in rows[1:]] == ["case_created", "claimed"]
    assert pages("dana").get(query).status_code == 403  # auditors only


def test_what_people_type_is_shown_as_text_never_as_markup(pages: Pages, world: World) -> None:
    case = services.create_case(
        world.db, world.agent("dana"), customer={"name": "Eve"}, subject="<script>alert(1)</script>"
    )
    html = pages("dana").get(f"/ui/cases/{case.id}").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_session_cookie_is_httponly_lax_and_holds_no_token(world: World) -> None:
    issue_tokens(world.db)
    with TestClient(ui_app(world.db)) as client:
        form = csrf_of(client.get("/ui/sign-in").text)
        answer = client.post(
            "/ui/sign-in",
            data={"csrf_token": form, "token": "tok-dana"},
            follow_redirects=False,
        )
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("handoff_session=")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    payload = cookie.split("=", 1)[1].split(".", 1)[0]
    assert b"tok-dana" not in base64.b64decode(payload + "==")


def test_a_form_is_held_to_the_apis_limits_and_nothing_is_written(
    pages: Pages, world: World
) -> None:
    case_id = bank_case(world)
    dana = pages("dana")
    before = queries.get_case(world.db, world.agent("dana"), case_id).version
    for action, field, value in [
        ("create_request", "action", "x" * 301),
        ("create_request", "action", "Release\x00the hold"),
        ("add_note", "text", "y" * 10_001),
        ("propose_handoff", "summary", "The bank holds it\x00"),
        ("withdraw", "reason", "Sorted\x00"),
        ("assign", "agent_id", "da\x00na"),
    ]:
        form = {"to_org": "firstbank", "csrf_token": csrf_of(dana.get("/ui/queue").text)}
        answer = dana.post(f"/ui/cases/{case_id}/{action}", data=form | {field: value})
        assert answer.status_code == 422, (action, field)
        assert "validation_error" in answer.text
        assert f"{field}:" in answer.text
    assert queries.get_case(world.db, world.agent("dana"), case_id).version == before


def test_odd_addresses_of_cases_and_status_pages_are_not_found(pages: Pages, world: World) -> None:
    dana, ada, customer = pages("dana"), pages("ada"), pages(None)
    for odd in ("%00", "a%00b", "x" * 300):
        assert dana.get(f"/ui/cases/{odd}").status_code == 404
        assert ada.get(f"/ui/audit/cases/{odd}").status_code == 404
        assert customer.get(f"/c/{odd}").status_code == 404
        form = {"csrf_token": csrf_of(customer.get("/ui/sign-in").text), "reason": "r"}
        assert customer.post(f"/c/{odd}/reopen", data=form).status_code == 404


def test_an_address_under_ui_that_is_no_page_answers_a_not_found_page(pages: Pages) -> None:
    answer = pages("dana").get("/ui/no/such/page")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "There is no page at this address." in answer.text


def test_filters_in_a_pages_address_are_held_to_the_apis_limits(pages: Pages, world: World) -> None:
    case_id = bank_case(world)
    dana, ada = pages("dana"), pages("ada")
    assert dana.get("/ui/cases", params={"state": "a\x00b"}).status_code == 422
    assert dana.get("/ui/cases", params={"state": "resting"}).status_code == 422
    for field in ("org", "type", "actor", "case"):
        for path in ("/ui/audit", "/ui/audit/export"):
            answer = ada.get(path, params={field: "x\x00y"})
            assert answer.status_code == 422, (path, field)
            assert answer.headers["content-type"].startswith("text/html")
    too_many = " ".join([case_id] * 101)
    assert ada.get("/ui/audit", params={"case": too_many}).status_code == 422
    found = ada.get("/ui/audit", params={"case": case_id, "type": "case_created"})
    assert found.status_code == 200
    assert f'href="/ui/audit/cases/{case_id}"' in found.text
    assert "opened the case" in found.text


def test_a_signed_out_session_is_refused_even_from_a_copy_of_its_cookie(pages: Pages) -> None:
    dana = pages("dana")
    copied = dana.cookies.get("handoff_session")
    assert copied is not None
    assert dana.get("/ui/queue").url.path == "/ui/queue"

    signed_out = dana.post("/ui/sign-out", data={"csrf_token": csrf_of(dana.get("/ui/queue").text)})

    assert signed_out.url.path == "/ui/sign-in"
    thief = pages(None)
    thief.cookies.set("handoff_session", copied)
    assert thief.get("/ui/queue").url.path == "/ui/sign-in"
    assert pages("dana").get("/ui/queue").url.path == "/ui/queue"  # signing in again works
