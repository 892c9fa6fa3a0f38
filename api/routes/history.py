"""Reading one case: the case itself, its events, the verification of their chain, the case as of
a time, every request it has had (each list in pages).

Plain sync routes, unlike the commands' (api.deps.per_case): FastAPI runs them in worker threads,
on SQLite too, so clients reading a big case over and over never hold the event loop, and
`/healthz` and other cases answer meanwhile (SPEC §14; bench/big_case.py). A page of events is
bounded (at most 200), so it runs per case like a command: on SQLite on the loop, without the
three hops to a worker thread (the token, the read, the answer's validation) that cost more than
the read itself."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.answers import case_answer
from api.deps import ActorDep, CaseId, Cursor, DbDep, Limit, per_case
from api.schemas import outputs
from api.schemas.fields import Instant, RequestState
from handoff.history.chain import Verification
from handoff.services import audit, queries
from handoff.services.views import CaseView, EventView, RequestView

router = APIRouter(prefix="/v1/cases/{case_id}")


@router.get("", response_model=outputs.Case, tags=["cases"])
def get_case(case_id: CaseId, db: DbDep, actor: ActorDep, response: Response) -> CaseView:
    """The case with its owner, participants, open requests (and counts of the rest), pending
    handoff, live session and the caller's `allowed_actions`."""
    return case_answer(response, queries.get_case(db, actor, case_id))


@router.get("/events", response_model=outputs.Page[outputs.Event], tags=["history"])
@per_case
def case_events(
    case_id: CaseId, db: DbDep, actor: ActorDep, limit: Limit = 50, cursor: Cursor = None
) -> queries.Page[EventView]:
    """The case's events in `seq` order."""
    return audit.case_history(db, actor, case_id, limit=limit, cursor=cursor)


@router.get("/events/verify", response_model=outputs.Verification, tags=["history"])
def verify_events(case_id: CaseId, db: DbDep, actor: ActorDep) -> Verification:
    """Walk the hash chain; `first_broken_seq` is the first event that does not hold."""
    return queries.verify_case(db, actor, case_id)


@router.get("/as-of", response_model=outputs.CaseAsOf, tags=["history"])
def case_as_of(
    case_id: CaseId,
    db: DbDep,
    actor: ActorDep,
    at: Annotated[Instant, Query(description="RFC 3339 time with offset")],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> audit.CaseAsOf:
    """State, owner and participants as they stood at `at`, with the events up to then, a page
    of `limit` at a time (`next_cursor` asks for the next).

    An event whose `at` is exactly the time asked for has happened. Before the case was created
    the answer is still 200, with `state` and `owner` null and no events; from its last event on,
    it is the case as it stands now. A time that is not RFC 3339 with an offset answers 422.
    """
    return audit.case_as_of(db, actor, case_id, at, limit=limit, cursor=cursor)


@router.get("/requests", response_model=outputs.Page[outputs.Request], tags=["requests"])
def list_requests(
    case_id: CaseId,
    db: DbDep,
    actor: ActorDep,
    state: RequestState | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> queries.Page[RequestView]:
    """Every request of the case, settled ones too (the case answer carries the open ones), in
    the order they were made; `state` keeps those now in that state."""
    return queries.case_requests(db, actor, case_id, state=state, limit=limit, cursor=cursor)
