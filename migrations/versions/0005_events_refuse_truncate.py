"""PostgreSQL refuses TRUNCATE on events too: row triggers do not see it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from handoff.store.append_only import DROP_NO_TRUNCATE_POSTGRES, NO_TRUNCATE_POSTGRES

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in NO_TRUNCATE_POSTGRES:  # drops it first: 0001 makes it on new databases
            op.execute(sa.text(statement))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text(DROP_NO_TRUNCATE_POSTGRES))
