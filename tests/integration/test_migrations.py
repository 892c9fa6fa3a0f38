"""The Alembic migrations build exactly the models' schema and take it down again, on each database.

PostgreSQL runs in a throwaway database of its own, so the shared test database is never touched.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from handoff.store.db import make_engine
from handoff.store.migrate import alembic_config, downgrade, upgrade
from handoff.store.models import Base

POSTGRES_URL = os.environ.get("HANDOFF_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
HANDOFF_TABLES = set(Base.metadata.tables)


def throwaway_postgres() -> Iterator[str]:
    """A fresh, empty PostgreSQL database beside the shared one, dropped afterwards."""
    if not POSTGRES_URL:
        if IN_CI:
            pytest.fail("CI needs PostgreSQL: HANDOFF_TEST_POSTGRES_URL is not set")
        pytest.skip("HANDOFF_TEST_POSTGRES_URL is not set")
    name = f"handoff_migrations_test_{os.getpid()}"
    # A plain engine, without the product's statement timeout: dropping a database waits for a
    # checkpoint, which on a loaded machine can take longer than any one request may.
    server = create_engine(
        make_url(POSTGRES_URL).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        yield from throwaway_postgres()


@pytest.fixture
def engine(empty_url: str) -> Iterator[Engine]:
    engine = make_engine(empty_url)
    yield engine
    engine.dispose()


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def append_only_guards(engine: Engine) -> set[str]:
    """The names of the triggers (and, on PostgreSQL, their functions) that keep events
    append-only, and on PostgreSQL the one that tells the streams of new events."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            return set(rows.scalars())
        triggers = conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))
        functions = conn.execute(
            text(
                "SELECT proname FROM pg_proc"
                " WHERE proname IN ('handoff_events_append_only', 'handoff_events_notify')"
            )
        )
        return set(triggers.scalars()) | set(functions.scalars())


def expected_guards(engine: Engine) -> set[str]:
    if engine.dialect.name == "sqlite":
        return {"events_no_update", "events_no_delete"}
    return {
        "events_append_only",
        "events_no_truncate",
        "handoff_events_append_only",
        "events_notify",
        "handoff_events_notify",
    }


def test_upgrade_builds_the_whole_schema_on_an_empty_database(
    empty_url: str, engine: Engine
) -> None:
    assert table_names(engine) == set()

    upgrade(empty_url)

    assert table_names(engine) == HANDOFF_TABLES | {"alembic_version"}
    head = ScriptDirectory.from_config(alembic_config(empty_url)).get_current_head()
    assert current_revision(engine) == head
    assert append_only_guards(engine) == expected_guards(engine)


def test_the_migrated_schema_matches_the_models_exactly(empty_url: str, engine: Engine) -> None:
    upgrade(empty_url)

    assert schema_differences(engine) == []


def test_downgrade_to_base_leaves_nothing_of_handoff_and_upgrade_works_again(
    empty_url: str, engine: Engine
) -> None:
    upgrade(empty_url)

    downgrade(empty_url)

    assert table_names(engine) <= {"alembic_version"}
    assert current_revision(engine) is None
    assert append_only_guards(engine) == set()

    upgrade(empty_url)

    assert table_names(engine) == HANDOFF_TABLES | {"alembic_version"}
    assert append_only_guards(engine) == expected_guards(engine)
    assert schema_differences(engine) == []
