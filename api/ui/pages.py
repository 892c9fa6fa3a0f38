"""Rendering: the templates, their filters, and engine errors as a notice a person reads."""

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.schemas.fields import ID_PATTERN
from api.ui import words
from api.ui.session import csrf_token, take_notice
from handoff.domain.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    Refusal,
    TooLarge,
)
from handoff.domain.lifecycle import EVENT_TYPES
from handoff.store.models import OPEN_REQUEST_STATES

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
TEMPLATES.env.filters.update(when=words.when, since=words.since)
TEMPLATES.env.globals.update(
    states=words.STATES,
    action_words=words.ACTIONS,
    party_words=words.PARTIES,
    resolution_words=words.RESOLUTIONS,
    request_states=words.REQUEST_STATES,
    via_words=words.VIA,
    event_types=" ".join(sorted(EVENT_TYPES)),
    open_request_states=OPEN_REQUEST_STATES,
)


@dataclass(frozen=True)
class Problem:
    """An engine error as the page shows it: plain words first, the stable code beside them."""

    title: str
    message: str
    code: str
    status: int
    phrase: str | None = None
    show_code: bool = True  # not to customers: the code is for the people who work cases

    @classmethod
    def of(cls, error: DomainError) -> "Problem":
        phrase = error.details.get("phrase")
        if isinstance(error, Refusal):
            status = 412 if error.code == "version_conflict" else 409
            message = _too_late(error) if error.code == "invalid_transition" else error.message
            return cls("Refused", message, error.code, status, phrase)
        if isinstance(error, InvalidInput):
            return cls("Please check the form", error.message, error.code, 422)
        if isinstance(error, Forbidden):
            return cls("Not allowed", error.message, error.code, 403)
        if isinstance(error, NotFound):
            return cls("Not found", error.message, error.code, 404)
        if isinstance(error, TooLarge):
            return cls("Too much to send", error.message, error.code, 413)
        return cls("Not possible", error.message, error.code, 400)

    @classmethod
    def for_customer(cls, error: DomainError) -> "Problem":
        """The same, in the customer's words: what happened, never how the engine calls it."""
        problem = replace(cls.of(error), show_code=False)
        if error.code == "invalid_transition":
            message = "That is no longer possible: below is your case as it stands now."
            return replace(problem, title="Not possible now", message=message)
        return problem


def _too_late(error: Refusal) -> str:
    """An action the case (or request) is past: say which and where things stand, in words."""
    trigger, state = error.details.get("trigger"), error.details.get("state")
    now = "Someone may have acted on it a moment ago; the page shows it as it is now."
    if trigger in words.ACTIONS and state in words.STATES:
        action, where = words.ACTIONS[trigger], words.STATES[state].lower()
        return f"“{action}” is not possible now: the case is {where}. {now}"
    if state in words.REQUEST_STATES:
        return f"Not possible now: the request is {words.REQUEST_STATES[state].lower()}. {now}"
    return error.message


# Pages load only this site's own files, cannot be framed (clickjacking) and never tell another
# site their address: a customer's status-page link is their only key.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("actor", None)
    context.update(csrf_token=csrf_token(request), notice=take_notice(request))
    return TEMPLATES.TemplateResponse(
        request, template, context, status_code=status_code, headers=HEADERS
    )


def error_page(
    request: Request, status_code: int, title: str, message: str, **context: Any
) -> HTMLResponse:
    if request.url.path.startswith("/ui/"):
        context.setdefault("back", "/ui/")
    return render(request, "error.html", status_code, title=title, message=message, **context)


def bare_error_page(
    status_code: int, title: str, message: str, back: str | None = None
) -> HTMLResponse:
    """An error page for a request refused before it reached the pages (its session unread):
    a form too large to read, say. `back`: the page to offer a link back to."""
    context = {"title": title, "message": message, "actor": None, "notice": None, "back": back}
    html = TEMPLATES.env.get_template("error.html").render(context | {"csrf_token": ""})
    return HTMLResponse(html, status_code, headers=HEADERS)


# What a case id or a status-page link can look like: anything else names nothing, and is answered
# "not found" before it reaches a database (PostgreSQL refuses a NUL in a query, say).
CASE_ID = re.compile(ID_PATTERN)
LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def not_found(request: Request, **context: Any) -> HTMLResponse:
    return error_page(
        request, 404, "Not found", "There is no such case, or it is not one you may see.", **context
    )


# Every address under these answers in pages, whatever the method and status (SPEC §14).
PAGE_PREFIXES = ("/ui/", "/c/")
WORDS_FOR_STATUS = {
    400: ("Not possible", "What was sent could not be read. Go back and try again."),
    401: ("Sign in needed", "Sign in to see this page."),
    403: ("Not allowed", "This is not something you may do."),
    404: ("Not found", "There is no page at this address."),
    405: ("Not possible here", "This address does not take that kind of request."),
    409: ("Refused", ""),
    412: ("Refused", "The case changed in the meantime. Reload the page and try again."),
    413: ("Too much to send", "What you sent is more than this page can take."),
    422: ("Please check the form", "Something in what was sent is missing or not valid."),
    429: ("Too many attempts", "Wait a moment, then try again."),
    500: ("Something went wrong", "An unexpected error occurred; it has been logged."),
    503: ("Not available right now", "The service is busy or restarting. Try again shortly."),
}


def is_page(path: str) -> bool:
    return path == "/ui" or path.startswith(PAGE_PREFIXES)


def page_for_status(path: str, status_code: int, detail: str = "") -> HTMLResponse:
    """An error at a web UI address, as a page with a way back; a refusal (409) in its own
    words."""
    title, message = WORDS_FOR_STATUS.get(status_code, ("Not possible", ""))
    if status_code == 409 or not message:
        message = detail or "That is not possible now."
    return bare_error_page(status_code, title, message, back=_way_back(path))


def _way_back(path: str) -> str:
    """The customer's own status page under /c/{link}, the home page anywhere else."""
    parts = path.split("/")  # "", "c", link, ...
    if len(parts) >= 3 and parts[1] == "c" and LINK.match(parts[2]):
        return "/".join(parts[:3])
    return "/ui/"
