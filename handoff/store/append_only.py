"""The database refuses to change history (SPEC §6): the events table's guards, made by the
migrations and by tests."""

from sqlalchemy import Connection, text

APPEND_ONLY_SQLITE = [
    """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE refused'); END""",
    """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE refused'); END""",
]
# Row triggers do not see TRUNCATE (emptying the table, or a cascade from `cases`): a statement
# trigger refuses it (migration 0005). SQLite has no TRUNCATE; its DELETE trigger covers it.
DROP_NO_TRUNCATE_POSTGRES = "DROP TRIGGER IF EXISTS events_no_truncate ON events"
NO_TRUNCATE_POSTGRES = [
    DROP_NO_TRUNCATE_POSTGRES,
    """CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
       FOR EACH STATEMENT EXECUTE FUNCTION handoff_events_append_only()""",
]
APPEND_ONLY_POSTGRES = [
    """CREATE OR REPLACE FUNCTION handoff_events_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'events are append-only: % refused', TG_OP; END;
       $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
       FOR EACH ROW EXECUTE FUNCTION handoff_events_append_only()""",
    *NO_TRUNCATE_POSTGRES,
]
DROP_APPEND_ONLY_SQLITE = [
    "DROP TRIGGER IF EXISTS events_no_update",
    "DROP TRIGGER IF EXISTS events_no_delete",
]
DROP_APPEND_ONLY_POSTGRES = [
    DROP_NO_TRUNCATE_POSTGRES,
    "DROP TRIGGER IF EXISTS events_append_only ON events",
    "DROP FUNCTION IF EXISTS handoff_events_append_only()",
]


def install_append_only(conn: Connection) -> None:
    for statement in (
        APPEND_ONLY_POSTGRES if conn.dialect.name == "postgresql" else APPEND_ONLY_SQLITE
    ):
        conn.execute(text(statement))


def drop_append_only(conn: Connection) -> None:
    statements = (
        DROP_APPEND_ONLY_POSTGRES if conn.dialect.name == "postgresql" else DROP_APPEND_ONLY_SQLITE
    )
    for statement in statements:
        conn.execute(text(statement))
