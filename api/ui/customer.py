"""The customer's status page at /c/{link}: the unguessable link is their only key. From it they
answer a proposed resolution, take part in a live joint session (SPEC §12) and send what the case
waits for."""

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.ui.actions import checked, recall_refusal, remember_refusal
from api.ui.cases import page_before
from api.ui.deps import DbDep, DirectoryDep
from api.ui.pages import LINK, Problem, error_page, render
from api.ui.refusals import named
from api.ui.session import CheckedForm, GivenFiles, notify, read_files
from handoff import services
from handoff.domain.errors import DomainError, NotFound
from handoff.domain.principals import customer_of
from handoff.services import queries
from handoff.services.attachments import answer_what_is_needed
from handoff.services.directory import Directory
from handoff.services.status_page import customer_status
from handoff.store.db import Database

router = APIRouter(prefix="/c", include_in_schema=False)

Answer = Callable[[Database, str, dict[str, str]], object]
ANSWERS: dict[str, tuple[Answer, str | None]] = {
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
    "join": (
        lambda db, case, f: services.join_session(
            db, customer_of(case), case, f.get("session_id", ""), "customer"
        ),
        "You joined the conversation. Keep this page open while you take part.",
    ),
    "leave": (
        lambda db, case, f: services.leave_session(
            db, customer_of(case), case, f.get("session_id", ""), "customer"
        ),
        "You left the conversation.",
    ),
    "messages": (
        lambda db, case, f: services.post_message(
            db, customer_of(case), case, f.get("session_id", ""), f.get("text", "")
        ),
        None,
    ),
}


def link_not_found(request: Request) -> HTMLResponse:
    return error_page(
        request, 404, "Not found", "We could not find a case for this link. Please check it."
    )


def status_page(
    request: Request,
    db: Database,
    names: Directory,
    link: str,
    problem: Problem | None = None,
    before: int | None = None,
) -> HTMLResponse:
    try:
        if not LINK.fullmatch(link):
            raise NotFound("no such link")
        status = customer_status(db, link, before=before)
    except NotFound:
        return link_not_found(request)
    return render(
        request,
        "customer.html",
        problem.status if problem else 200,
        status=status,
        names=names,
        link=link,
        problem=problem,
    )


@router.get("/{link}")
def show(
    request: Request, db: DbDep, names: DirectoryDep, link: str, before: str | None = None
) -> HTMLResponse:
    """The status page; right after a refused answer, with what was refused and why; `before`:
    the page of messages older than that one ("Earlier messages")."""
    try:
        older_than = page_before(before)
    except ValueError:
        message = "That is not a page of your messages. Please open your link again."
        return error_page(request, 422, "No such page", message, back=f"/c/{link}")
    problem, _typed = recall_refusal(request, f"/c/{link}")
    return status_page(request, db, names, link, problem, before=older_than)


@router.get("/{link}/{action}")
def action_address(request: Request, link: str, action: str) -> Response:
    """A form's address opened as a page (reloaded, say): the status page it belongs to."""
    if (action not in ANSWERS and action != "answer") or not LINK.fullmatch(link):
        return link_not_found(request)
    return RedirectResponse(f"/c/{link}", status_code=303)


@router.post("/{link}/answer")
def answer_needed(
    request: Request,
    db: DbDep,
    names: DirectoryDep,
    form: CheckedForm,
    files: GivenFiles,
    link: str,
) -> Response:
    """What the case awaits from the customer: their words and up to five files, all or none."""
    if not LINK.fullmatch(link):
        return link_not_found(request)
    given = read_files(files)
    try:
        case_id = queries.case_by_link(db, link).id
        note = checked(form).get("note", "").strip() or None
        answer_what_is_needed(db, customer_of(case_id), case_id, note, given)
    except NotFound:
        return link_not_found(request)
    except DomainError as error:
        problem = Problem.for_customer(error)
        if problem.status == 413:
            message = f"{problem.message}. Each file may be at most 10 MB. Nothing was sent."
            return error_page(request, 413, problem.title, message, back=f"/c/{link}")
        if remember_refusal(request, f"/c/{link}", problem, {}):
            return RedirectResponse(f"/c/{link}", status_code=303)
        return status_page(request, db, names, link, problem)
    notify(request, "Thank you. We have what you sent, and will get back to you.")
    return RedirectResponse(f"/c/{link}", status_code=303)


@router.post("/{link}/{action}")
def answer(
    request: Request, db: DbDep, names: DirectoryDep, form: CheckedForm, link: str, action: str
) -> Response:
    if action not in ANSWERS or not LINK.fullmatch(link):
        return link_not_found(request)
    act, thanks = ANSWERS[action]
    try:
        act(db, queries.case_by_link(db, link).id, checked(form))
    except NotFound:
        return link_not_found(request)
    except DomainError as error:  # shown on the status page, reached by a redirect (reloadable)
        problem = named(Problem.for_customer(error), error, names)
        if remember_refusal(request, f"/c/{link}", problem, {}):
            return RedirectResponse(f"/c/{link}", status_code=303)
        return status_page(request, db, names, link, problem)
    if thanks:
        notify(request, thanks)
    where = "#session" if action in ("join", "messages") else ""
    return RedirectResponse(f"/c/{link}{where}", status_code=303)
