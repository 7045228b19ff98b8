"""full-text search index over articles (FTS5 on SQLite, tsvector + GIN on PostgreSQL)

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-29 12:00:00.000000

The index is raw DDL (a virtual table with prefix indexes, triggers, functions, and the
expression index ``ix_articles_search_when`` on the articles' date that date-ordered search
walks), not a model: see ``crawler/search/index.py``; its tables and that index are left out of
autogenerate by ``include_object``.
"""

from __future__ import annotations

from alembic import op

from crawler.search import index as search_index

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    search_index.install(op.get_bind())


def downgrade() -> None:
    search_index.uninstall(op.get_bind())
