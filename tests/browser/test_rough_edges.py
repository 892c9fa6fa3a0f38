"""Rough edges a new user met in the web UI (issue 16), in a real browser."""

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from handoff import services
from handoff.services import queries
from tests.browser.conftest import Site, sign_in
from tests.browser.test_journeys import act

Window = Callable[..., Page]


def test_a_refusal_page_reloads_as_the_case_page_and_never_sends_the_form_again(
    site: Site, person: Window
) -> None:
    db, dana = site.world.db, site.world.agent("dana")
    case = services.create_case(
        db, dana, customer={"name": "Lena Park"}, subject="Refund not received, again"
    )
    page = person()
    page.goto(f"/ui/cases/{case.id}")
    sign_in(page, "dana")
    page.locator("details.fold summary", has_text="Propose a resolution").click()
    page.get_by_label("Resolution").select_option("explained")
    summary = "Nothing more we can do here, please call your bank."
    page.get_by_label("Summary for the customer").fill(summary)
    act(page, "propose_resolution")
    expect(page.get_by_role("alert")).to_contain_text("must not send the customer elsewhere")
    expect(page.get_by_label("Summary for the customer")).to_have_value(summary)
    expect(page).to_have_url(re.compile(rf"/ui/cases/{case.id}$"))
    refusals = _refusals(site, case.id)

    answer = page.reload()

    assert answer is not None
    assert answer.status == 200
    expect(page.get_by_role("heading", name="Refund not received, again")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
    assert _refusals(site, case.id) == refusals  # the form was not sent again


def _refusals(site: Site, case_id: str) -> int:
    events = queries.case_events(site.world.db, site.world.agent("dana"), case_id)
    return sum(1 for e in events if e.type == "refused")


def test_my_closed_cases_are_one_click_away(site: Site, person: Window) -> None:
    db, dave = site.world.db, site.world.agent("dave")
    case = services.create_case(db, dave, customer={"name": "Ravi Shah"}, subject="Old exchange")
    services.withdraw(db, dave, case.id, "The customer kept the item.")
    page = person()
    page.goto("/ui/mine")
    sign_in(page, "dave")

    expect(page.get_by_text("You own no open cases.")).to_be_visible()
    page.get_by_role("link", name="See your closed cases.").click()

    expect(page.get_by_role("link", name="Old exchange")).to_be_visible()
    expect(page.get_by_test_id("tab-closed")).to_have_attribute("aria-current", "page")
