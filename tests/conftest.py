"""Databases for the tests: SQLite always; PostgreSQL where HANDOFF_TEST_POSTGRES_URL is set."""

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from handoff.config import Settings
from handoff.store.append_only import drop_append_only, install_append_only
from handoff.store.db import Database, make_engine
from handoff.store.migrate import upgrade
from handoff.store.models import Base
from tests.integration.world import World, build_world

# Property tests check behaviour, never speed (the benchmarks under bench/ do): no deadline, which
# a cold start or a busy machine would otherwise trip at random.
settings.register_profile("handoff", deadline=None)
settings.load_profile("handoff")

# The tests' own webhook receivers listen on 127.0.0.1 (SPEC §14); the tests of the address rules
# turn this off for themselves.
os.environ.setdefault("HANDOFF_WEBHOOK_ALLOW_PRIVATE", "1")
POSTGRES_URL = os.environ.get("HANDOFF_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TABLES = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets its own copy (cheaper than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "handoff.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> Iterator[str]:
    """A migrated PostgreSQL database of this test session's own, created on the server that
    HANDOFF_TEST_POSTGRES_URL names and dropped afterwards, so test runs never share tables."""
    if not POSTGRES_URL:
        if IN_CI:
            pytest.fail("CI needs PostgreSQL: HANDOFF_TEST_POSTGRES_URL is not set")
        pytest.skip("HANDOFF_TEST_POSTGRES_URL is not set")
    name = f"handoff_test_{os.getpid()}_{secrets.token_hex(3)}"
    # A plain engine, without the product's statement timeout: dropping a database waits for a
    # checkpoint, which on a loaded machine can take longer than any one request may.
    server = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def database_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        path = tmp_path / "handoff.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_migrated")
    engine = make_engine(url)
    with engine.begin() as conn:  # emptied for the next test: the triggers refuse it otherwise
        drop_append_only(conn)
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
        install_append_only(conn)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(request.param, request, tmp_path)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(Settings(database_url=db_url))
    yield database
    database.dispose()


@pytest.fixture
def world(db: Database) -> World:
    return build_world(db)
