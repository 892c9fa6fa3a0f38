"""Three people in a warm handoff, each in their own browser (SPEC §12): the owner (Dana of Acme
Store), the receiver (Ben of First Bank) and the customer, from their own link. Every page keeps
itself up to date from its case's stream: nobody reloads."""

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from handoff import services
from handoff.services import queries
from tests.browser.conftest import PHONE, Site, screenshot, sign_in
from tests.browser.test_journeys import act

Window = Callable[..., Page]
# A tiny, valid PNG (one white pixel): what a phone's photo of a label stands for.
PHOTO = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4af0000000049454e44ae426082"
)


def handoff_in_session(site: Site) -> tuple[str, str]:
    """Dana's case, proposed to First Bank, with a live session she is in: (case id, link)."""
    db, dana = site.world.db, site.world.agent("dana")
    case = services.create_case(
        db,
        dana,
        customer={"name": "Carla Diaz"},
        subject="Card hold after a cancelled order",
        participants=["firstbank"],
    )
    handoff = services.propose_handoff(
        db, dana, case.id, "firstbank", "Order 5521 was cancelled; the $84.20 hold is still on."
    )
    session = services.start_session(db, dana, case.id, handoff.id)
    services.join_session(db, dana, case.id, session.id, "owner", "dana")
    link = queries.get_case(db, dana, case.id).customer_link
    assert link is not None
    return case.id, link


def signed_in_at(window: Page, path: str, agent_id: str) -> Page:
    window.goto(path)
    sign_in(window, agent_id)
    return window


def test_the_customer_joins_from_their_link_and_everyone_sees_the_handoff_live(
    site: Site, person: Window
) -> None:
    case_id, link = handoff_in_session(site)
    dana = signed_in_at(person(), f"/ui/cases/{case_id}", "dana")
    expect(dana.get_by_test_id("missing")).to_contain_text(
        "Waiting for: a person of First Bank as receiver; the customer"
    )

    customer = person(PHONE)
    customer.goto(link)
    words = customer.get_by_test_id("handoff-words")
    expect(words).to_contain_text("Acme Store is bringing in First Bank")
    customer.get_by_role("button", name="Join the conversation").click()
    expect(customer.get_by_test_id("present")).to_contain_text("You")
    expect(customer.get_by_test_id("present")).to_contain_text("Dana Reyes of Acme Store")

    # Dana's page, open all along, shows the customer arrive, by their link.
    expect(dana.get_by_test_id("present")).to_contain_text("the customer (joined from their link)")
    expect(dana.get_by_test_id("missing")).to_have_text(
        "Waiting for: a person of First Bank as receiver"
    )

    ben = signed_in_at(person(), f"/ui/cases/{case_id}", "ben")
    act(ben, "join_session")  # as receiver
    expect(customer.get_by_test_id("present")).to_contain_text("Ben Okafor of First Bank")
    expect(dana.get_by_test_id("missing")).to_have_count(0)

    ben.get_by_label("Say to everyone here").fill("Hello Carla, I see the hold and will lift it.")
    act(ben, "post_message")
    said = "Hello Carla, I see the hold and will lift it."
    expect(customer.get_by_test_id("messages")).to_contain_text(said)
    expect(dana.get_by_test_id("messages")).to_contain_text(said)
    customer.get_by_label("Your message").fill("Thank you!")
    customer.get_by_role("button", name="Send", exact=True).click()
    expect(ben.get_by_test_id("messages")).to_contain_text("Thank you!")
    screenshot(customer, "customer-session-phone")
    screenshot(dana, "case-session-live")

    act(ben, "accept_handoff")
    expect(ben.get_by_test_id("owner")).to_contain_text("Ben Okafor")
    expect(words).to_have_text("Ben Okafor of First Bank will look after your case.")
    expect(customer.get_by_test_id("owner")).to_contain_text("Ben Okafor")
    expect(dana.get_by_test_id("owner")).to_contain_text("Ben Okafor")
    present = dana.get_by_test_id("present")
    expect(present.locator("li", has_text="Dana Reyes")).to_contain_text("collaborator")
    expect(present.locator("li", has_text="Ben Okafor")).to_contain_text("owner")
    expect(ben.get_by_test_id("present").locator("li", has_text="Ben Okafor")).to_contain_text(
        "owner"
    )
    screenshot(ben, "case-session-accepted")
    screenshot(customer, "customer-session-accepted-phone")


def test_the_customer_sends_a_photo_and_the_rep_downloads_it(
    site: Site, person: Window, tmp_path: Path
) -> None:
    db, dana_actor = site.world.db, site.world.agent("dana")
    case = services.create_case(
        db, dana_actor, customer={"name": "Omar Haddad"}, subject="Parcel arrived broken"
    )
    case = services.await_customer(db, dana_actor, case.id, "a photo of the parcel's label")
    assert case.customer_link is not None
    dana = signed_in_at(person(), f"/ui/cases/{case.id}", "dana")
    expect(dana.get_by_test_id("state")).to_have_text("Awaiting the customer")

    customer = person(PHONE)
    customer.goto(case.customer_link)
    expect(customer.get_by_test_id("answer")).to_contain_text("a photo of the parcel's label")
    customer.get_by_label("Your answer").fill("Here is the label.")
    photo = tmp_path / "label.png"
    photo.write_bytes(PHOTO)
    customer.get_by_label(re.compile("Photos or PDF files")).set_input_files(photo)
    screenshot(customer, "customer-answer-phone")
    customer.get_by_test_id("answer").get_by_role("button", name="Send").click()
    expect(customer.get_by_role("status")).to_contain_text("We have what you sent")
    expect(customer.get_by_test_id("answer")).to_have_count(0)

    # Dana's page, open all along, shows the answer and its file.
    expect(dana.get_by_test_id("state")).to_have_text("Active")
    files = dana.get_by_test_id("attachments")
    expect(files).to_contain_text("label.png")
    with dana.expect_download() as download:
        files.get_by_role("link", name="label.png").click()
    got = Path(download.value.path()).read_bytes()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(PHOTO).hexdigest()
    screenshot(dana, "case-attachment")
