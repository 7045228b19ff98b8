"""`marsad db upgrade` and `marsad db reindex`: the schema and the full-text index."""

from __future__ import annotations

import click

from crawler import db
from crawler.cli.common import State
from crawler.cli.output import safe_url
from crawler.search import index as search_index


@click.group(name="db")
def db_group() -> None:
    """Database schema management."""


@db_group.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
@click.pass_obj
def upgrade(state: State, revision: str) -> None:
    """Create the database or apply pending migrations."""
    db.check_revision(revision)  # before the database (or its folder) is created
    with state.engine(create=True, revision=revision) as engine:
        current = db.current_revision(engine)
    click.echo(f"{safe_url(state.db_url)} is at revision {current}.")


@db_group.command("reindex")
@click.pass_obj
def reindex(state: State) -> None:
    """Rebuild the full-text search index from the stored articles."""
    with state.engine() as engine, engine.begin() as conn:
        if not search_index.is_installed(conn):
            search_index.install(conn)
        count = search_index.rebuild(conn)
    click.echo(f"Search index rebuilt: {count} article(s).")
