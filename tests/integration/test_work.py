"""One command's transaction (handoff.store.work): what it saves is written with its COMMIT, or
before anything else it asks of the database, and never when it starts over or rolls back."""

import contextlib

import pytest

from handoff import services
from handoff.config import Settings
from handoff.store import casefile
from handoff.store.db import Database
from handoff.store.sql import Statement
from handoff.store.work import SqlWork
from tests.integration.world import World


def open_case(world: World) -> str:
    return services.create_case(
        world.db, world.agent("dana"), customer={"name": "Carla"}, subject="Hold"
    ).id


def priority_now(world: World, case_id: str) -> str:
    with world.db.reading() as session:
        loaded = casefile.load(session.connection(), case_id, lock=False)
    assert loaded is not None
    return loaded.case.priority


def save_urgent(work: SqlWork, case_id: str) -> None:
    loaded = work.lock_case(case_id)
    assert loaded is not None
    loaded.case.priority = "urgent"
    work.save(loaded, [])


def test_a_saved_change_is_seen_by_others_only_once_committed(world: World) -> None:
    case_id = open_case(world)

    with world.db.work() as work:
        save_urgent(work, case_id)
        assert priority_now(world, case_id) == "normal"
        work.commit()

    assert priority_now(world, case_id) == "urgent"


def test_a_saved_change_is_written_before_the_command_reads_again(world: World) -> None:
    case_id = open_case(world)

    with world.db.work() as work:
        save_urgent(work, case_id)
        again = casefile.load(work.connection(), case_id, lock=False)
        assert work.agent("dana") is not None
        work.commit()

    assert again is not None
    assert again.case.priority == "urgent"
    assert priority_now(world, case_id) == "urgent"


def test_a_command_that_does_not_commit_leaves_nothing_of_what_it_saved(world: World) -> None:
    case_id = open_case(world)

    with world.db.work() as work:
        save_urgent(work, case_id)
        assert work.agent("dana") is not None  # written by now, inside the transaction

    assert priority_now(world, case_id) == "normal"


def test_starting_over_forgets_what_was_saved(world: World) -> None:
    case_id = open_case(world)

    with world.db.work() as work:
        save_urgent(work, case_id)
        work.start_over()
        work.commit()

    assert priority_now(world, case_id) == "normal"


SET_LOW = Statement("UPDATE cases SET priority = 'low' WHERE id = :case_id")


def ended(db: Database, case_id: str, how: str) -> None:
    """A command on the case ended `how`: committed, left, or failed halfway."""
    with contextlib.suppress(RuntimeError), db.work() as work:
        save_urgent(work, case_id)
        if how == "committed":
            work.commit()
        elif how == "failed":
            raise RuntimeError("the command broke off")


@pytest.mark.parametrize("how", ["committed", "left", "failed"])
def test_after_a_command_its_connection_keeps_the_next_users_statements_in_a_transaction(
    world: World, how: str
) -> None:
    """On PostgreSQL a command's own transaction is begun with its first statements (its driver
    in autocommit meanwhile): however the command ends, the connection goes back to the pool
    beginning its transactions itself, so the next user's statements are never committed one by
    one. One connection in the pool, so the next user gets that one."""
    url = world.db.engine.url.render_as_string(hide_password=False)
    db = Database(Settings(database_url=url, pool_size=1, pool_max_overflow=0))
    case_id = open_case(world)
    ended(db, case_id, how)
    expected = priority_now(world, case_id)

    with db.writing() as conn:
        SET_LOW.execute(conn, {"case_id": case_id})
        conn.rollback()

    assert priority_now(world, case_id) == expected
    db.dispose()
