"""A cap on request bodies: the largest valid body is far below it, and without a cap a client
could make the server read and parse any amount before field lengths are checked."""

import re

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem
from api.ui.pages import CASE_ID, LINK, bare_error_page
from handoff.domain.attachments import MAX_BYTES, MAX_FILES

MAX_BODY = 1024 * 1024
PAGES = ("/ui/", "/c/")  # the web UI's paths: its answers are pages, not problem+json


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read, then whatever comes next (a disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


# Where files are given (SPEC §12): up to five of 10 MB each, and the form around them.
MAX_FILES_BODY = MAX_FILES * MAX_BYTES + MAX_BODY
FILE_PATHS = re.compile(
    r"^(/v1/cases/[^/]+/attachments|/c/[^/]+/answer|/ui/cases/[^/]+/add_attachments)$"
)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body
        self.files = BodyLimitMiddleware(app, MAX_FILES_BODY) if max_body == MAX_BODY else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.files is not None and FILE_PATHS.match(str(scope.get("path", ""))):
            await self.files(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_body:
                await self._too_large(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        # No length given (chunked): read up to the cap, then hand the body on.
        chunks, size = [], 0
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body:
                await self._too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, replaying(b"".join(chunks), receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if path.startswith(PAGES):  # a person at a browser sent a form
            page = bare_error_page(
                413,
                "Too much to send",
                f"What you sent is larger than {_size(self.max_body)}, the most a form can carry. "
                "Shorten it, and send it again.",
                back=_page_of(path),
            )
            await page(scope, receive, send)
            return
        detail = f"The request body is larger than {self.max_body} bytes."
        await problem(413, "content_too_large", detail)(scope, receive, send)


def _page_of(form_path: str) -> str | None:
    """The page a form was posted from: /ui/cases/{id}/add_note → /ui/cases/{id}, /c/{link}/reply
    → /c/{link}; None when it is not one of those."""
    parts = form_path.split("/")  # "", "ui", "cases", id, action  or  "", "c", link, action
    if len(parts) == 5 and parts[1:3] == ["ui", "cases"] and CASE_ID.match(parts[3]):
        return "/".join(parts[:4])
    if len(parts) == 4 and parts[1] == "c" and LINK.match(parts[2]):
        return "/".join(parts[:3])
    return None


def _size(limit: int) -> str:
    """1048576 → "1 MB", 524288 → "512 KB", 1000 → "1000 bytes"."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"
