"""The `marsad` command: a thin shell over the library."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from crawler import db
from crawler.cli import output
from crawler.config import Config, ConfigError, load_config, resolve_config_dir

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(click.ClickException):
    """A wrong command line or configuration: exit code 2."""

    exit_code = EXIT_USAGE


class State:
    def __init__(self, config_dir: str | None, db_url: str | None, verbose: int):
        self.config_dir = config_dir
        self.db_url = db.resolve_db_url(db_url)
        self.verbose = verbose

    def config(self) -> Config:
        try:
            return load_config(self.config_dir)
        except ConfigError as exc:
            raise UsageError(str(exc)) from exc

    @property
    def log_level(self) -> str:
        return {0: "WARNING", 1: "INFO"}.get(self.verbose, "DEBUG")


def _setup_logging(verbose: int) -> None:
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_dir",
    metavar="DIR",
    envvar="MARSAD_CONFIG",
    help="Folder with sources.toml and topics.toml (default: ./config). Env: MARSAD_CONFIG.",
)
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    envvar="MARSAD_DB_URL",
    help=f"SQLAlchemy database URL (default: {db.DEFAULT_DB_URL}). Env: MARSAD_DB_URL.",
)
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.version_option(package_name="marsad")
@click.pass_context
def cli(ctx: click.Context, config_dir: str | None, db_url: str | None, verbose: int) -> None:
    """Marsad: crawl Arabic, French and English regional news into a database."""
    _setup_logging(verbose)
    ctx.obj = State(config_dir, db_url, verbose)


def _parse_setting(pairs: tuple[str, ...]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--set expects KEY=VALUE, got {pair!r}")
        settings[key.strip()] = value
    return settings


@cli.command()
@click.argument("sources", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "-s",
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a Scrapy or MARSAD_ setting, e.g. -s DOWNLOAD_DELAY=2.",
)
@click.option(
    "--progress/--no-progress", default=True, help="Live table on stderr (terminal only)."
)
@click.pass_obj
def crawl(
    state: State, sources: tuple[str, ...], fmt: str, overrides: tuple[str, ...], progress: bool
) -> None:
    """Crawl SOURCES (default: every enabled source) and print a per-source summary.

    Exit status: 0 when every source succeeded, 1 when some failed, 2 for usage or config errors.
    """
    from crawler.crawl.run import build_settings, run_crawl

    config = state.config()
    selected = _select_sources(config, sources)
    db.make_engine(state.db_url).dispose()
    settings = build_settings(
        state.db_url,
        str(config.directory),
        _parse_setting(overrides),
        log_level=state.log_level,
        progress=progress and fmt == "text",
    )
    result = run_crawl(selected, settings)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        output.print_summary(result)
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


def _select_sources(config: Config, keys: tuple[str, ...]) -> list:  # type: ignore[type-arg]
    if not keys:
        selected = [source for source in config.sources if source.enabled]
        if not selected:
            raise UsageError(f"no enabled source in {config.directory / 'sources.toml'}")
        return selected
    known = {source.key: source for source in config.sources}
    unknown = [key for key in keys if key not in known]
    if unknown:
        raise UsageError(
            f"unknown source(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}"
            " (see `marsad sources list`)"
        )
    return [known[key] for key in keys]


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--url", help="The page's URL (default: its canonical or og:url).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "json"]), default="jsonl")
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
    records: Iterator[dict[str, Any]] = extract_files(
        [Path(f) for f in files], config.topics, url=url, workers=workers
    )
    if fmt == "jsonl":
        for record in records:
            click.echo(json.dumps(record, ensure_ascii=False))
    else:
        click.echo(json.dumps(list(records), ensure_ascii=False, indent=2))


@cli.group()
def sources() -> None:
    """List and check the configured sources."""


@sources.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_obj
def sources_list(state: State, fmt: str) -> None:
    """The configured sources, their languages and discovery endpoints."""
    output.print_sources(state.config(), fmt)


@sources.command("check")
@click.option("--online", is_flag=True, help="Also fetch every feed, sitemap and section page.")
@click.option("--timeout", type=float, default=15.0, show_default=True)
@click.pass_obj
def sources_check(state: State, online: bool, timeout: float) -> None:
    """Validate the configuration; with --online, probe each endpoint."""
    from crawler.crawl.probe import probe_sources

    config = state.config()
    click.echo(
        f"{config.directory}: {len(config.sources)} sources and "
        f"{len(config.topics)} topics are valid."
    )
    if not online:
        return
    failures = 0
    for result in probe_sources(config.sources, timeout=timeout):
        failures += not result.ok
        mark = "ok  " if result.ok else "FAIL"
        click.echo(f"{mark} {result.source:<20} {result.kind:<8} {result.url}  {result.detail}")
    if failures:
        click.echo(f"{failures} endpoint(s) failed.", err=True)
        sys.exit(EXIT_FAILED)


@cli.group(name="db")
def db_group() -> None:
    """Database schema management."""


@db_group.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
@click.pass_obj
def db_upgrade(state: State, revision: str) -> None:
    """Create the database or apply pending migrations."""
    engine = db.make_engine(state.db_url, create=False)
    try:
        db.upgrade(engine, revision)
        current = db.current_revision(engine)
    finally:
        engine.dispose()
    click.echo(f"{output.safe_url(state.db_url)} is at revision {current}.")


@cli.command()
@click.option(
    "--db",
    "demo_db",
    default="sqlite:///marsad-demo.db",
    show_default=True,
    help="Database for the demo.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_obj
def demo(state: State, demo_db: str, fmt: str) -> None:
    """Serve the bundled sample site on 127.0.0.1, crawl it, and show the tagged articles."""
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
        output.print_summary(result)
        output.print_articles(articles)
        click.echo(
            f"\nDemo database: {output.safe_url(demo_db)}  (run `marsad --db {demo_db} ...`)"
        )
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


from crawler.cli.topics import retag_cmd, tag, topics  # noqa: E402  (commands need `cli` above)

cli.add_command(tag)
cli.add_command(retag_cmd)
cli.add_command(topics)


from crawler.cli.stories import stories  # noqa: E402

cli.add_command(stories)


from crawler.cli.search import export, reindex, search, show, stats  # noqa: E402

cli.add_command(search)
cli.add_command(show)
cli.add_command(export)
cli.add_command(stats)
db_group.add_command(reindex)


from crawler.cli.schedule import runs_cmd, schedule, status  # noqa: E402

cli.add_command(schedule)
cli.add_command(runs_cmd)
cli.add_command(status)


from crawler.cli.digest import digest  # noqa: E402

cli.add_command(digest)


def main() -> None:
    cli(prog_name="marsad")
