"""Who is signed in, the per-session CSRF token and one-shot notices, kept in the session cookie.

The cookie is signed, so it cannot be forged, and holds the session's id, the credential signed
in with (its id, never its token) and the time of signing in. Every request reads that
credential again (SPEC §14): a role changed, an auditor's scope narrowed, a token revoked or an
agent deactivated takes effect on the next page; a session signed out is refused even from a
copy of its cookie, and every session ends SESSION_HOURS after signing in, however it is used.
"""

import secrets
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import UploadFile

from api.ui.deps import DbDep
from handoff.domain.attachments import MAX_BYTES, GivenFile
from handoff.domain.principals import Actor
from handoff.services.authentication import session_principal
from handoff.store import web_sessions
from handoff.store.db import Database
from handoff.store.models import utcnow

IDENTITY = ("sid", "cred", "at")  # what signing in puts in the cookie, besides a CSRF token


class SignInRequired(Exception):
    """The page needs a signed-in agent."""


class CsrfRejected(Exception):
    """A form came without this session's CSRF token."""


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def checked_form(request: Request) -> dict[str, str]:
    """The posted form, once its CSRF token matches this session's (every POST takes this)."""
    form = await request.form()
    sent, expected = form.get("csrf_token"), request.session.get("csrf")
    if not (
        isinstance(sent, str)
        and isinstance(expected, str)
        and secrets.compare_digest(sent.encode(), expected.encode())
    ):
        raise CsrfRejected
    return {name: value for name, value in form.items() if isinstance(value, str)}


CheckedForm = Annotated[dict[str, str], Depends(checked_form)]


async def given_files(request: Request) -> list[UploadFile]:
    """The files of a posted form (read once, by CheckedForm, and kept by the request)."""
    form = await request.form()
    return [f for f in form.getlist("files") if isinstance(f, UploadFile)]


GivenFiles = Annotated[list[UploadFile], Depends(given_files)]


def read_files(files: list[UploadFile]) -> list[GivenFile]:
    """Their contents, each read to one byte past the most a file may be (so the engine can
    tell it is too large); a file input left empty sends one nameless, empty part: skipped."""
    return [
        GivenFile(f.filename or "file", f.file.read(MAX_BYTES + 1))
        for f in files
        if f.filename or f.size
    ]


def sign_in(request: Request, actor: Actor) -> None:
    """Start a fresh session (a new CSRF token too), so a planted cookie is worth nothing."""
    request.session.clear()
    request.session["sid"] = web_sessions.new_session_id()
    request.session["cred"] = actor.credential_id
    request.session["at"] = int(utcnow().timestamp())  # whole seconds: never later than now
    csrf_token(request)


def sign_out(request: Request, db: Database) -> None:
    """End the session here and for any copy of its cookie (see handoff.store.web_sessions)."""
    session_id = request.session.get("sid")
    if isinstance(session_id, str):
        web_sessions.end(db, session_id)
    request.session.clear()


def signed_in_actor(request: Request, db: DbDep) -> Actor | None:
    """The signed-in agent as their credential says now, or None (and the cookie forgets them)."""
    session_id, credential, at = (request.session.get(name) for name in IDENTITY)
    actor = None
    if isinstance(session_id, str) and isinstance(credential, str) and isinstance(at, int):
        signed_in_at = datetime.fromtimestamp(at, UTC)
        actor = session_principal(db, session_id, credential, signed_in_at)
    if actor is None:
        for name in (*IDENTITY, "who"):  # "who": what cookies from before held
            request.session.pop(name, None)
    return actor


def signed_in(actor: Annotated[Actor | None, Depends(signed_in_actor)]) -> Actor:
    if actor is None:
        raise SignInRequired
    return actor


MaybeActor = Annotated[Actor | None, Depends(signed_in_actor)]
CurrentActor = Annotated[Actor, Depends(signed_in)]


def notify(request: Request, text: str) -> None:
    """A notice shown once, on the next page (after a redirect)."""
    request.session["notice"] = text


def take_notice(request: Request) -> str | None:
    notice = request.session.pop("notice", None)
    return notice if isinstance(notice, str) else None
