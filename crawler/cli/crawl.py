"""`marsad crawl`, `marsad demo` and `marsad extract`: the commands that fetch or extract pages,
and so the only ones that load Scrapy, Twisted or trafilatura (inside the command, when run)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from crawler.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    State,
    UsageError,
    format_option,
    select_sources,
    settings_option,
)
from crawler.cli.output import print_articles, print_summary, safe_url


@click.command()
@click.argument("sources", nargs=-1)
@format_option("json")
@settings_option("Override a Scrapy or MARSAD_ setting, e.g. -s DOWNLOAD_DELAY=2.")
@click.option(
    "--progress/--no-progress", default=True, help="Live table on stderr (terminal only)."
)
@click.pass_obj
def crawl(
    state: State, sources: tuple[str, ...], fmt: str, overrides: dict[str, str], progress: bool
) -> None:
    """Crawl SOURCES (default: every enabled source) and print a per-source summary.

    Exit status: 0 when every source succeeded, 1 when some failed, 2 for usage or config errors.
    """
    from crawler.crawl.run import build_settings, run_crawl

    config = state.config()
    selected = select_sources(config, sources)
    with state.engine():  # create or upgrade the schema before the crawl starts
        pass
    settings = build_settings(
        state.db_url,
        str(config.directory),
        overrides,
        log_level=state.log_level,
        progress=progress and fmt == "text",
    )
    result = run_crawl(selected, settings)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_summary(result)
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--url", help="The page's URL (default: its canonical or og:url).")
@format_option("jsonl", "json", human=False, default="jsonl")
@click.option(
    "--workers", type=int, default=-1, help="Extraction processes (default: one per core)."
)
@click.pass_obj
def extract(state: State, files: tuple[str, ...], url: str | None, fmt: str, workers: int) -> None:
    """Extract and tag saved pages (plain or .gz); no database. One record per file."""
    from crawler.extract.files import extract_files

    if url and len(files) > 1:
        raise UsageError("--url names one page: give a single FILE with it")
    config = state.config()
    records = extract_files([Path(f) for f in files], config.topics, url=url, workers=workers)
    if fmt == "jsonl":
        for record in records:
            click.echo(json.dumps(record, ensure_ascii=False))
    else:
        click.echo(json.dumps(list(records), ensure_ascii=False, indent=2))


@click.command()
@click.option(
    "--db",
    "demo_db",
    default="sqlite:///marsad-demo.db",
    show_default=True,
    help="Database for the demo.",
)
@format_option("json")
@click.pass_obj
def demo(state: State, demo_db: str, fmt: str) -> None:
    """Serve the bundled sample site on 127.0.0.1, crawl it, and show the tagged articles."""
    from crawler.config import resolve_config_dir
    from crawler.sample_site.demo import run_demo

    config_dir = resolve_config_dir(state.config_dir)
    result, articles = run_demo(demo_db, config_dir, log_level=state.log_level)
    if fmt == "json":
        click.echo(
            json.dumps(
                {"crawl": result.to_dict(), "articles": articles},
                ensure_ascii=False,
                indent=2,
                default=str,
            )
        )
    else:
        print_summary(result)
        print_articles(articles)
        click.echo(f"\nDemo database: {safe_url(demo_db)}  (run `marsad --db {demo_db} ...`)")
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)
