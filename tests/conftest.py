"""Databases for the tests: SQLite always; PostgreSQL where HANDOFF_TEST_POSTGRES_URL is set."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from handoff.config import Settings
from handoff.db import Database, make_engine
from handoff.migrate import downgrade, upgrade
from handoff.models import Base
from tests.integration.world import World, build_world

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
def postgres_migrated() -> str:
    if not POSTGRES_URL:
        if IN_CI:
            pytest.fail("CI needs PostgreSQL: HANDOFF_TEST_POSTGRES_URL is not set")
        pytest.skip("HANDOFF_TEST_POSTGRES_URL is not set")
    downgrade(POSTGRES_URL)
    upgrade(POSTGRES_URL)
    return POSTGRES_URL


def database_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        path = tmp_path / "handoff.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_migrated")
    engine = make_engine(url)
    with engine.begin() as conn:
        # TRUNCATE does not fire the row triggers that keep events append-only.
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
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
