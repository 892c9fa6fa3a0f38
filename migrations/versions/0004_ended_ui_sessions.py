"""Web UI sessions that were signed out, refused until their cookie would have run out.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ended_ui_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ended_ui_sessions")),
    )
    with op.batch_alter_table("ended_ui_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ended_ui_sessions_ended_at"), ["ended_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ended_ui_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ended_ui_sessions_ended_at"))
    op.drop_table("ended_ui_sessions")
