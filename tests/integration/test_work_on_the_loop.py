"""On PostgreSQL a request's work runs on the event loop that serves the database, through
psycopg's asyncio connections: each round trip's statements go as one query text, each statement
prepared on its connection the first time (handoff.store.driver). One connection (a pool of
one) keeps working through refusals, rollbacks and failed round trips."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from anyio.from_thread import start_blocking_portal
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from handoff import services
from handoff.config import Settings
from handoff.domain.errors import Refusal
from handoff.services.audit import case_history
from handoff.services.queries import verify_case
from handoff.store import sql
from handoff.store.db import Database
from handoff.store.models import CaseRow
from handoff.store.sql import Statement
from tests.conftest import database_url
from tests.integration.world import World, build_world

pytestmark = pytest.mark.postgres
T = TypeVar("T")


@pytest.fixture
def one_connection(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    url = database_url("postgres", request, tmp_path)
    db = Database(Settings(database_url=url, pool_size=1, pool_max_overflow=0))
    yield build_world(db)
    db.dispose()


def on_the_loop(db: Database, work: Callable[[], T]) -> T:
    """`work` run as a request's is by the API that serves `db`."""

    async def main() -> T:
        db.serve_on_this_loop()
        try:
            return await db.on_the_loop(work)
        finally:
            await db.stop_serving_on_this_loop()

    with start_blocking_portal() as portal:  # (a loop of its own thread: the browser tests'
        return portal.call(main)  # Playwright may keep one running in this thread)


def test_commands_refused_and_rolled_back_leave_the_connections_statements_usable(
    one_connection: World,
) -> None:
    world = one_connection
    dana = world.agent("dana")
    case = services.create_case(
        world.db, dana, customer={"name": "Carla"}, subject="Hold", participants=["firstbank"]
    )
    services.create_request(world.db, dana, case.id, "firstbank", "Release the hold.")

    def work() -> list[str]:
        seen = []
        for round_ in range(3):  # the same statements, prepared once, through each rollback
            services.add_note(world.db, dana, case.id, f"Called the bank, round {round_}.")
            with world.db.reading() as session:  # what psycopg would prepare, if it prepared
                for _read in range(6):  # (a statement run 5 times in one transaction)
                    session.execute(select(CaseRow.version).where(CaseRow.id == case.id))
            try:
                services.propose_resolution(world.db, dana, case.id, "credited", "Released.")
            except Refusal as refused:
                seen.append(refused.code)
        return seen

    assert on_the_loop(world.db, work) == ["open_requests"] * 3
    types = [event.type for event in case_history(world.db, dana, case.id, limit=200).items]
    assert types.count("note_added") == 3
    assert types.count("refused") == 3
    assert verify_case(world.db, dana, case.id).valid


def test_a_round_trip_that_failed_leaves_no_statement_believed_prepared_that_is_not(
    one_connection: World,
) -> None:
    db = one_connection.db
    good = Statement("SELECT CAST(:n AS integer) + 1")
    broken = Statement("SELECT no_such_column FROM cases WHERE id = :case_id")
    after = Statement("SELECT CAST(:n AS integer) + 2")

    def work() -> list[list[object]]:
        with db.read_connection() as conn, pytest.raises(DBAPIError, match="no_such_column"):
            sql.rows_of_each(conn, [(good, {"n": 1}), (broken, {"case_id": "x"})])
        with db.read_connection() as conn:  # the same connection: the pool holds one
            return sql.rows_of_each(conn, [(good, {"n": 1}), (after, {"n": 1})])

    assert on_the_loop(db, work) == [[(2,)], [(3,)]]


@pytest.mark.parametrize("prepares", [True, False])
def test_statements_are_prepared_on_the_loop_unless_the_deployment_says_not_to(
    prepares: bool, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = database_url("postgres", request, tmp_path)
    settings = Settings(database_url=url, pool_size=1, pool_max_overflow=0)
    db = Database(settings.model_copy(update={"prepared_statements": prepares}))
    world = build_world(db)
    dana = world.agent("dana")
    names = Statement("SELECT name FROM pg_prepared_statements WHERE name LIKE :pattern")

    def work() -> list[object]:
        case = services.create_case(db, dana, customer={"name": "Carla"}, subject="Hold")
        services.add_note(db, dana, case.id, "Called the bank.")
        with db.read_connection() as conn:
            return names.rows(conn, {"pattern": "h%"})

    prepared = on_the_loop(db, work)
    db.dispose()

    assert bool(prepared) is prepares
