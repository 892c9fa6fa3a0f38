"""Three people in a warm handoff, each in their own browser (SPEC §12): the owner (Dana of Acme
Store), the receiver (Ben of First Bank) and the customer, from their own link. Every page keeps
itself up to date from its case's stream: nobody reloads."""

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from handoff import services
from handoff.services import queries
from handoff.store.models import Org
from tests.browser.conftest import PHONE, Site, screenshot, sign_in, token
from tests.browser.test_journeys import act
from tests.integration.world import ADMIN, World

Window = Callable[..., Page]
Pages = Callable[[str | None], TestClient]
# A tiny, valid PNG (one white pixel): what a phone's photo of a label stands for.
PHOTO = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4af0000000049454e44ae426082"
)


def handoff_in_session(world: World, to_org: str = "firstbank") -> tuple[str, str]:
    """Dana's case, proposed to `to_org`, with a live session she is in: (case id, link)."""
    db, dana = world.db, world.agent("dana")
    case = services.create_case(
        db,
        dana,
        customer={"name": "Carla Diaz"},
        subject="Card hold after a cancelled order",
        participants=[to_org],
    )
    handoff = services.propose_handoff(
        db, dana, case.id, to_org, "Order 5521 was cancelled; the $84.20 hold is still on."
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
    case_id, link = handoff_in_session(site.world)
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


def join_offers(html: str) -> list[str]:
    """The parties the session panel's Join form offers (none: no form)."""
    form = re.search(r'<form[^>]*data-action="join_session".*?</form>', html, re.S)
    return re.findall(r'<option value="(\w+)"', form.group(0)) if form else []


def test_the_join_form_offers_only_the_parties_that_can_still_join(
    world: World, pages: Pages
) -> None:
    case_id, _link = handoff_in_session(world)
    dana, ben = pages("dana"), pages("ben")
    page = f"/ui/cases/{case_id}"
    # Dana is present as owner already: she may bring the customer in, or collaborate.
    assert join_offers(dana.get(page).text) == ["customer", "collaborator"]
    assert join_offers(ben.get(page).text) == ["receiver", "collaborator"]
    session_id = queries.get_case(world.db, world.agent("ben"), case_id).session
    assert session_id is not None
    services.join_session(world.db, world.agent("ben"), case_id, session_id.id, "receiver", "ben")
    services.join_session(world.db, world.agent("dana"), case_id, session_id.id, "customer")
    assert join_offers(ben.get(page).text) == ["collaborator"]
    assert join_offers(dana.get(page).text) == ["collaborator"]
    services.join_session(
        world.db, world.agent("ben"), case_id, session_id.id, "collaborator", "ben"
    )
    assert join_offers(ben.get(page).text) == []  # nothing left to join as: no form at all


def a_verified_bank(world: World) -> str:
    """North Bank, whose customer_presence is `verified`, with Nora, a rep, and her token."""
    db = world.db
    with db.reading() as session:
        if session.get(Org, "northbank") is not None:  # made by an earlier test on this site
            return "northbank"
    services.create_org(db, ADMIN, "northbank", "North Bank", "bank", customer_presence="verified")
    services.create_agent(db, ADMIN, "northbank", "nora", "Nora Lind", "rep")
    services.issue_credential(db, ADMIN, "agent", "nora", token("nora"))
    return "northbank"


def test_a_verified_bank_accepts_only_once_the_customer_joined_from_their_own_link(
    site: Site, person: Window
) -> None:
    case_id, link = handoff_in_session(site.world, a_verified_bank(site.world))
    dana = signed_in_at(person(), f"/ui/cases/{case_id}", "dana")
    nora = signed_in_at(person(), f"/ui/cases/{case_id}", "nora")
    act(nora, "join_session")  # as receiver
    expect(dana.get_by_test_id("missing")).to_have_text(
        "Waiting for: the customer, confirmed from their own page or by a partner system "
        "(North Bank asks for it)"
    )
    screenshot(dana, "case-session-waits-for-verified-customer")

    # North Bank takes no one's word for the customer: they must come by their own link.
    act(nora, "accept_handoff")
    problem = nora.get_by_role("alert")
    expect(problem).to_contain_text("warm_session_required")
    expect(problem).to_contain_text("Missing: the customer (by their own link")
    expect(nora.get_by_test_id("owner")).to_contain_text("Dana Reyes")

    customer = person(PHONE)
    customer.goto(link)
    customer.get_by_role("button", name="Join the conversation").click()
    expect(customer.get_by_test_id("present")).to_contain_text("Nora Lind of North Bank")
    expect(dana.get_by_test_id("present")).to_contain_text("the customer (joined from their link)")
    expect(nora.get_by_test_id("missing")).to_have_count(0)

    act(nora, "accept_handoff")
    expect(nora.get_by_test_id("owner")).to_contain_text("Nora Lind")
    expect(dana.get_by_test_id("owner")).to_contain_text("Nora Lind")
    expect(customer.get_by_test_id("owner")).to_contain_text("Nora Lind")
    expect(customer.get_by_test_id("handoff-words")).to_have_text(
        "Nora Lind of North Bank will look after your case."
    )
    for page in (dana, nora):
        present = page.get_by_test_id("present")
        expect(present.locator("li", has_text="Nora Lind")).to_contain_text("owner")
        expect(present.locator("li", has_text="Dana Reyes")).to_contain_text("collaborator")
    screenshot(nora, "case-session-verified-accepted")


def test_a_customer_the_owner_vouched_for_confirms_it_and_the_verified_bank_accepts(
    site: Site, person: Window
) -> None:
    world = site.world
    case_id, link = handoff_in_session(world, a_verified_bank(world))
    session = queries.get_case(world.db, world.agent("dana"), case_id).session
    assert session is not None
    services.join_session(world.db, world.agent("dana"), case_id, session.id, "customer")
    nora = signed_in_at(person(), f"/ui/cases/{case_id}", "nora")
    act(nora, "join_session")  # as receiver
    expect(nora.get_by_test_id("present")).to_contain_text("the customer (on the owner's word)")

    customer = person(PHONE)
    customer.goto(link)
    expect(customer.get_by_test_id("vouched")).to_be_visible()
    screenshot(customer, "customer-confirms-presence")
    customer.get_by_role("button", name="Confirm that you are here").click()
    expect(nora.get_by_test_id("present")).to_contain_text("the customer (joined from their link)")
    expect(customer.get_by_test_id("vouched")).to_have_count(0)

    act(nora, "accept_handoff")
    expect(customer.get_by_test_id("owner")).to_contain_text("Nora Lind")
