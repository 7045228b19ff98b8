"""Alembic environment: the engine comes from crawler.db (never from alembic.ini)."""

from __future__ import annotations

from alembic import context

from crawler.db import Base, make_engine

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
        )
        context.run_migrations()


run_migrations()
