"""PostgreSQL databases of a test's own for the multi-process tests, and the long-run switch.

Each test that starts other processes gets a database nobody else uses (`handoff_rel_<pid>_<n>`),
created and dropped through the `postgres` database, so the shared `test` database is never
disturbed. `HANDOFF_LONG_TESTS=1` runs the long forms.
"""

import itertools
import os
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from handoff.store.migrate import upgrade
from tests.conftest import IN_CI, POSTGRES_URL

LONG = os.environ.get("HANDOFF_LONG_TESTS", "").lower() in ("1", "true", "yes")
_numbers = itertools.count(1)


def scaled(short: int, long: int) -> int:
    return long if LONG else short


@pytest.fixture
def own_postgres() -> Iterator[str]:
    """The URL of a migrated PostgreSQL database of this test alone, dropped afterwards."""
    if not POSTGRES_URL:
        if IN_CI:
            pytest.fail("CI needs PostgreSQL: HANDOFF_TEST_POSTGRES_URL is not set")
        pytest.skip("HANDOFF_TEST_POSTGRES_URL is not set")
    name = f"handoff_rel_{os.getpid()}_{next(_numbers)}"
    server = make_url(POSTGRES_URL)
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
