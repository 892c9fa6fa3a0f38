"""A rep's pages: the org's queue, my cases, all visible cases, and one case with its actions."""

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.routes.attachments import content_disposition
from api.ui.actions import ACTS, DONE, checked, recall_refusal, remember_refusal
from api.ui.choices import choices_for
from api.ui.deps import DbDep, DirectoryDep
from api.ui.pages import CASE_ID, Problem, error_page, not_found, render
from api.ui.refusals import named
from api.ui.session import CheckedForm, CurrentActor, GivenFiles, notify, read_files
from api.ui.timeline import timeline
from handoff.domain.errors import DomainError, NotFound
from handoff.domain.lifecycle import STATES
from handoff.domain.principals import Actor
from handoff.services import queries
from handoff.services.attachments import attach
from handoff.services.directory import Directory
from handoff.store.db import Database

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/queue")
def queue(request: Request, db: DbDep, names: DirectoryDep, actor: CurrentActor) -> HTMLResponse:
    page = queries.list_cases(db, actor, owner_org=actor.org_id, unclaimed=True, limit=100)
    asked = queries.list_cases(db, actor, waiting_on=actor.org_id, limit=100)
    return render(
        request,
        "queue.html",
        actor=actor,
        names=names,
        cases=page.items,
        asked=asked.items,
        here="queue",
    )


MINE = {"open": "Open", "closed": "Closed"}  # the tabs of "My cases"


@router.get("/mine")
def mine(
    request: Request,
    db: DbDep,
    names: DirectoryDep,
    actor: CurrentActor,
    show: str = "open",
    cursor: str | None = None,
) -> HTMLResponse:
    """The cases the person owns: open ones, or (`show=closed`) those closed."""
    if show not in MINE:
        message = "“My cases” lists your open or your closed cases: show=open or show=closed."
        return error_page(request, 422, "No such list", message, actor=actor, names=names)
    closed = show == "closed"
    try:
        page = queries.list_cases(
            db, actor, mine=True, state="closed" if closed else None, cursor=cursor
        )
    except DomainError as error:
        problem = Problem.of(error)
        return error_page(
            request, problem.status, problem.title, problem.message, actor=actor, names=names
        )
    other = queries.list_cases(db, actor, mine=True, state=None if closed else "closed", limit=1)
    empty = "You own no closed cases." if closed else "You own no open cases."
    return render(
        request,
        "case_list.html",
        actor=actor,
        names=names,
        cases=page.items,
        next_url=_next("/ui/mine", show=show, cursor=page.next_cursor),
        title="My cases",
        tabs=[(name, label, f"/ui/mine?show={name}", name == show) for name, label in MINE.items()],
        empty=empty,
        elsewhere=None if page.items or not other.items else ("closed" if not closed else "open"),
        here="mine",
    )


def _next(path: str, cursor: str | None, **query: str | None) -> str | None:
    """The address of the next page, when there is one."""
    if cursor is None:
        return None
    return f"{path}?{urlencode({**{k: v for k, v in query.items() if v}, 'cursor': cursor})}"


@router.get("/cases")
def all_cases(
    request: Request,
    db: DbDep,
    names: DirectoryDep,
    actor: CurrentActor,
    state: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    try:
        checked({"state": state or ""})
        page = queries.list_cases(db, actor, state=state or None, cursor=cursor)
    except DomainError as error:
        problem = Problem.of(error)
        return error_page(
            request, problem.status, problem.title, problem.message, actor=actor, names=names
        )
    return render(
        request,
        "case_list.html",
        actor=actor,
        names=names,
        cases=page.items,
        next_url=_next("/ui/cases", state=state, cursor=page.next_cursor),
        title="All cases",
        filter_state=state,
        all_states=STATES,
        empty="No cases in this state." if state else "No cases you may see.",
        here="cases",
    )


TIMELINE_PAGE = 25  # events on one page of a case's timeline, newest first
SAID_SHOWN = 100  # the live session's newest messages shown


def case_page(
    request: Request,
    db: Database,
    names: Directory,
    actor: Actor,
    case_id: str,
    problem: Problem | None = None,
    submitted: dict[str, str] | None = None,
    before: int | None = None,
) -> HTMLResponse:
    """The case with the newest page of its timeline (or the page before seq `before`): the
    page is bounded whatever the case holds (SPEC §14)."""
    try:
        if not CASE_ID.fullmatch(case_id):
            raise NotFound("no such case")
        case = queries.get_case(db, actor, case_id)
        events, older = queries.newest_events(
            db, actor, case_id, before=before, limit=TIMELINE_PAGE
        )
        live = case.session
        said = queries.session_messages(db, case_id, live.id, limit=SAID_SHOWN) if live else []
        latest = queries.last_seq(db, case_id)
    except NotFound:
        return not_found(request, actor=actor, names=names)
    handoffs = {h.id: h.to_org for h in case.handoffs}
    return render(
        request,
        "case.html",
        problem.status if problem else 200,
        actor=actor,
        names=names,
        case=case,
        lines=list(reversed(timeline(events, names, handoffs))),
        older=older,
        paged=before is not None,
        said=said,
        after=latest,
        problem=problem,
        submitted=submitted or {},
        choices=choices_for(case, names, actor),
    )


def page_before(before: str | None) -> int | None:
    """The `before` of a timeline's page (a seq), or None for the newest page; not a number:
    ValueError."""
    if before is None:
        return None
    if not before.isdecimal() or len(before) > 15:
        raise ValueError(before)
    return int(before)


@router.get("/cases/{case_id}/attachments/{attachment_id}")
def download(
    request: Request,
    db: DbDep,
    names: DirectoryDep,
    actor: CurrentActor,
    case_id: str,
    attachment_id: str,
) -> Response:
    """A file given for the case, to whoever may read it: always a download, never sniffed."""
    try:
        if not (CASE_ID.fullmatch(case_id) and CASE_ID.fullmatch(attachment_id)):
            raise NotFound("no such file")
        found, content = queries.attachment(db, actor, case_id, attachment_id)
    except NotFound:
        return not_found(request, actor=actor, names=names)
    headers = {
        "Content-Disposition": content_disposition(found.name),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    return Response(content, media_type=found.content_type, headers=headers)


@router.get("/cases/{case_id}")
def show_case(
    request: Request,
    db: DbDep,
    names: DirectoryDep,
    actor: CurrentActor,
    case_id: str,
    before: str | None = None,
) -> HTMLResponse:
    """The case; right after a refused action, with the refusal and what was typed; `before`:
    the timeline's page of events older than that seq ("Older events")."""
    try:
        older_than = page_before(before)
    except ValueError:
        message = "That is not a page of this case's timeline: `before` takes an event's number."
        return error_page(request, 422, "No such page", message, actor=actor, names=names)
    problem, submitted = recall_refusal(request, f"/ui/cases/{case_id}")
    return case_page(request, db, names, actor, case_id, problem, submitted, before=older_than)


@router.get("/cases/{case_id}/{action}")
def action_address(
    request: Request, names: DirectoryDep, actor: CurrentActor, case_id: str, action: str
) -> Response:
    """A form's address opened as a page (typed, bookmarked, reloaded): the case it acts on."""
    if (action not in ACTS and action != "add_attachments") or not CASE_ID.fullmatch(case_id):
        message = "There is no page at this address."
        return error_page(request, 404, "Not found", message, actor=actor, names=names)
    return RedirectResponse(f"/ui/cases/{case_id}", status_code=303)


def refused(
    request: Request,
    db: Database,
    names: Directory,
    actor: Actor,
    case_id: str,
    error: DomainError,
    submitted: dict[str, str],
) -> Response:
    """To the case page, which shows the refusal (Post/Redirect/Get); when what was typed is too
    long to carry there, the refusal is answered here and then, keeping every word."""
    problem = named(Problem.of(error), error, names)  # orgs and people by name
    page = f"/ui/cases/{case_id}"
    if remember_refusal(request, page, problem, submitted):
        return RedirectResponse(page, status_code=303)
    return case_page(request, db, names, actor, case_id, problem, submitted)


@router.post("/cases/{case_id}/add_attachments")
def add_attachments(
    request: Request,
    db: DbDep,
    names: DirectoryDep,
    actor: CurrentActor,
    form: CheckedForm,
    files: GivenFiles,
    case_id: str,
) -> Response:
    """Files for the case (up to five images or PDFs): all kept, or none."""
    if not CASE_ID.fullmatch(case_id):
        return not_found(request, actor=actor, names=names)
    try:
        attach(db, actor, case_id, read_files(files))
    except DomainError as error:
        submitted = {**form, "action": "add_attachments"}
        return refused(request, db, names, actor, case_id, error, submitted)
    notify(request, "Files added.")
    return RedirectResponse(f"/ui/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/{action}")
def act_on_case(
    request: Request,
    db: DbDep,
    names: DirectoryDep,
    actor: CurrentActor,
    form: CheckedForm,
    case_id: str,
    action: str,
) -> Response:
    """Call the action's command; on success show the case afresh, on refusal say why."""
    act = ACTS.get(action)
    if act is None or not CASE_ID.fullmatch(case_id):
        return not_found(request, actor=actor, names=names)
    try:
        act(db, actor, case_id, checked(form))
    except DomainError as error:
        return refused(request, db, names, actor, case_id, error, {**form, "action": action})
    notify(request, DONE[action])
    return RedirectResponse(f"/ui/cases/{case_id}", status_code=303)
