"""Throwaway databases for one run: a SQLite file in a temporary folder, or a PostgreSQL database
created for the run (through an AUTOCOMMIT connection to `postgres`) and dropped after it."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from handoff import services
from handoff.config import Settings
from handoff.demo import load_demo
from handoff.domain.principals import Actor
from handoff.store.db import Database
from handoff.store.migrate import upgrade

POSTGRES_ADMIN_URL = os.environ.get(
    "HANDOFF_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BENCH_DATABASE = f"handoff_bench_{os.getpid()}"  # runs in other checkouts may overlap


def postgres_missing() -> str | None:
    """Why PostgreSQL cannot be used for this run, or None when it can."""
    engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return None
    except OperationalError as error:
        return str(error.orig).strip().splitlines()[0]
    finally:
        engine.dispose()


@contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    """The URL of a migrated, empty database of `kind` (sqlite or postgres), gone afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="handoff-bench-") as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            yield url
        return
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    drop = text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
    try:
        with admin.connect() as conn:
            conn.execute(drop)
            conn.execute(text(f"CREATE DATABASE {BENCH_DATABASE}"))
        bench_url = make_url(POSTGRES_ADMIN_URL).set(database=BENCH_DATABASE)
        rendered = bench_url.render_as_string(hide_password=False)
        upgrade(rendered)
        yield rendered
    finally:
        with admin.connect() as conn:
            conn.execute(drop)
        admin.dispose()


def open_database(url: str) -> Database:
    return Database(Settings(database_url=url))


@contextmanager
def demo_database(kind: str) -> Iterator[Database]:
    """A fresh database with the demo's orgs, people, tokens and stories loaded."""
    with fresh_database(kind) as url:
        db = open_database(url)
        try:
            load_demo(db)
            yield db
        finally:
            db.dispose()


def actor(db: Database, principal_id: str) -> Actor:
    """The demo principal behind `tok-<principal_id>`."""
    found = services.authenticate(db, f"tok-{principal_id}")
    if found is None:
        raise RuntimeError(f"the demo has no token for {principal_id}")
    return found
