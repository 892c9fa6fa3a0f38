"""The customer's status page at /c/{link}: the unguessable link is their only key."""

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.ui.actions import checked
from api.ui.deps import DbDep
from api.ui.pages import LINK, Problem, error_page, render
from api.ui.session import CheckedForm, notify
from handoff import services
from handoff.domain.errors import DomainError, NotFound
from handoff.domain.principals import customer_of
from handoff.services import queries
from handoff.services.status_page import customer_status
from handoff.store.db import Database

router = APIRouter(prefix="/c", include_in_schema=False)

Answer = Callable[[Database, str, dict[str, str]], object]
ANSWERS: dict[str, tuple[Answer, str]] = {
    "confirm_resolution": (
        lambda db, case, f: services.confirm_resolution(db, customer_of(case), case),
        "Thank you. Your case is closed.",
    ),
    "reject_resolution": (
        lambda db, case, f: services.reject_resolution(
            db, customer_of(case), case, f.get("reason", "")
        ),
        "Thank you. We are working on your case again.",
    ),
    "reopen": (
        lambda db, case, f: services.reopen(db, customer_of(case), case, f.get("reason", "")),
        "Your case is open again.",
    ),
}


def link_not_found(request: Request) -> HTMLResponse:
    return error_page(
        request, 404, "Not found", "We could not find a case for this link. Please check it."
    )


def status_page(
    request: Request, db: Database, link: str, problem: Problem | None = None
) -> HTMLResponse:
    try:
        if not LINK.fullmatch(link):
            raise NotFound("no such link")
        status = customer_status(db, link)
    except NotFound:
        return link_not_found(request)
    return render(
        request,
        "customer.html",
        problem.status if problem else 200,
        status=status,
        link=link,
        problem=problem,
    )


@router.get("/{link}")
def show(request: Request, db: DbDep, link: str) -> HTMLResponse:
    return status_page(request, db, link)


@router.post("/{link}/{action}")
def answer(request: Request, db: DbDep, form: CheckedForm, link: str, action: str) -> Response:
    if action not in ANSWERS or not LINK.fullmatch(link):
        return link_not_found(request)
    act, thanks = ANSWERS[action]
    try:
        act(db, queries.case_by_link(db, link).id, checked(form))
    except NotFound:
        return link_not_found(request)
    except DomainError as error:
        return status_page(request, db, link, Problem.for_customer(error))
    notify(request, thanks)
    return RedirectResponse(f"/c/{link}", status_code=303)
