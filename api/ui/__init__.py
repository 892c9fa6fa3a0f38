"""The web UI (SPEC §9): server-rendered pages for reps, supervisors, auditors and customers."""

import secrets
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from api.ui import audit, cases, customer, sign_in, streams
from api.ui.pages import STATIC, error_page
from api.ui.session import CsrfRejected, SignInRequired
from handoff.store.db import Database
from handoff.store.web_sessions import SESSION_HOURS

SESSION_COOKIE = "handoff_session"


def mount_ui(app: FastAPI, db: Database) -> None:
    """Add the pages, their session cookie, static files and error pages to `app`."""
    app.state.ui_database = db
    app.add_middleware(
        SessionMiddleware,
        secret_key=db.settings.session_secret or secrets.token_urlsafe(32),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        # Secure: never sent over plain http when people reach the server over https.
        https_only=(db.settings.public_url or "").lower().startswith("https://"),
    )
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    for module in (sign_in, streams, cases, audit, customer):
        app.include_router(module.router)
    # Last: any other address under /ui is a page that does not exist, answered as a page.
    app.add_api_route("/ui/{rest:path}", _no_such_page, methods=["GET"], include_in_schema=False)
    app.add_exception_handler(SignInRequired, _to_sign_in)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)


def _to_sign_in(request: Request, _exc: Exception) -> Response:
    """To the sign-in page, and from there back to the page asked for (a form's page: home)."""
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        back = "/ui/"
    return RedirectResponse(f"/ui/sign-in?next={quote(back)}", status_code=303)


def _no_such_page(request: Request, rest: str) -> HTMLResponse:
    return error_page(request, 404, "Not found", "There is no page at this address.")


def _csrf_rejected(request: Request, _exc: Exception) -> HTMLResponse:
    return error_page(
        request,
        403,
        "This form was not accepted",
        "It did not carry this session's security token: it may be from an old page or another "
        "site. Go back, reload the page and try again.",
    )
