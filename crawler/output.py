"""Terminal output for the CLI: summaries, article lists, sources."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from crawler.config import Config
from crawler.crawl import CrawlResult

console = Console(highlight=False, soft_wrap=True)


def safe_url(url: str) -> str:
    """A database URL with any password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items())) or "-"


def print_summary(result: CrawlResult) -> None:
    table = Table(title=f"Crawl finished in {result.elapsed:.1f}s ({result.finish_reason})")
    for column in ("source", "status", "pages", "stored", "duplicates", "skipped (known)",
                   "rejected", "errors"):
        table.add_column(column, justify="left" if column in ("source", "status") else "right")
    for s in result.sources:
        table.add_row(
            s.source,
            "[green]ok[/]" if not s.failed else "[red]failed[/]",
            str(s.pages_fetched),
            str(s.articles_stored),
            str(s.duplicates),
            str(s.known_skipped),
            _counts(s.rejected),
            _counts(s.errors),
        )
    console.print(table)


def print_articles(articles: Sequence[dict[str, Any]]) -> None:
    table = Table(title=f"{len(articles)} stored articles")
    for column in ("id", "source", "date", "topics", "title"):
        table.add_column(column)
    for article in articles:
        topics = ", ".join(f"{name} {score:g}" for name, score in article["topics"].items())
        date = article["published_at"][:10] if article["published_at"] else "-"
        table.add_row(str(article["id"]), article["source"], date, topics or "-", article["title"])
    console.print(table)


def print_sources(config: Config, fmt: str) -> None:
    if fmt == "json":
        rows = [
            {
                "key": s.key, "name": s.name, "lang": s.lang, "country": s.country,
                "enabled": s.enabled, "domains": list(s.domains), "feeds": list(s.feeds),
                "sitemaps": list(s.sitemaps), "sections": list(s.sections),
                "interval": s.interval.total_seconds() if s.interval else None, "cron": s.cron,
            }
            for s in config.sources
        ]
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title=f"Sources in {config.directory / 'sources.toml'}")
    for column in ("key", "name", "lang", "enabled", "feeds", "sitemaps", "sections", "schedule"):
        table.add_column(column)
    for s in config.sources:
        schedule = s.cron or (str(s.interval) if s.interval else "-")
        table.add_row(s.key, s.name, s.lang, "yes" if s.enabled else "no", str(len(s.feeds)),
                      str(len(s.sitemaps)), str(len(s.sections)), schedule)
    console.print(table)
