"""Statements sent straight to the driver convert values, report errors and show themselves as
the same statements sent through SQLAlchemy would."""

import gc
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Float, Numeric, String, bindparam, cast, event, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from handoff.config import Settings
from handoff.store.db import Database
from handoff.store.direct import Direct
from handoff.store.models import Org
from tests.conftest import database_url

ORGS = Org.__table__
BY_ID = select(*ORGS.c).where(ORGS.c.id == bindparam("org_id"))
AT = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
WINDOWS = {"claim_window": 600, "note": "Straße — ünïcode"}


def add_org(db: Database, org_id: str) -> None:
    with db.writing() as conn:
        Direct(insert(ORGS), sets_columns=True).execute(
            conn,
            {
                "id": org_id,
                "name": "Direct Bank",
                "kind": "bank",
                "windows": WINDOWS,
                "created_at": AT,
            },
        )
        conn.commit()


def test_a_row_written_and_read_directly_holds_what_sqlalchemy_reads(db: Database) -> None:
    add_org(db, "directbank")

    with db.read_connection() as conn:
        direct = Direct(BY_ID).rows(conn, {"org_id": "directbank"})
        core = conn.execute(BY_ID, {"org_id": "directbank"}).all()

    assert direct == [list(core[0])]
    assert direct[0][3] == WINDOWS
    assert direct[0][4] == AT  # aware UTC, microseconds kept


def test_an_update_sets_only_the_columns_it_is_given(db: Database) -> None:
    add_org(db, "directbank")
    rename = Direct(ORGS.update().where(ORGS.c.id == bindparam("pk_id")), sets_columns=True)

    with db.writing() as conn:
        rename.execute(conn, {"name": "Renamed Bank", "pk_id": "directbank"})
        conn.commit()

    with db.read_connection() as conn:
        row = Direct(BY_ID).rows(conn, {"org_id": "directbank"})[0]
    assert (row[1], row[2], row[3]) == ("Renamed Bank", "bank", WINDOWS)


def test_a_driver_error_comes_out_as_sqlalchemys_and_leaves_nothing_written(db: Database) -> None:
    add_org(db, "directbank")
    add = Direct(insert(ORGS), sets_columns=True)
    row = {"name": "Other", "kind": "bank", "windows": None, "created_at": AT}

    with db.writing() as conn:
        add.execute(conn, row | {"id": "otherbank"})
        with pytest.raises(IntegrityError):
            add.execute(conn, row | {"id": "directbank"})

    with db.read_connection() as conn:
        assert Direct(BY_ID).rows(conn, {"org_id": "otherbank"}) == []


def test_engine_listeners_see_the_statements_sent_directly(db: Database) -> None:
    seen: list[str] = []

    def remember(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        with db.read_connection() as conn:
            Direct(BY_ID).rows(conn, {"org_id": "acme"})
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)

    assert len(seen) == 1
    assert seen[0].startswith("SELECT orgs.id")


def test_a_statement_whose_values_change_its_sql_is_refused(db: Database) -> None:
    in_list = select(ORGS.c.id).where(ORGS.c.id.in_(bindparam("ids", expanding=True)))

    with db.read_connection() as conn, pytest.raises(ValueError, match="compiled once"):
        Direct(in_list).rows(conn, {"ids": ["acme"]})


def test_an_insert_missing_a_column_with_a_default_is_refused(db: Database) -> None:
    with db.writing() as conn, pytest.raises(ValueError, match="give every column"):
        Direct(insert(ORGS), sets_columns=True).execute(
            conn, {"id": "nodefault", "name": "No Default", "kind": "bank"}
        )


@pytest.fixture
def postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = Database(Settings(database_url=database_url("postgres", request, tmp_path)))
    yield database
    database.dispose()


@pytest.mark.postgres
def test_a_connection_lost_mid_transaction_is_reported_and_never_reused(
    postgres: Database,
) -> None:
    add_org(postgres, "directbank")
    with postgres.writing() as conn:
        backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with postgres.engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(backend or 0)})")
        with pytest.raises(OperationalError) as raised:
            Direct(BY_ID).rows(conn, {"org_id": "directbank"})
        assert conn.invalidated

    assert raised.value.connection_invalidated
    with postgres.read_connection() as conn:
        assert Direct(BY_ID).rows(conn, {"org_id": "directbank"})[0][0] == "directbank"


def test_a_parameter_the_statement_needs_cannot_be_left_out(db: Database) -> None:
    with db.read_connection() as conn, pytest.raises(KeyError, match="org_id"):
        Direct(BY_ID).rows(conn, {"org": "acme"})


def test_numbers_come_out_as_sqlalchemy_reads_them(db: Database) -> None:
    amounts = select(
        cast(bindparam("amount", type_=String), Numeric(10, 2)).label("exact"),
        cast(bindparam("amount", type_=String), Float).label("approximate"),
    )

    with db.read_connection() as conn:
        direct = Direct(amounts).rows(conn, {"amount": "1.50"})
        core = conn.execute(amounts, {"amount": "1.50"}).all()

    assert direct == [list(core[0])]
    assert direct[0][0] == Decimal("1.50")


def test_an_error_while_rows_are_read_comes_out_as_sqlalchemys(db: Database) -> None:
    overflow = text(
        "SELECT abs(v) FROM (SELECT 1 AS v UNION ALL SELECT -9223372036854775807 - 1) n"
    )

    with db.read_connection() as conn, pytest.raises(DBAPIError):
        Direct(overflow).rows(conn, {})


def test_a_write_outside_a_transaction_is_refused(db: Database) -> None:
    rename = Direct(ORGS.update().where(ORGS.c.id == bindparam("pk_id")), sets_columns=True)

    with db.engine.connect() as conn, pytest.raises(RuntimeError, match="began a transaction"):
        rename.execute(conn, {"name": "Lost", "pk_id": "acme"})


def test_what_is_compiled_for_an_engine_goes_with_it(db: Database) -> None:
    gone = []
    for _ in range(3):
        other = Database(db.settings)
        with other.read_connection() as conn:
            Direct(BY_ID).rows(conn, {"org_id": "acme"})
        gone.append(weakref.ref(other.engine.dialect))
        other.dispose()
        del other, conn

    gc.collect()
    assert [ref() for ref in gone] == [None, None, None]
