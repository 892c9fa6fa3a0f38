"""What routes are given: the database, the calling principal, the case version they expect."""

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec, TypeVar, cast, get_type_hints

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from api.schemas.fields import CURSOR_PATTERN, ID_PATTERN, IF_MATCH_PATTERN
from handoff.domain.principals import Actor
from handoff.services.authentication import TooManyFailedTokens, admit, admitted_to_change
from handoff.store.db import Database

P = ParamSpec("P")
R = TypeVar("R")


async def on_database(
    db: Database, work: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs
) -> R:
    """Run a short piece of database work for a request.

    On SQLite it runs right here, on the event loop: every write queues on the one write lock
    anyway, and a hop to a worker thread, with the GIL handed back and forth at each statement,
    cost more than the work (the benchmark's note POSTs: about 500/s in threads with p99 near
    50 ms, 1,100/s here with p99 near 20 ms; docs/performance.md). On PostgreSQL it runs on
    the event loop too, through psycopg's asyncio connections (`Database.on_the_loop`), so that
    network round trips and row-lock waits let the loop go on; on a loop that does not serve
    the database (no app lifespan ran on it), in a worker thread.
    """
    threads = request_threads.get()
    if threads is not None:  # a keyed request, holding its transaction (api.idempotency)
        if not db.is_postgres:  # it holds the writer: nothing to wait for
            return work(*args, **kwargs)
        return await to_thread.run_sync(functools.partial(work, *args, **kwargs), limiter=threads)
    if db.is_postgres and db.serves_this_loop:
        return await db.on_the_loop(work, *args, **kwargs)
    if db.is_postgres or db.writer_is_busy:  # busy: a thread (web UI, admin) writes, so wait
        return await run_in_threadpool(work, *args, **kwargs)  # in a thread, not on the loop
    return work(*args, **kwargs)


# The threads of a request that holds its own transaction (an Idempotency-Key): its work must not
# queue for the shared threads behind requests that wait for what that transaction holds.
request_threads: ContextVar[CapacityLimiter | None] = ContextVar("request_threads", default=None)


bearer = HTTPBearer(auto_error=False, description="A token issued by POST /v1/credentials")


# Dependencies that do no I/O are `async def`: FastAPI runs them on the event loop instead of
# handing each to a worker thread (a hop per dependency per request).
async def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


DbDep = Annotated[Database, Depends(database)]


def client_address(request: Request) -> str:
    """The address failed tokens are counted against: the connection's peer, as uvicorn gives
    it. uvicorn replaces it with `X-Forwarded-For` only for a trusted proxy (its
    `FORWARDED_ALLOW_IPS`, 127.0.0.1 unless set): see docs/operations.md."""
    return request.client.host if request.client else "unknown"


BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def authenticated(request: Request, db: Database, credentials: BearerDep) -> Actor:
    """The caller, or 401; 429 for an address that sent too many tokens that were not valid."""
    with answering_slowed():
        actor = admit(db, credentials.credentials, client_address(request)) if credentials else None
    return known(actor)


@contextmanager
def authenticated_to_change(
    request: Request, db: Database, credentials: BearerDep, case_id: str
) -> Iterator[Actor]:
    """As `authenticated`, for a request about to change the case `case_id`: the token is read
    with the command's first statements (`admitted_to_change`); the command runs inside."""
    if credentials is None:
        raise HTTPException(401, "A valid bearer token is needed.")
    token, address = credentials.credentials, client_address(request)
    with answering_slowed(), admitted_to_change(db, token, address, case_id) as actor:
        yield known(actor)


@contextmanager
def answering_slowed() -> Iterator[None]:
    """429 for an address that sent too many tokens that were not valid."""
    try:
        yield
    except TooManyFailedTokens as slowed:
        raise HTTPException(
            429,
            "Too many tokens that were not valid came from this address; "
            f"retry in {slowed.retry_after} s.",
            headers={"Retry-After": str(slowed.retry_after)},
        ) from None


def known(actor: Actor | None) -> Actor:
    """The caller, or 401."""
    if actor is None:
        raise HTTPException(401, "A valid bearer token is needed.")
    return actor


async def caller(request: Request, db: DbDep, credentials: BearerDep) -> Actor:
    return await on_database(db, authenticated, request, db, credentials)


ActorDep = Annotated[Actor, Depends(caller)]


@dataclass(frozen=True)
class Presented:
    """A request's bearer token as it came, not read yet (see `per_case`)."""

    request: Request
    credentials: HTTPAuthorizationCredentials | None


PRESENTED = "handoff.presented"  # in the request's scope: its token, not checked yet


async def presented(request: Request, credentials: BearerDep) -> Presented:
    if credentials is None:
        raise HTTPException(401, "A valid bearer token is needed.")
    request.scope[PRESENTED] = found = Presented(request, credentials)
    return found


async def token_refusal(request: Request) -> HTTPException | None:
    """For a request refused before its route ran (invalid input), the refusal its token gets
    (401, or 429), if any: a caller without a valid token learns nothing of the input's checks,
    as when the token was checked before the input."""
    found: Presented | None = request.scope.get(PRESENTED)
    if found is None:
        return None
    try:
        await caller(request, request.app.state.db, found.credentials)
    except HTTPException as refused:
        return refused
    return None


PresentedDep = Annotated[Presented, Depends(presented)]


def per_case(endpoint: Callable[P, R], *, changes_case: bool = False) -> Callable[P, Any]:
    """A sync endpoint or dependency taking `db`, run through `on_database`. For bounded work on
    one case or one page: long reads (audit search, exports, metrics) stay in worker threads.

    An endpoint's `ActorDep` is checked in the same call as its work: FastAPI is given the
    token as presented (`PresentedDep`, no I/O), and the token is read where the endpoint runs,
    so a request crosses to a worker thread once, not once for the caller and again for the work.
    `changes_case`: the endpoint changes the case of its `case_id`, and the token is read in the
    round trip that begins its command (`authenticated_to_change`).
    """
    signature = inspect.signature(endpoint)
    if "db" not in signature.parameters:
        raise TypeError(f"{endpoint.__name__} takes no db, so it cannot run per case")
    if inspect.iscoroutinefunction(endpoint):
        raise TypeError(f"{endpoint.__name__} is async already: it would never be awaited")
    hints = get_type_hints(endpoint, include_extras=True)
    callers = [name for name in signature.parameters if hints.get(name) == ActorDep]

    def checked_then_run(*args: Any, **kwargs: Any) -> R:
        db = cast(Database, kwargs["db"])
        if changes_case and len(callers) == 1:  # the caller read with the change's first rows
            presented = cast(Presented, kwargs[callers[0]])
            case_id = cast(str, kwargs["case_id"])
            with authenticated_to_change(
                presented.request, db, presented.credentials, case_id
            ) as actor:
                kwargs[callers[0]] = actor
                return endpoint(*args, **kwargs)
        for name in callers:
            presented = cast(Presented, kwargs[name])
            kwargs[name] = authenticated(presented.request, db, presented.credentials)
        return endpoint(*args, **kwargs)

    @functools.wraps(endpoint)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        return await on_database(cast(Database, kwargs["db"]), checked_then_run, *args, **kwargs)

    call.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[
            p.replace(annotation=PresentedDep) if p.name in callers else p
            for p in signature.parameters.values()
        ]
    )
    return call


_LOCKS_LATE = "handoff_locks_its_case_late"
E = TypeVar("E", bound=Callable[..., Any])


def locks_its_case_late(endpoint: E) -> E:
    """A POST on a case whose command is not begun ahead with its caller's check (`per_case`'s
    `changes_case`): one that holds agents before the case (claim, assign, accept: agents are
    held before cases in every transaction), or that reads uploaded files first."""
    setattr(endpoint, _LOCKS_LATE, True)
    return endpoint


class CaseRouter(APIRouter):
    """The routers of case work: each sync endpoint runs `per_case`; a POST on one case
    (`{case_id}` in its path) changes it, unless it `locks_its_case_late`."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        changes = "POST" in (kwargs.get("methods") or ()) and "{case_id}" in self.prefix + path
        changes = changes and not getattr(endpoint, _LOCKS_LATE, False)
        super().add_api_route(path, per_case(endpoint, changes_case=changes), **kwargs)


async def expected_version(
    if_match: Annotated[
        str | None,
        Header(
            pattern=IF_MATCH_PATTERN,
            description='The case version the change is meant for, as its ETag: "7"; '
            "`*` for any version.",
        ),
    ] = None,
) -> int | None:
    """`If-Match: "7"` → 7; `*` or no header → any version. Anything else is invalid input (422),
    checked with the body, before the case is read."""
    if if_match is None or if_match == "*":
        return None
    return int(if_match.removeprefix("W/").strip('"'))


IfMatch = Annotated[int | None, Depends(expected_version)]

CaseId = Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]
ItemId = Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page (1-200).")]
Cursor = Annotated[
    str | None, Query(pattern=CURSOR_PATTERN, description="next_cursor of the page before.")
]
