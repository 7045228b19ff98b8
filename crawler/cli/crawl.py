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
    from crawler.crawl.agent import SettingError, require_contact
    from crawler.crawl.preflight import check_overrides
    from crawler.crawl.run import CrawlNotStarted, build_settings, run_crawl

    config = state.config()
    selected = select_sources(config, sources)
    try:  # before the database is touched: a usage error changes nothing
        settings = build_settings(
            state.db_url,
            str(config.directory),
            check_overrides(overrides),
            log_level=state.log_level,
            progress=progress and fmt == "text",
        )
        require_contact(selected, settings.get("USER_AGENT"))
    except SettingError as exc:
        raise UsageError(str(exc)) from exc
    with state.engine(create=True):  # create or upgrade the schema before the crawl starts
        pass
    from crawler.schedule import runs  # the run is recorded in crawl_runs, trigger manual

    try:
        result = runs.record_manual_crawl(
            state.db_url, [s.key for s in selected], lambda: run_crawl(selected, settings)
        )
    except runs.SourceBusy as exc:
        raise click.ClickException(str(exc)) from exc
    except CrawlNotStarted as exc:
        raise click.ClickException(str(exc)) from exc
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_summary(result)
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--url", help="The page's URL (default: its canonical or og:url).")
@format_option("jsonl", "json", human=False, default="jsonl")
@click.option(
    "--workers", type=int, default=-1, help="Extraction processes (default: one per core)."
)
@click.pass_obj
def extract(state: State, files: tuple[str, ...], url: str | None, fmt: str, workers: int) -> None:
    """Extract and tag saved pages (plain or .gz); no database. One record per file.

    A file that cannot be read gets one line on stderr and the others go on; the exit status
    is then 1. A page that is read but rejected is a record (with ``rejected``), not an error.
    """
    from crawler.extract.files import Unreadable, extract_files

    if url and len(files) > 1:
        raise UsageError("--url names one page: give a single FILE with it")
    config = state.config()
    unreadable = 0
    records = []
    for record in extract_files([Path(f) for f in files], config.topics, url=url, workers=workers):
        if isinstance(record, Unreadable):
            unreadable += 1
            click.echo(f"Error: {record}", err=True)
        elif fmt == "jsonl":
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            records.append(record)
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
    sys.exit(EXIT_FAILED if unreadable else EXIT_OK)


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
