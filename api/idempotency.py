"""`Idempotency-Key` on mutating POSTs: a retry gets the stored answer back (SPEC §8, §14).

The request runs in a transaction that holds its key (see `handoff.store.idempotency`); its answer
is kept in that transaction and committed with the change before it is sent, so no answer is ever
seen that is not kept, and a crash leaves either both or neither. A retry that arrives while the
first request is still running waits for its answer (10 s at most); one with another body is
refused. Answers of 5xx are not kept (nor the change, if any), so the retry runs afresh.
What the API shows only once (a new credential's `token`, a new webhook's `secret`: the answers
marked `Cache-Control: no-store`) is not kept either: SPEC §7 stores credentials only as hashes,
so a replay answers `null` there, and a client that lost the first answer asks again with a new
key.
"""

import hashlib
import json
import re
from collections.abc import Callable
from typing import TypeVar

import anyio
from anyio import to_thread
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import on_database, request_threads
from api.limits import replaying
from api.problems import problem
from handoff import services
from handoff.store import idempotency
from handoff.store.db import Database

R = TypeVar("R")
HEADER = "Idempotency-Key"
KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces
REPLAYED_HEADERS = ("content-type", "etag", "location", "cache-control")
# Threads of their own for keyed requests, to claim their key and do their work: the request
# holding a key (and on SQLite the writer, on PostgreSQL its rows' locks) must never wait for a
# shared thread that a request waiting for what it holds has taken (the pool is api_threads).
KEY_THREADS = 64
SHOWN_ONCE = ("token", "secret")  # what a no-store answer holds that is never kept for a replay


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """The same JSON however it is spaced or ordered counts as the same body."""
    try:
        normalized = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        normalized = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, normalized):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._threads: anyio.CapacityLimiter | None = None

    async def _in_thread(self, work: Callable[..., R], *args: object) -> R:
        if self._threads is None:
            self._threads = anyio.CapacityLimiter(KEY_THREADS)
        return await to_thread.run_sync(work, *args, limiter=self._threads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        db: Database = scope["app"].state.db
        headers = Headers(scope=scope)
        key = headers.get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not KEY.match(key):
            message = f"{HEADER} must be 1 to 255 printable ASCII characters"
            errors = [{"field": HEADER, "message": message}]
            await problem(422, "validation_error", message, errors=errors)(scope, receive, send)
            return
        scheme, _, token = headers.get("authorization", "").partition(" ")
        actor = None
        if scheme.lower() == "bearer" and token.strip():
            actor = await on_database(db, services.authenticate, db, token.strip())
        if actor is None:  # the route itself answers 401
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        principal = f"{actor.kind}:{actor.id}"
        asked = fingerprint(scope["method"], scope["path"], scope.get("query_string", b""), body)
        with anyio.CancelScope(shield=True):  # a key held is never dropped unanswered
            claim, held = await self._in_thread(idempotency.hold, db, principal, key, asked)
        if held is not None:
            await self._run(scope, body, receive, send, held)
        elif claim.outcome == "reused":
            detail = f"This {HEADER} was used for a different request."
            await problem(422, "idempotency_key_reused", detail)(scope, receive, send)
        elif claim.answer is not None:
            await _replay(claim.answer, send)
        else:
            detail = f"A request with this {HEADER} is still in progress; retry later."
            await problem(409, "idempotency_key_in_progress", detail)(scope, receive, send)

    async def _run(
        self, scope: Scope, body: bytes, receive: Receive, send: Send, held: idempotency.HeldKey
    ) -> None:
        """Run the request in the held transaction, keep its answer with the change, then send."""
        start: Message = {}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        token = request_threads.set(self._threads)
        try:
            with held.joined():
                await self.app(scope, replaying(body, receive), keep)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._in_thread(held.abandon)
            raise
        finally:
            request_threads.reset(token)
        answered = b"".join(chunks)
        with anyio.CancelScope(shield=True):
            # 5xx, or 429 (the address was slowed): nothing was done, and the retry runs it.
            if not start or int(start["status"]) >= 500 or int(start["status"]) == 429:
                await self._in_thread(held.abandon)
            else:
                await self._in_thread(held.answer, _kept(start, answered))
        if not start:
            raise RuntimeError("the application gave no answer")
        await send(start)
        await send({"type": "http.response.body", "body": answered})


def _kept(start: Message, answered: bytes) -> idempotency.StoredAnswer:
    """The answer as kept for a replay: its status, the headers that describe it, and its body
    without what is shown only once."""
    kept = {
        k.decode("latin-1"): v.decode("latin-1")
        for k, v in start.get("headers", [])
        if k.decode("latin-1").lower() in REPLAYED_HEADERS
    }
    if kept.get("cache-control") == "no-store":
        answered = _without_secrets(answered)
    return idempotency.StoredAnswer(int(start["status"]), kept, answered)


def _without_secrets(body: bytes) -> bytes:
    """The answer as kept: any field shown only once is null."""
    try:
        answer = json.loads(body)
    except ValueError:
        return body
    if not isinstance(answer, dict) or not any(answer.get(f) for f in SHOWN_ONCE):
        return body
    kept = answer | {f: None for f in SHOWN_ONCE if f in answer}
    return json.dumps(kept, ensure_ascii=False, separators=(",", ":")).encode()


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _replay(answer: idempotency.StoredAnswer, send: Send) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
    headers += [
        (b"content-length", str(len(answer.body)).encode()),
        (b"idempotent-replayed", b"true"),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
