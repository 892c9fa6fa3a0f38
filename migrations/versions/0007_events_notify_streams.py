"""PostgreSQL tells the API processes' streams of each committed event (NOTIFY handoff_events).

The trigger only NOTIFYs: the server delivers a notification when its transaction commits, and
never for one that rolls back, so no write path changes. The payload is empty, so a transaction
sends one notification however many events it appends; listeners read what is new themselves.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    """CREATE OR REPLACE FUNCTION handoff_events_notify() RETURNS trigger AS $$
       BEGIN PERFORM pg_notify('handoff_events', ''); RETURN NULL; END;
       $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER events_notify AFTER INSERT ON events
       FOR EACH STATEMENT EXECUTE FUNCTION handoff_events_notify()""",
]
DOWNGRADE = [
    "DROP TRIGGER IF EXISTS events_notify ON events",
    "DROP FUNCTION IF EXISTS handoff_events_notify()",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(sa.text(statement))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(sa.text(statement))
