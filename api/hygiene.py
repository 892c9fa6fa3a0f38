"""What every answer gets whatever route gave it (SPEC §14): `X-Content-Type-Options: nosniff`,
and HEAD wherever GET is answered."""

import anyio
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NOSNIFF = ("X-Content-Type-Options", "nosniff")
# What the router notes on the scope it is given, copied back for the metrics' route label.
ROUTED = ("route", "endpoint", "path_params")


class NoSniffMiddleware:
    """Browsers take each answer as the media type it says it is, never as one they guess."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault(*NOSNIFF)
            await send(message)

        await self.app(scope, receive, send_with_header)


class HeadMiddleware:
    """HEAD is answered as GET would be, the same status and headers, without the body
    (RFC 9110 §9.3.2). The answer ends with its headers: a stream (SSE) is not kept open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        # A copy: the server reads the method of its own scope to know no body is coming.
        as_get = dict(scope, method="GET")
        with anyio.CancelScope() as answered:

            async def headers_only(message: Message) -> None:
                if message["type"] != "http.response.start":
                    return  # the body, and any trailer, is not sent
                await send(message)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                answered.cancel()  # nothing the GET would go on to do is needed

            await self.app(as_get, receive, headers_only)
        for key in ROUTED:
            if key in as_get:
                scope[key] = as_get[key]
