"""People using the web UI in a real browser, against a real server (SPEC §9)."""

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from handoff import services
from handoff.services import queries
from tests.browser.conftest import PHONE, Site, screenshot, sign_in

Window = Callable[..., Page]


def open_case(site: Site, subject: str, participants: list[str] | None = None) -> str:
    """A case from Acme's CRM, waiting unclaimed in Acme's queue."""
    crm = site.world.system("acme-crm")
    case = services.create_case(
        site.world.db,
        crm,
        customer={"name": "Carla Diaz", "email": "carla@example.com"},
        subject=subject,
        description="Order 5521 was cancelled by the shop but the card still shows a hold.",
        participants=participants or [],
    )
    return case.id


def act(page: Page, action: str, button: str | None = None) -> None:
    """Press the button of the form for `action` (opening its fold first if it has one)."""
    form = page.locator(f"form[data-action={action}]")
    fold = page.locator("details.fold", has=form)
    if fold.count() and fold.first.get_attribute("open") is None:
        fold.first.locator("summary").click()
    (form.get_by_role("button", name=button) if button else form.get_by_role("button")).click()


def test_a_rep_claims_a_case_and_hands_it_off_warm_to_the_bank(site: Site, person: Window) -> None:
    case_id = open_case(site, "Order cancelled, card still charged", ["firstbank"])
    reference = queries.get_case(site.world.db, site.world.agent("dana"), case_id).reference

    dana = person()
    dana.goto("/")
    expect(dana).to_have_url(re.compile(r"/ui/sign-in"))
    screenshot(dana, "sign-in")
    sign_in(dana, "dana")
    expect(dana.get_by_role("heading", name="Acme Store's queue")).to_be_visible()
    expect(dana.get_by_text("Order cancelled, card still charged")).to_be_visible()
    screenshot(dana, "queue")

    dana.get_by_role("button", name=re.compile(f"Claim {reference}")).click()
    owner = dana.get_by_test_id("owner")
    expect(owner).to_contain_text("Dana Reyes")
    expect(owner).to_contain_text("Acme Store")

    dana.locator("details.fold summary", has_text="Propose a handoff").click()
    dana.get_by_label("Hand the case to").select_option(label="First Bank")
    dana.get_by_label("Context summary").fill(
        "Shop cancelled order 5521 on 2 March; the card hold of $84.20 is still on. "
        "Carla has the cancellation email."
    )
    act(dana, "propose_handoff")
    expect(dana.get_by_test_id("handoff")).to_contain_text("To First Bank")
    act(dana, "start_session")
    act(dana, "join_session")  # as owner, the form's first guess for the owner org
    expect(dana.get_by_test_id("present")).to_contain_text("Dana Reyes")

    ben = person()
    ben.goto(f"/ui/cases/{case_id}")
    sign_in(ben, "ben")  # and back to the case
    expect(ben.get_by_test_id("owner")).to_contain_text("Dana Reyes")
    act(ben, "join_session")  # as receiver
    expect(ben.get_by_test_id("present")).to_contain_text("Ben Okafor")

    dana.reload()
    dana.locator("form[data-action=join_session]").get_by_label("As").select_option("customer")
    act(dana, "join_session")
    expect(dana.get_by_test_id("present")).to_contain_text("the customer (on the owner's word)")

    ben.reload()
    screenshot(ben, "case-handoff-pending")
    act(ben, "accept_handoff")
    expect(ben.get_by_role("status")).to_contain_text("Handoff accepted")
    expect(ben.get_by_test_id("owner")).to_contain_text("Ben Okafor")
    expect(ben.get_by_test_id("owner")).to_contain_text("First Bank")
    screenshot(ben, "case")

    dana.reload()  # Acme stays a participant and sees who owns the case now
    expect(dana.get_by_test_id("owner")).to_contain_text("Ben Okafor")
    expect(dana.get_by_test_id("owner")).to_contain_text("First Bank")
    dana.set_viewport_size(PHONE)
    screenshot(dana, "case-phone")


def test_closing_with_please_call_your_bank_is_refused_with_its_message(
    site: Site, person: Window
) -> None:
    db, dana = site.world.db, site.world.agent("dana")
    case = services.create_case(
        db, dana, customer={"name": "Lena Park"}, subject="Refund not received"
    )

    page = person()
    page.goto(f"/ui/cases/{case.id}")
    sign_in(page, "dana")
    page.locator("details.fold summary", has_text="Propose a resolution").click()
    page.get_by_label("Resolution").select_option("explained")
    summary = "Nothing more we can do here, please call your bank."
    page.get_by_label("Summary for the customer").fill(summary)
    act(page, "propose_resolution")

    problem = page.get_by_role("alert")
    expect(problem).to_contain_text("must not send the customer elsewhere")
    expect(problem).to_contain_text("send_away_language")
    expect(page.get_by_label("Summary for the customer")).to_have_value(summary)  # kept
    expect(page.get_by_test_id("state")).to_have_text("Active")
    screenshot(page, "refusal")


def test_a_customer_confirms_the_resolution_on_the_status_page(site: Site, person: Window) -> None:
    db, dana = site.world.db, site.world.agent("dana")
    case = services.create_case(
        db, dana, customer={"name": "Omar Haddad"}, subject="Espresso machine without portafilter"
    )
    services.add_note(db, dana, case.id, "Stock count: 3 in the back room.", "internal")
    services.add_note(db, dana, case.id, "Your portafilter is on its way.", "customer")
    case = services.propose_resolution(
        db, dana, case.id, "replaced", "We sent a new portafilter; it arrived on Friday."
    )
    assert case.customer_link is not None

    customer = person(PHONE)
    customer.goto(case.customer_link)
    expect(customer.get_by_test_id("owner")).to_contain_text("Dana Reyes")
    expect(customer.get_by_test_id("no-calls")).to_contain_text("do not need to call anyone")
    expect(customer.get_by_text("Your portafilter is on its way.")).to_be_visible()
    expect(customer.get_by_text("Stock count")).to_have_count(0)
    screenshot(customer, "customer-status-phone")
    customer.set_viewport_size({"width": 1280, "height": 800})
    screenshot(customer, "customer-status")

    customer.get_by_role("button", name="Yes, it is solved").click()
    expect(customer.get_by_role("status")).to_contain_text("Your case is closed")
    expect(customer.get_by_test_id("state")).to_contain_text("Solved and closed")
    assert queries.get_case(db, dana, case.id).state == "closed"


def test_an_auditor_sees_a_cases_history_with_a_valid_chain(site: Site, person: Window) -> None:
    db, dana = site.world.db, site.world.agent("dana")
    case = services.create_case(
        db, dana, customer={"name": "Ivy Moss"}, subject="Double charge", participants=["firstbank"]
    )
    request = services.create_request(db, dana, case.id, "firstbank", "Reverse the second charge")
    services.acknowledge_request(db, site.world.agent("ben"), case.id, request.id)

    auditor = person()
    auditor.goto(f"/ui/audit/cases/{case.id}")
    sign_in(auditor, "ada")
    expect(auditor.get_by_test_id("chain")).to_contain_text("Chain valid")
    expect(auditor.get_by_text("Dana Reyes (Acme Store) asked First Bank")).to_be_visible()
    screenshot(auditor, "audit-history")

    auditor.goto("/ui/audit?type=refused")
    expect(auditor.get_by_role("heading", name="Search events")).to_be_visible()
    expect(auditor.get_by_role("link", name="NDJSON")).to_have_attribute(
        "href", re.compile(r"^/ui/audit/export\?format=ndjson&type=refused")
    )
    expect(auditor.get_by_text("GET /v1/audit/events?format=ndjson&type=refused")).to_be_visible()
    screenshot(auditor, "audit-search")
