"""The customer's part in their case, without a browser (TestClient): joining a live session,
speaking in it, and answering what is needed with files (SPEC §12)."""

import hashlib
from collections.abc import Callable

from fastapi.testclient import TestClient

from handoff import services
from handoff.domain.principals import customer_of
from handoff.services import queries
from tests.browser.conftest import csrf_of
from tests.integration.world import World

Pages = Callable[[str | None], TestClient]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def handoff_in_session(world: World) -> tuple[str, str, str]:
    """Dana's case proposed to First Bank, with a live session for it: (case, session, link)."""
    db, dana = world.db, world.agent("dana")
    case = services.create_case(
        db, dana, customer={"name": "Carla Diaz"}, subject="Hold", participants=["firstbank"]
    )
    services.propose_handoff(db, dana, case.id, "firstbank", "Card hold of $84.20 after refund.")
    session = services.start_session(
        db, dana, case.id, queries.get_case(db, dana, case.id).handoff.id
    )  # type: ignore[union-attr]
    link = queries.get_case(db, dana, case.id).customer_link
    assert link is not None
    return case.id, session.id, link


def test_the_customer_joins_from_their_link_speaks_and_leaves(pages: Pages, world: World) -> None:
    db, dana = world.db, world.agent("dana")
    case_id, session_id, link = handoff_in_session(world)
    services.join_session(db, dana, case_id, session_id, "owner", "dana")
    customer = pages(None)
    page = customer.get(link).text
    assert "Acme Store is bringing in First Bank:" in page
    assert "Dana Reyes of Acme Store" in page
    csrf = csrf_of(page)

    joined = customer.post(f"{link}/join", data={"csrf_token": csrf, "session_id": session_id})
    said = customer.post(
        f"{link}/messages", data={"csrf_token": csrf, "session_id": session_id, "text": "Hello"}
    )

    assert joined.status_code == said.status_code == 200
    present = queries.get_case(db, dana, case_id).session.present  # type: ignore[union-attr]
    assert [(p.party, p.via) for p in present] == [("owner", "agent"), ("customer", "link")]
    assert "You joined the conversation" in joined.text
    assert "Hello" in said.text
    panel = pages("dana").get(f"/ui/cases/{case_id}").text
    assert "the customer (joined from their link)" in panel
    assert "Waiting for: a person of First Bank as receiver" in panel
    assert "Hello" in panel
    left = customer.post(f"{link}/leave", data={"csrf_token": csrf, "session_id": session_id})
    assert "You left the conversation" in left.text
    assert queries.get_case(db, dana, case_id).session.present[-1].party == "owner"  # type: ignore[union-attr]


def test_the_customer_answers_what_is_needed_with_a_photo_and_the_rep_downloads_it(
    pages: Pages, world: World
) -> None:
    db, dana = world.db, world.agent("dana")
    case = services.create_case(db, dana, customer={"name": "Omar"}, subject="Broken parcel")
    services.await_customer(db, dana, case.id, "a photo of the label")
    link = str(queries.get_case(db, dana, case.id).customer_link)
    customer = pages(None)
    csrf = csrf_of(customer.get(link).text)

    sent = customer.post(
        f"{link}/answer",
        data={"csrf_token": csrf, "note": "Here it is."},
        files=[("files", ("label.png", PNG, "image/png"))],
    )

    assert sent.status_code == 200
    assert "We have what you sent" in sent.text
    answered = queries.get_case(db, dana, case.id)
    assert answered.state == "active"
    assert [a.name for a in answered.attachments] == ["label.png"]
    rep = pages("dana")
    assert "label.png" in rep.get(f"/ui/cases/{case.id}").text
    got = rep.get(f"/ui/cases/{case.id}/attachments/{answered.attachments[0].id}")
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert hashlib.sha256(got.content).hexdigest() == hashlib.sha256(PNG).hexdigest()
    signed_out = pages(None).get(got.url.path, follow_redirects=False)
    assert signed_out.status_code == 303


def test_a_wrong_file_is_a_page_with_its_reason_and_nothing_is_stored(
    pages: Pages, world: World
) -> None:
    db, dana = world.db, world.agent("dana")
    case = services.create_case(db, dana, customer={"name": "Omar"}, subject="Broken parcel")
    services.await_customer(db, dana, case.id, "a photo of the label")
    link = str(queries.get_case(db, dana, case.id).customer_link)
    customer = pages(None)
    csrf = csrf_of(customer.get(link).text)
    files = [("files", ("label.png", PNG, "image/png")), ("files", ("x.exe", b"MZ..", "image/png"))]

    refused = customer.post(f"{link}/answer", data={"csrf_token": csrf}, files=files)

    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("text/html")
    assert "x.exe is not an image or a PDF" in refused.text
    after = queries.get_case(db, dana, case.id)
    assert after.state == "awaiting_customer"
    assert after.attachments == []


def test_a_file_too_large_is_a_413_page_with_a_way_back(pages: Pages, world: World) -> None:
    db, dana = world.db, world.agent("dana")
    case = services.create_case(db, dana, customer={"name": "Omar"}, subject="Broken parcel")
    services.await_customer(db, dana, case.id, "a photo of the label")
    link = str(queries.get_case(db, dana, case.id).customer_link)
    customer = pages(None)
    csrf = csrf_of(customer.get(link).text)
    big = PNG + b"\x00" * (10 * 1024 * 1024)

    refused = customer.post(
        f"{link}/answer", data={"csrf_token": csrf}, files=[("files", ("big.png", big))]
    )

    assert refused.status_code == 413
    assert f'href="{link}"' in refused.text
    assert queries.get_case(db, dana, case.id).state == "awaiting_customer"


def test_the_customer_speaks_only_when_present(pages: Pages, world: World) -> None:
    case_id, session_id, link = handoff_in_session(world)
    customer = pages(None)
    page = customer.get(link).text
    assert f'action="{link}/messages"' not in page
    said = customer.post(
        f"{link}/messages",
        data={"csrf_token": csrf_of(page), "session_id": session_id, "text": "Hi"},
    )
    assert said.status_code == 403
    assert "Code:" not in said.text
    assert customer_of(case_id).kind == "customer"
