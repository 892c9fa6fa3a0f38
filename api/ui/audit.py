"""An auditor's pages: search events across cases, and one case's history with its chain check."""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from api.exports import csv_lines, ndjson_lines
from api.ui.actions import MAX_CASES_SEARCHED, checked
from api.ui.deps import DbDep, DirectoryDep
from api.ui.pages import CASE_ID, Problem, error_page, not_found, render
from api.ui.session import CurrentActor
from api.ui.timeline import EVENT_TYPES, line, timeline
from handoff.domain.errors import DomainError, Forbidden, InvalidInput, NotFound
from handoff.domain.principals import Actor
from handoff.services import audit, queries
from handoff.services.directory import Directory
from handoff.services.views import EventView

router = APIRouter(prefix="/ui/audit", include_in_schema=False)
STREAMED: dict[str, tuple[str, Callable[[Iterable[EventView]], Iterator[str]]]] = {
    "ndjson": ("application/x-ndjson", ndjson_lines),
    "csv": ("text/csv; charset=utf-8", csv_lines),
}


def utc(value: str | None, name: str) -> datetime | None:
    """A `datetime-local` value, read as UTC like every time on these pages."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(name, f"{name} is not a date and time") from None


@dataclass(frozen=True)
class SearchForm:
    """The search as typed: every field a string, empty when not given."""

    org: str = ""
    type: str = ""
    actor: str = ""
    case: str = ""
    start: str = ""
    end: str = ""

    def event_filter(self) -> audit.EventFilter:
        cases = self.case.replace(",", " ").split()
        if len(cases) > MAX_CASES_SEARCHED:
            raise InvalidInput("case", f"at most {MAX_CASES_SEARCHED} case ids at once")
        checked({"org": self.org, "type": self.type, "actor": self.actor})
        for case_id in cases:
            checked({"case": case_id})
        return audit.EventFilter(
            org=self.org or None,
            types=[self.type] if self.type else [],
            actor=self.actor or None,
            cases=cases,
            start=utc(self.start, "from"),
            end=utc(self.end, "to"),
        )

    def query(self) -> list[tuple[str, str]]:
        fields = [("org", self.org), ("type", self.type), ("actor", self.actor)]
        fields += [("case", self.case), ("from", self.start), ("to", self.end)]
        return [(name, value) for name, value in fields if value]


def search_form(
    org: str = "",
    event_type: Annotated[str, Query(alias="type")] = "",
    actor_id: Annotated[str, Query(alias="actor")] = "",
    case: Annotated[list[str] | None, Query()] = None,
    start: Annotated[str, Query(alias="from")] = "",
    end: Annotated[str, Query(alias="to")] = "",
) -> SearchForm:
    return SearchForm(org, event_type, actor_id, " ".join(case or []), start, end)


def export_query(f: audit.EventFilter, fmt: str) -> str:
    """The filter as the API's export takes it: `case` and `type` repeat, times in RFC 3339."""
    params: list[tuple[str, str]] = [("format", fmt)]
    params += [(k, v) for k, v in (("org", f.org), ("actor", f.actor)) if v]
    params += [("type", t) for t in f.types] + [("case", c) for c in f.cases]
    params += [(k, t.isoformat()) for k, t in (("from", f.start), ("to", f.end)) if t]
    return urlencode(params)


def export_links(f: audit.EventFilter) -> dict[str, str]:
    """Downloads for the signed-in auditor, and the same export for scripts with a token."""
    links = {fmt: f"/ui/audit/export?{export_query(f, fmt)}" for fmt in STREAMED}
    return links | {"api": f"/v1/audit/events?{export_query(f, 'ndjson')}"}


@router.get("")
def search(
    request: Request,
    db: DbDep,
    names: DirectoryDep,
    actor: CurrentActor,
    form: Annotated[SearchForm, Depends(search_form)],
    cursor: str | None = None,
) -> HTMLResponse:
    try:
        wanted = form.event_filter()
        page = audit.search_events(db, actor, wanted, cursor=cursor)
    except Forbidden as error:
        return error_page(request, 403, "Not allowed", error.message, actor=actor, names=names)
    except DomainError as error:
        problem = Problem.of(error)
        return render(
            request,
            "audit_search.html",
            problem.status,
            **_page(actor, names, form),
            problem=problem,
        )
    return render(
        request,
        "audit_search.html",
        **_page(actor, names, form),
        lines=[(e.case_id, line(e, names)) for e in page.items],
        references=audit.references(db, (e.case_id for e in page.items)),
        next_query=urlencode([*form.query(), ("cursor", page.next_cursor)])
        if page.next_cursor
        else None,
        exports=export_links(wanted),
    )


@router.get("/export")
def export(
    request: Request,
    db: DbDep,
    names: DirectoryDep,
    actor: CurrentActor,
    form: Annotated[SearchForm, Depends(search_form)],
    format: Literal["ndjson", "csv"] = "ndjson",
) -> Response:
    """Every matching event, streamed as the API's export writes it."""
    try:
        events = audit.export_events(db, actor, form.event_filter())
    except DomainError as error:
        problem = Problem.of(error)
        return error_page(
            request, problem.status, problem.title, problem.message, actor=actor, names=names
        )
    media_type, lines = STREAMED[format]
    return StreamingResponse(
        lines(events),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="handoff-events.{format}"'},
    )


def _page(actor: Actor, names: Directory, form: SearchForm) -> dict[str, Any]:
    return {
        "actor": actor,
        "names": names,
        "form": form,
        "event_types": EVENT_TYPES,
        "here": "audit",
    }


HISTORY_PAGE = 100  # events on one page of a case's history, in order


@router.get("/cases/{case_id}")
def history(
    request: Request,
    db: DbDep,
    names: DirectoryDep,
    actor: CurrentActor,
    case_id: str,
    cursor: str | None = None,
) -> HTMLResponse:
    """The case's events a page at a time (SPEC §14), "Later events" leading on."""
    try:
        if not CASE_ID.fullmatch(case_id):
            raise NotFound("no such case")
        case = queries.get_case(db, actor, case_id)
        page = audit.case_history(db, actor, case_id, limit=HISTORY_PAGE, cursor=cursor)
        verification = queries.verify_case(db, actor, case_id)
    except NotFound:
        return not_found(request, actor=actor, names=names)
    except InvalidInput:
        message = "That is not a page of this case's history. Open the history from its start."
        return error_page(request, 422, "No such page", message, actor=actor, names=names)
    return render(
        request,
        "audit_history.html",
        actor=actor,
        names=names,
        case=case,
        lines=timeline(page.items, names, {h.id: h.to_org for h in case.handoffs}),
        later=page.next_cursor,
        paged=cursor is not None,
        verification=verification,
        exports=export_links(audit.EventFilter(cases=[case_id])),
        here="audit",
    )
