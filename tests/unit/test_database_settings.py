"""How the settings shape each process's connection pool (no PostgreSQL is opened)."""

from sqlalchemy import text

from handoff.config import Settings
from handoff.store.db import Database

POSTGRES = "postgresql+psycopg://handoff@db.example:5432/handoff"


def test_the_pool_of_a_postgres_deployment_is_sized_by_its_settings() -> None:
    db = Database(Settings(database_url=POSTGRES, pool_size=3, pool_max_overflow=7, pool_timeout=2))
    pool = db.engine.pool
    assert pool.size() == 3  # type: ignore[attr-defined]
    assert (pool._max_overflow, pool._timeout) == (7, 2)  # type: ignore[attr-defined]
    db.dispose()


def test_sqlite_ignores_the_pool_settings_and_still_connects() -> None:
    db = Database(Settings(database_url="sqlite:///:memory:", pool_size=3, pool_timeout=1))
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    db.dispose()
