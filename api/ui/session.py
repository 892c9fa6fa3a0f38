"""Who is signed in, the per-session CSRF token and one-shot notices, kept in the session cookie.

The cookie holds who signed in (never their token) and a session id, and is signed, so it cannot
be forged; the person is looked up again on every request, so a deactivated agent is signed out at
once, and a session signed out is refused even from a copy of its cookie.
"""

import secrets
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import UploadFile

from api.ui.deps import DbDep, DirectoryDep
from handoff.domain.attachments import MAX_BYTES, GivenFile
from handoff.domain.principals import Actor
from handoff.services.credentials import is_revoked
from handoff.store import web_sessions
from handoff.store.db import Database


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
    request.session["who"] = {
        "id": actor.id,
        "orgs": sorted(actor.orgs) if actor.orgs is not None else None,
    }
    request.session["sid"] = web_sessions.new_session_id()
    request.session["cred"] = actor.credential_id
    csrf_token(request)


def sign_out(request: Request, db: Database) -> None:
    """End the session here and for any copy of its cookie (see handoff.web_sessions)."""
    session_id = request.session.get("sid")
    if isinstance(session_id, str):
        web_sessions.end(db, session_id)
    request.session.clear()


def signed_in_actor(request: Request, names: DirectoryDep, db: DbDep) -> Actor | None:
    who: dict[str, Any] | None = request.session.get("who")
    session_id = request.session.get("sid")
    person = names.people.get(who["id"]) if who else None
    if who is None or person is None or not person.active or not isinstance(session_id, str):
        return None
    if web_sessions.has_ended(db, session_id):
        return None
    credential = request.session.get("cred")
    if isinstance(credential, str) and is_revoked(db, credential):
        return None  # its token was revoked: the session goes with it
    orgs = frozenset(who["orgs"]) if who.get("orgs") is not None else None
    return Actor(kind="agent", id=person.id, org_id=person.org_id, role=person.role, orgs=orgs)


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
