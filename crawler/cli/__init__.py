"""The `marsad` command: a thin shell over the library.

Sub-commands are registered lazily: the table below names the module that defines each one and
its one-line help, so `marsad --help` and `marsad --version` load click alone, and a command
loads only its own module (a command that does not crawl never imports Scrapy).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import click


class LazyCommand(NamedTuple):
    target: str  # "module:attribute"
    short_help: str  # shown by `marsad --help`; tests/test_cli.py checks it against the command


COMMANDS: Mapping[str, LazyCommand] = {
    "crawl": LazyCommand(
        "crawler.cli.crawl:crawl",
        "Crawl SOURCES (default: every enabled source) and print a per-source summary.",
    ),
    "demo": LazyCommand(
        "crawler.cli.crawl:demo",
        "Serve the bundled sample site on 127.0.0.1, crawl it, and show the tagged articles.",
    ),
    "extract": LazyCommand(
        "crawler.cli.crawl:extract",
        "Extract and tag saved pages (plain or .gz); no database.",
    ),
    "sources": LazyCommand("crawler.cli.sources:sources", "List and check the configured sources."),
    "db": LazyCommand("crawler.cli.database:db_group", "Database schema management."),
    "search": LazyCommand(
        "crawler.cli.search:search", "Full-text search of stored articles (title and text)."
    ),
    "show": LazyCommand(
        "crawler.cli.search:show",
        "One stored article in full: its topics with the evidence that tagged them "
        "(highlighted), the other copies of its story, and whether its raw HTML is stored.",
    ),
    "export": LazyCommand(
        "crawler.cli.search:export",
        "Write every matching article (all of them without QUERY), newest first, as CSV or "
        "JSON lines.",
    ),
    "stats": LazyCommand(
        "crawler.cli.search:stats",
        "Stored articles per topic, per source and per day (as each publisher dated it).",
    ),
    "stories": LazyCommand(
        "crawler.cli.stories:stories",
        "The largest recent stories: copies of one article (syndicated wires, near-duplicates) "
        "grouped together, with the outlets that published them, most copies first.",
    ),
    "tag": LazyCommand(
        "crawler.cli.topics:tag", "Tag JSON lines from FILE (default: stdin); no database."
    ),
    "retag": LazyCommand(
        "crawler.cli.topics:retag_cmd",
        "Re-apply the current topics to stored articles, replacing their tags.",
    ),
    "topics": LazyCommand(
        "crawler.cli.topics:topics", "Inspect and try out the topics of topics.toml."
    ),
    "schedule": LazyCommand(
        "crawler.cli.schedule:schedule",
        "Crawl SOURCES (default: every enabled source) at their interval or cron, until stopped.",
    ),
    "runs": LazyCommand(
        "crawler.cli.schedule:runs_cmd",
        "Recent scheduled crawl runs, newest first: outcome, counts and errors.",
    ),
    "status": LazyCommand(
        "crawler.cli.schedule:status",
        "Health per source: last success, failures in a row, yield against the usual, flags.",
    ),
    "web": LazyCommand(
        "crawler.cli.web:web",
        "Serve the analysts' web page (search, attention over time, stories, topics, sources, "
        "feeds) read-only over the database.",
    ),
    "worker": LazyCommand(
        "crawler.cli.worker:worker",
        "Take crawl jobs from the broker (RabbitMQ or Redis) and run them, until stopped.",
    ),
    "workers": LazyCommand(
        "crawler.cli.worker:workers",
        "Live workers (those answering on the broker now) and the job each one is running.",
    ),
    "digest": LazyCommand(
        "crawler.cli.digest:digest",
        "Alert digests from config/alerts.toml; `digest RULE...` is short for `digest run "
        "RULE...`.",
    ),
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported from their module when one runs or needs help."""

    def __init__(
        self, name: str | None = None, *, lazy: Mapping[str, LazyCommand], **attrs: Any
    ) -> None:
        super().__init__(name, **attrs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(load_command(self.lazy[cmd_name].target), cmd_name)
        return self.commands.get(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        """Every command runs inside the CLI's one error boundary (crawler.cli.common.guarded)."""
        from crawler.cli.common import guarded  # here: --help and --version never get this far

        invoke = super().invoke
        return guarded(ctx, lambda: invoke(ctx))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the table, without importing any command module."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(map(len, names))
        rows = []
        for name in names:
            command = self.commands.get(name) or _stand_in(name, self.lazy[name])
            rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _stand_in(name: str, lazy: LazyCommand) -> click.Command:
    """An unloaded command as help lists it: its one-line help, from the table."""
    return click.Command(name, help=lazy.short_help)


def load_command(target: str) -> click.Command:
    """The command at ``"module:attribute"``."""
    module_name, _, attribute = target.partition(":")
    command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command


def _setup_logging(verbose: int, log_format: str = "text", log_file: str | None = None) -> None:
    from crawler.cli.logs import setup_logging  # here: --help and --version skip it

    setup_logging(verbose, log_format, log_file)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
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
    # the default is crawler.db.DEFAULT_DB_URL (checked by a test): importing it here would
    # load SQLAlchemy for `marsad --help`
    help="SQLAlchemy database URL (default: sqlite:///marsad.db). Env: MARSAD_DB_URL.",
)
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as text (ISO 8601 time, level, logger, message) or one JSON object each.",
)
@click.option(
    "--log-file",
    metavar="PATH",
    help="Append the log to PATH instead of stderr (its folder must exist).",
)
@click.version_option(package_name="marsad")
@click.pass_context
def cli(
    ctx: click.Context,
    config_dir: str | None,
    db_url: str | None,
    verbose: int,
    log_format: str,
    log_file: str | None,
) -> None:
    """Marsad: crawl Arabic, French and English regional news into a database."""
    from crawler.cli.common import State  # here, not at the top: --help and --version skip it

    _setup_logging(verbose, log_format, log_file)
    ctx.obj = State(config_dir, db_url, verbose)


def main() -> None:
    cli(prog_name="marsad")
