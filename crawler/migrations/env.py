"""Alembic environment: the engine comes from crawler.db (never from alembic.ini)."""

from __future__ import annotations

from alembic import context

from crawler.db import Base, make_engine
from crawler.search.index import ensure_triggers, include_object

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    engine = config.attributes.get("engine") or make_engine(create=False)
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=include_object,
        )
        context.run_migrations()
        ensure_triggers(connection)


run_migrations()
