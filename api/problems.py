"""Every error as RFC 9457 problem+json, rendered by one exception handler.

Refusals keep their details (`allowed_triggers`, `missing`, `requests`, `phrase` …) as extension
members next to `type`, `title`, `status`, `detail` and `code`.
"""

import json
import logging
import time
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import token_refusal
from api.observability import mask_path
from api.ui.pages import is_page, page_for_status
from handoff.domain.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    Refusal,
    TooLarge,
)
from handoff.store.connecting import asked_at

MEDIA_TYPE = "application/problem+json"
# The database is away or too slow (refused connection, connect/pool/lock/statement timeout):
# the client may retry the same request, with the same Idempotency-Key, shortly.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)
RETRY_AFTER = "5"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
RESERVED = frozenset({"type", "title", "status", "detail", "code"})
log = logging.getLogger(__name__)


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An error answer; refusals add their details as further members."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | None = None


def problem(status: int, code: str, detail: str, **extensions: Any) -> JSONResponse:
    body = {
        "type": f"urn:handoff:problem:{code}",
        "title": code.replace("_", " ").capitalize(),
        "status": status,
        "detail": detail,
        "code": code,
    }
    body |= {k: v for k, v in jsonable_encoder(extensions).items() if k not in RESERVED}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(error: DomainError) -> int:
    if isinstance(error, Refusal):
        return 412 if error.code == "version_conflict" else 409
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, InvalidInput):
        return 422
    if isinstance(error, TooLarge):
        return 413
    return 400


def field_errors(error: RequestValidationError) -> list[dict[str, str]]:
    """`("body", "customer", "name")` becomes `customer.name`; a header keeps its own name."""
    found = []
    for e in error.errors():
        where, *path = e.get("loc") or ("body",)
        if e.get("type") == "json_invalid":  # the path is a position in the text
            where, path = "body", []
        name = ".".join(str(p) for p in path) or str(where)
        found.append({"field": name, "message": str(e.get("msg", "invalid"))})
    return found


def _code_of(status: int) -> str:
    return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")


async def render(request: Request, exc: Exception) -> Response:
    """The one exception handler: engine errors, invalid input, HTTP errors and the unexpected.
    Under the web UI's addresses the answer is a page in the same words and status."""
    if isinstance(exc, RequestValidationError):
        exc = await token_refusal(request) or exc
    answer = _problem_of(request, exc)
    if not is_page(request.url.path):
        return answer
    page = page_for_status(request.url.path, answer.status_code, _problem_detail(answer))
    for name in ("Allow", "Retry-After", "X-Content-Type-Options"):
        if name in answer.headers:
            page.headers[name] = answer.headers[name]
    return page


def _problem_detail(answer: Response) -> str:
    detail = json.loads(bytes(answer.body)).get("detail")
    return detail if isinstance(detail, str) else ""


def _problem_of(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, DomainError):
        if isinstance(exc, Refusal):
            request.app.state.observability.refused(exc.code)
        details = dict(exc.details)
        if isinstance(exc, InvalidInput):
            details["errors"] = [{"field": exc.field, "message": exc.message}]
        return problem(status_of(exc), exc.code, exc.message, **details)
    if isinstance(exc, RequestValidationError):
        errors = field_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "validation_error", detail, errors=errors)
    if isinstance(exc, HTTPException):
        response = problem(exc.status_code, _code_of(exc.status_code), str(exc.detail))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = allowed_methods(request)
        return response
    if isinstance(exc, DATABASE_UNAVAILABLE):
        log.warning("database unavailable on %s %s: %s", request.method, masked(request), exc)
        return database_unavailable()
    log.exception("unexpected error on %s %s", request.method, masked(request), exc_info=exc)
    answer = problem(500, "internal_error", "An unexpected error occurred; it has been logged.")
    answer.headers["X-Content-Type-Options"] = "nosniff"  # answered outside every middleware
    return answer


def allowed_methods(request: Request) -> str:
    """Every method some route takes at this address (the router names only the first route's
    methods in its 405), HEAD wherever GET is (api.hygiene)."""
    allowed = [
        method
        for method in METHODS
        if any(
            route.matches(dict(request.scope, method=method))[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]
    if "GET" in allowed:
        allowed.insert(allowed.index("GET") + 1, "HEAD")
    return ", ".join(allowed)


def masked(request: Request) -> str:
    return mask_path(request.url.path)


def database_unavailable() -> JSONResponse:
    detail = "The database is not available right now; retry shortly."
    response = problem(503, "database_unavailable", detail)
    response.headers["Retry-After"] = RETRY_AFTER
    return response


def install(app: FastAPI) -> None:
    for kind in (DomainError, RequestValidationError, HTTPException, *DATABASE_UNAVAILABLE):
        app.add_exception_handler(kind, render)
    app.add_exception_handler(Exception, render)


class DatabaseUnavailableMiddleware:
    """503 for the database being away where no route is running to answer it: in middleware
    that touches the database (idempotency keys) before or after the route. Once an answer has
    been sent whole, a later failure (forgetting an idempotency key) is only logged; an answer
    cut off halfway cannot be mended, so the connection is dropped."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        asked = asked_at.set(time.monotonic())  # see handoff.store.connecting
        try:
            if scope["type"] == "http":
                await self._answer(scope, receive, send)
            else:
                await self.app(scope, receive, send)
        finally:
            asked_at.reset(asked)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        progress = {"started": False, "finished": False}

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                progress["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                progress["finished"] = True
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except DATABASE_UNAVAILABLE as error:
            if progress["finished"]:
                path = mask_path(scope["path"])
                log.warning("database unavailable after answering %s: %s", path, error)
            elif progress["started"]:
                raise
            else:
                log.warning("database unavailable on %s: %s", mask_path(scope["path"]), error)
                answer: Response = database_unavailable()
                if is_page(scope["path"]):
                    page = page_for_status(scope["path"], 503, _problem_detail(answer))
                    page.headers["Retry-After"] = RETRY_AFTER
                    answer = page
                await answer(scope, receive, send)
