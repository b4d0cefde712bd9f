"""Bulletins: the weekly page rendered once per refit, served as stored.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``bulletins`` (one row per render; the newest is what ``GET /bulletin`` serves)."""
    op.create_table(
        "bulletins",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("refit_id", sa.String(64), nullable=True),
        sa.Column("job_run_id", sa.String(32), nullable=True),
        sa.Column("rendered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    """Drop ``bulletins``."""
    op.drop_table("bulletins")
