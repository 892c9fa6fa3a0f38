"""Signing in with a token, signing out, and where `/` and `/ui/` lead."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import client_address
from api.ui import session
from api.ui.deps import DbDep
from api.ui.pages import render
from api.ui.session import CheckedForm, MaybeActor
from handoff.services.authentication import TooManyFailedTokens, admit

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a page of this UI: never another site (`//evil.example`)."""
    if target and target.startswith("/ui/") and not target.startswith("//"):
        return target
    return "/ui/"


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=303)


@router.get("/ui/")
def home(actor: MaybeActor) -> RedirectResponse:
    if actor is None:
        return RedirectResponse("/ui/sign-in", status_code=303)
    return RedirectResponse("/ui/audit" if actor.is_auditor else "/ui/queue", status_code=303)


@router.get("/ui/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "sign_in.html", next=safe_next(next))


@router.post("/ui/sign-in")
def sign_in(request: Request, db: DbDep, form: CheckedForm) -> Response:
    back = safe_next(form.get("next"))
    try:
        actor = admit(db, form.get("token", "").strip(), client_address(request))
    except TooManyFailedTokens as slowed:
        error = (
            "Too many tokens that were not valid came from your address. "
            f"Try again in {slowed.retry_after} seconds."
        )
        page = render(request, "sign_in.html", 429, error=error, next=back)
        page.headers["Retry-After"] = str(slowed.retry_after)
        return page
    if actor is None or actor.kind != "agent":
        error = (
            "That token is not valid."
            if actor is None
            else "This token is for a partner system or an admin; the web pages are for people."
        )
        return render(request, "sign_in.html", 400, error=error, next=back)
    session.sign_in(request, actor)
    return RedirectResponse(back, status_code=303)


@router.post("/ui/sign-out")
def sign_out(request: Request, db: DbDep, form: CheckedForm) -> RedirectResponse:
    session.sign_out(request, db)
    return RedirectResponse("/ui/sign-in", status_code=303)
