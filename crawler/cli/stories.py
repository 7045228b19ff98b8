"""`marsad stories`: the largest recent story clusters and the outlets that carried them."""

from __future__ import annotations

import json
from datetime import datetime

import click
from rich.markup import escape
from rich.table import Table

from crawler.cli.common import State, format_option, since_option
from crawler.cli.output import console
from crawler.stories import queries
from crawler.text.bidi import isolate


@click.command()
@since_option(
    "Stories a copy joined since then: a date or an age (90m, 24h, 7d, 2w).", default="7d"
)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@format_option("json")
@click.pass_obj
def stories(state: State, since: datetime, limit: int, fmt: str) -> None:
    """The largest recent stories: copies of one article (syndicated wires, near-duplicates)
    grouped together, with the outlets that published them, most copies first."""
    with state.session() as session:
        rows = queries.largest_stories(session, since=since, limit=limit)
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo(f"No story since {since:%Y-%m-%d %H:%M} UTC.")
        return
    table = Table(title=f"Largest stories since {since:%Y-%m-%d %H:%M} UTC")
    for column in ("story", "copies", "first published", "outlets", "canonical title"):
        table.add_column(column, justify="right" if column in ("story", "copies") else "left")
    for row in rows:
        first = (row["first_published_at"] or "")[:16].replace("T", " ") or "-"
        table.add_row(
            str(row["id"]),
            str(row["articles"]),
            first,
            ", ".join(row["sources"]),
            escape(isolate(row["title"] or "-")),
        )
    console.print(table)
