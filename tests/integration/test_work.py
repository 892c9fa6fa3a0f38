"""One command's transaction (handoff.store.work): what it saves is written with its COMMIT, or
before anything else it asks of the database, and never when it starts over or rolls back."""

from handoff import services
from handoff.store import casefile
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
        again = casefile.load(work.conn, case_id, lock=False)
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
