"""Terminal output for the CLI: summaries, article lists, sources."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crawler.db import safe_url as safe_url  # the one masking rule, shown by crawl and db
from crawler.text.bidi import isolate

if TYPE_CHECKING:
    from crawler.config import Config
    from crawler.crawl.report import CrawlResult

console = Console(highlight=False, soft_wrap=True)
if not console.is_terminal:
    console.width = max(console.width, 120)


def _reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))


def print_summary(result: CrawlResult) -> None:
    table = Table(title=f"Crawl finished in {result.elapsed:.1f}s ({result.finish_reason})")
    for column in (
        "source",
        "status",
        "pages",
        "stored",
        "stories",
        "copies",
        "updated",
        "duplicates",
        "known",
        "rejected",
        "errors",
    ):
        table.add_column(
            column, justify="left" if column in ("source", "status") else "right", no_wrap=True
        )
    details = []
    for s in result.sources:
        table.add_row(
            s.source,
            "[green]ok[/]" if not s.failed else "[red]failed[/]",
            str(s.pages_fetched),
            str(s.articles_stored),
            str(s.stories_new),
            str(s.story_copies),
            str(s.articles_updated),
            str(s.duplicates),
            str(s.known_skipped),
            str(sum(s.rejected.values())),
            str(sum(s.errors.values())),
        )
        if s.rejected:
            details.append(f"{s.source}: rejected {_reasons(s.rejected)}")
        if s.errors:
            details.append(f"{s.source}: errors {_reasons(s.errors)}")
    console.print(table)
    console.print(
        "stories = new stories, copies = copies joining a story (syndicated or near-duplicate), "
        "updated = corrected articles (versions kept), "
        "known = article URLs already stored, skipped before fetching",
        style="dim",
    )
    for line in details:
        console.print(escape(line))


def print_articles(articles: Sequence[dict[str, Any]]) -> None:
    """One line per article; the title comes last so right-to-left text cannot shuffle columns."""
    console.print(f"\n{len(articles)} stored articles (newest first):")
    for article in articles:
        topics = ",".join(sorted(article["topics"])) or "-"
        date = article["published_at"][:10] if article["published_at"] else "----------"
        console.print(
            f"{article['id']:>5}  {date}  {article['source']:<12} {topics:<24} "
            f"{escape(isolate(article['title']))}",
            no_wrap=True,
            overflow="ellipsis",
            crop=False,
        )


def print_sources(config: Config, fmt: str) -> None:
    if fmt == "json":
        rows = [
            {
                "key": s.key,
                "name": s.name,
                "lang": s.lang,
                "country": s.country,
                "enabled": s.enabled,
                "domains": list(s.domains),
                "feeds": list(s.feeds),
                "sitemaps": list(s.sitemaps),
                "sections": list(s.sections),
                "interval": s.interval.total_seconds() if s.interval else None,
                "cron": s.cron,
                "timezone": s.timezone,
            }
            for s in config.sources
        ]
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title=f"Sources in {config.directory / 'sources.toml'}")
    for column in ("key", "name", "lang", "enabled", "feeds", "sitemaps", "sections", "schedule"):
        table.add_column(column)
    for s in config.sources:
        table.add_row(
            s.key,
            escape(s.name),
            s.lang,
            "yes" if s.enabled else "no",
            str(len(s.feeds)),
            str(len(s.sitemaps)),
            str(len(s.sections)),
            s.schedule.describe(),
        )
    console.print(table)
