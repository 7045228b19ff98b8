"""`marsad stories`: the largest recent story clusters and the outlets that carried them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import click
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from crawler import db, output, queries

_SPAN_RE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_span(value: str) -> timedelta:
    """'90m', '24h', '7d', '2w' -> timedelta (click.BadParameter otherwise)."""
    match = _SPAN_RE.match(value.lower())
    if not match:
        raise click.BadParameter(f"expected a span like 24h, 7d or 2w, not {value!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@click.command()
@click.option(
    "--since",
    default="7d",
    show_default=True,
    metavar="SPAN",
    help="Stories a copy joined within this span (90m, 24h, 7d, 2w).",
)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_obj
def stories(state, since: str, limit: int, fmt: str) -> None:  # type: ignore[no-untyped-def]
    """The largest recent stories: copies of one article (syndicated wires, near-duplicates)
    grouped together, with the outlets that published them, most copies first."""
    cutoff = datetime.now(UTC) - parse_span(since)
    engine = db.make_engine(state.db_url)
    try:
        with Session(engine) as session:
            rows = queries.largest_stories(session, since=cutoff, limit=limit)
    finally:
        engine.dispose()
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo(f"No story in the last {since}.")
        return
    table = Table(title=f"Largest stories in the last {since}")
    for column in ("story", "copies", "first published", "outlets", "canonical title"):
        table.add_column(column, justify="right" if column in ("story", "copies") else "left")
    for row in rows:
        first = (row["first_published_at"] or "")[:16].replace("T", " ") or "-"
        table.add_row(
            str(row["id"]),
            str(row["articles"]),
            first,
            ", ".join(row["sources"]),
            escape(row["title"] or "-"),
        )
    output.console.print(table)
