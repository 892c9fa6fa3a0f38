"""The FastAPI application: routers, the one exception handler, idempotency and metrics."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

from anyio import to_thread
from fastapi import FastAPI

from api import openapi, problems
from api.hygiene import HeadMiddleware, NoSniffMiddleware
from api.idempotency import IdempotencyMiddleware
from api.limits import BodyLimitMiddleware
from api.observability import MetricsMiddleware, Observability, mask_access_log
from api.routes import (
    admin,
    attachments,
    audit,
    cases,
    handoffs,
    history,
    ops,
    requests,
    resolution,
    sessions,
    streams,
    webhooks,
)
from api.ui import mount_ui
from handoff.config import Settings
from handoff.store.db import Database

ROUTERS = (
    cases,
    requests,
    handoffs,
    sessions,
    attachments,
    resolution,
    history,
    audit,
    admin,
    webhooks,
    ops,
)
DESCRIPTION = """\
One accountable owner per cross-company case, warm handoffs only, no send-away.

Authenticate with `Authorization: Bearer <token>`. Errors are `application/problem+json` with a
stable `code`. Case answers carry `ETag: "<version>"`; send it back as `If-Match` to act only on
that version. Every POST accepts `Idempotency-Key`.
"""


def create_app(db: Database | None = None, *, serving: bool = False) -> FastAPI:
    """The API over `db`; without one, over the database the HANDOFF_* settings name.
    `serving`: the app is a server process's for its whole life (`handoff serve`)."""
    database = db or Database(Settings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        database.rules  # noqa: B018 (a bad send-away rules file stops start-up, not a request)
        threads = database.settings.api_threads or 4
        to_thread.current_default_thread_limiter().total_tokens = threads
        if serving:
            # What start-up built (routes, schemas, SQLAlchemy's metadata) lives as long as the
            # process: out of the collector's sight, a full collection no longer stalls every
            # request in flight (about 100 ms every few seconds under load: the benchmark's p99).
            gc.collect()
            gc.freeze()
        database.serve_on_this_loop()
        async with streams.running(_app, serving):
            yield
        await database.stop_serving_on_this_loop()
        if db is None:
            database.dispose()

    app = FastAPI(title="handoff", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.db = database
    app.state.observability = Observability()
    problems.install(app)
    for module in ROUTERS:
        app.include_router(module.router)
    streams.install(app, database)
    mount_ui(app, database)
    openapi.install(app)
    # The last added runs first: metrics see every answer, replays included, and HEAD as HEAD.
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(problems.DatabaseUnavailableMiddleware)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(HeadMiddleware)
    app.add_middleware(MetricsMiddleware, observability=app.state.observability)
    app.add_middleware(NoSniffMiddleware)
    mask_access_log()
    return app


@cache
def _app_from_settings() -> FastAPI:
    return create_app()


def serving_app() -> FastAPI:
    """The factory `handoff serve` gives uvicorn."""
    return create_app(serving=True)


def __getattr__(name: str) -> FastAPI:
    """`api.app:app` for uvicorn, built on first use (importing this module touches nothing)."""
    if name == "app":
        return _app_from_settings()
    raise AttributeError(name)
