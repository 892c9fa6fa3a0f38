"""A rep's pages: the org's queue, my cases, all visible cases, and one case with its actions."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.routes.attachments import content_disposition
from api.ui.actions import ACTS, DONE, checked
from api.ui.choices import choices_for
from api.ui.deps import DbDep, DirectoryDep
from api.ui.pages import CASE_ID, Problem, error_page, not_found, render
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


@router.get("/mine")
def mine(request: Request, db: DbDep, names: DirectoryDep, actor: CurrentActor) -> HTMLResponse:
    page = queries.list_cases(db, actor, mine=True, limit=100)
    return render(
        request,
        "case_list.html",
        actor=actor,
        names=names,
        cases=page.items,
        title="My cases",
        here="mine",
    )


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
        next_cursor=page.next_cursor,
        title="All cases",
        filter_state=state,
        all_states=STATES,
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
    """`before`: show the timeline's page of events older than that seq ("Older events")."""
    try:
        older_than = page_before(before)
    except ValueError:
        message = "That is not a page of this case's timeline: `before` takes an event's number."
        return error_page(request, 422, "No such page", message, actor=actor, names=names)
    return case_page(request, db, names, actor, case_id, before=older_than)


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
        return case_page(request, db, names, actor, case_id, Problem.of(error), submitted)
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
        submitted = {**form, "action": action}
        return case_page(request, db, names, actor, case_id, Problem.of(error), submitted)
    notify(request, DONE[action])
    return RedirectResponse(f"/ui/cases/{case_id}", status_code=303)
