"""What routes are given: the database, the calling principal, the case version they expect."""

from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from api.schemas.fields import CURSOR_PATTERN, ID_PATTERN
from handoff import commands
from handoff.db import Database
from handoff.errors import Refusal
from handoff.principals import Actor

bearer = HTTPBearer(auto_error=False, description="A token issued by POST /v1/credentials")


# Dependencies that do no I/O are `async def`: FastAPI runs them on the event loop instead of
# handing each to a worker thread (a hop per dependency per request).
async def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


DbDep = Annotated[Database, Depends(database)]


def caller(
    db: DbDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Actor:
    actor = commands.authenticate(db, credentials.credentials) if credentials else None
    if actor is None:
        raise HTTPException(401, "A valid bearer token is needed.")
    return actor


ActorDep = Annotated[Actor, Depends(caller)]


async def expected_version(
    if_match: Annotated[
        str | None,
        Header(
            max_length=100,
            description='The case version the change is meant for, as its ETag: "7".',
        ),
    ] = None,
) -> int | None:
    """`If-Match: "7"` → 7; `*` or no header → any version. Anything else cannot match (412)."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isascii() or not tag.isdigit() or len(tag) > 9:
        raise Refusal(
            "version_conflict",
            f'If-Match {if_match!r} is not a case version such as "7"; reload the case.',
        )
    return int(tag)


IfMatch = Annotated[int | None, Depends(expected_version)]

CaseId = Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]
ItemId = Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page (1-200).")]
Cursor = Annotated[
    str | None, Query(pattern=CURSOR_PATTERN, description="next_cursor of the page before.")
]
