"""publisher's UTC offset beside each published instant; wider crawl run outcomes

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-02 01:30:00

``published_offset`` is the publisher's offset from UTC in minutes at ``published_at`` (from the
page's own offset, or the source's configured timezone); NULL when neither was known.
``crawl_runs.outcome`` grows from 16 to 32 characters for the distributed outcomes
(``skipped_duplicate`` and others).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0003"  # 0003 (crawl runs) came after 0005 in history
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published_offset", sa.Integer(), nullable=True))
    with op.batch_alter_table("article_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published_offset", sa.Integer(), nullable=True))
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.alter_column(
            "outcome",
            existing_type=sa.String(length=16),
            type_=sa.String(length=32),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.alter_column(
            "outcome",
            existing_type=sa.String(length=32),
            type_=sa.String(length=16),
            existing_nullable=False,
        )
    with op.batch_alter_table("article_versions", schema=None) as batch_op:
        batch_op.drop_column("published_offset")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("published_offset")
