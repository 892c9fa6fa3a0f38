"""Where a request's database work runs: on the event loop for SQLite; for PostgreSQL on the event
loop that serves the database (its asyncio connections), and in a worker thread on any other loop
(no database is opened).

The work itself says where it ran: on the very loop that awaited it (a running loop is there),
or in a worker thread of that loop's thread pool (no running loop, and AnyIO's way back to the
loop leads to that same loop). Nothing compares thread identities, which a finished thread hands
on to the next one started."""

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from anyio import from_thread
from anyio.from_thread import start_blocking_portal
from fastapi.routing import APIRoute

from api.deps import on_database, per_case
from api.routes import audit, cases, handoffs, history, requests, resolution, sessions
from handoff.config import Settings
from handoff.store.db import Database

POSTGRES = "postgresql+psycopg://handoff@db.example:5432/handoff"
T = TypeVar("T")
ON_THE_LOOP = "on the event loop"
IN_A_WORKER_THREAD = "in a worker thread of the event loop's pool"


def on_an_event_loop(main: Callable[[], Awaitable[T]]) -> T:
    """`main` run on an event loop of its own thread, as uvicorn runs a request (the browser
    tests' Playwright keeps a loop running in this thread)."""
    with start_blocking_portal() as portal:
        return portal.call(main)


def where_work_runs(db: Database) -> str:
    """Where `on_database` ran a piece of work, as the work itself finds it."""
    return on_an_event_loop(lambda: where_on_this_loop(db))


async def where_on_this_loop(db: Database) -> str:
    """Where `on_database` ran a piece of work on the running loop, as the work finds it."""
    loop = asyncio.get_running_loop()

    def work() -> str:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:  # no loop runs in this thread: it is a worker thread
            back_on = from_thread.run_sync(asyncio.get_running_loop)  # only from AnyIO's pool
            return IN_A_WORKER_THREAD if back_on is loop else "in some other thread"
        return ON_THE_LOOP if running is loop else "on some other loop"

    return await on_database(db, work)


def test_sqlite_work_runs_on_the_event_loop_without_a_thread_hop() -> None:
    db = Database(Settings(database_url="sqlite:///:memory:"))
    assert where_work_runs(db) == ON_THE_LOOP
    db.dispose()


def test_sqlite_work_goes_to_a_worker_thread_while_another_thread_writes() -> None:
    db = Database(Settings(database_url="sqlite:///:memory:"))
    writing, done = threading.Event(), threading.Event()

    def writer() -> None:
        with db._one_writer_at_a_time():  # as a web-UI thread writing holds it
            writing.set()
            done.wait(60)

    holder = threading.Thread(target=writer)
    holder.start()
    assert writing.wait(60)
    try:
        while_busy = where_work_runs(db)
    finally:
        done.set()
        holder.join()

    assert while_busy == IN_A_WORKER_THREAD
    assert where_work_runs(db) == ON_THE_LOOP  # free again: on the loop
    db.dispose()


def test_postgres_work_runs_in_a_worker_thread_on_a_loop_that_does_not_serve_the_database() -> None:
    db = Database(Settings(database_url=POSTGRES))
    assert where_work_runs(db) == IN_A_WORKER_THREAD
    db.dispose()


def test_postgres_work_runs_on_the_loop_that_serves_the_database_until_it_stops() -> None:
    db = Database(Settings(database_url=POSTGRES))

    async def main() -> list[str]:
        found = []
        for _app in range(2):  # two apps on one loop, as two TestClients of one database
            db.serve_on_this_loop()
        found.append(await where_on_this_loop(db))
        await db.stop_serving_on_this_loop()
        found.append(await where_on_this_loop(db))  # the other app still serves it
        await db.stop_serving_on_this_loop()
        found.append(await where_on_this_loop(db))
        return found

    assert on_an_event_loop(main) == [ON_THE_LOOP, ON_THE_LOOP, IN_A_WORKER_THREAD]
    db.dispose()


def test_on_the_loop_the_work_sees_the_loops_engine_and_elsewhere_the_threads_engine() -> None:
    db = Database(Settings(database_url=POSTGRES))
    threads = db.engine

    async def main() -> tuple[object, object]:
        db.serve_on_this_loop()
        try:
            on_loop = await on_database(db, lambda: db.engine)
            return on_loop, db.engine  # outside the work: the threads' again
        finally:
            await db.stop_serving_on_this_loop()

    on_loop, after = on_an_event_loop(main)
    assert on_loop is not threads
    assert after is threads
    db.dispose()


def test_a_per_case_endpoint_keeps_its_signature_for_fastapi_and_awaits_the_work() -> None:
    def endpoint(case_id: str, db: Database) -> str:
        return f"{case_id} on {db.engine.dialect.name}"

    wrapped = per_case(endpoint)
    db = Database(Settings(database_url="sqlite:///:memory:"))

    async def main() -> str:
        result: str = await wrapped(case_id="c-1", db=db)
        return result

    assert on_an_event_loop(main) == "c-1 on sqlite"
    assert wrapped.__wrapped__ is endpoint  # type: ignore[attr-defined]
    db.dispose()


def runs_per_case(route: APIRoute) -> bool:
    """The endpoint FastAPI awaits is the per_case wrapper of a plain function taking db."""
    plain = getattr(route.endpoint, "__wrapped__", None)
    return (
        inspect.iscoroutinefunction(route.endpoint)
        and plain is not None
        and not inspect.iscoroutinefunction(plain)
        and "db" in inspect.signature(plain).parameters
    )


def test_every_endpoint_of_case_work_runs_per_case() -> None:
    routes = [r for m in (cases, requests, handoffs, sessions, resolution) for r in m.router.routes]
    assert len(routes) >= 20
    assert [r.path for r in routes if not isinstance(r, APIRoute) or not runs_per_case(r)] == []


def test_long_reads_stay_in_worker_threads() -> None:
    routes = [r for m in (audit, history) for r in m.router.routes if isinstance(r, APIRoute)]
    assert routes
    # One page of a case's events is bounded (at most 200): it runs per case like a command.
    bounded = ["/v1/cases/{case_id}/events"]
    assert [r.path for r in routes if runs_per_case(r)] == bounded


def test_an_endpoint_without_a_database_cannot_be_made_per_case() -> None:
    def endpoint(case_id: str) -> str:
        return case_id

    with pytest.raises(TypeError, match="endpoint takes no db"):
        per_case(endpoint)


def test_an_async_endpoint_cannot_be_made_per_case() -> None:
    async def endpoint(db: Database) -> str:
        return "never awaited"

    with pytest.raises(TypeError, match="async already"):
        per_case(endpoint)
