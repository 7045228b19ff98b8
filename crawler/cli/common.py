"""What every command shares: the typed State, exit codes, usage errors and shared options.

Imports only click and the standard library at module level, so that loading a command module
stays cheap; the database and configuration libraries load when a command uses them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import click

from crawler.timespec import When

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from crawler.config import Config, Source

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

F = TypeVar("F", bound=Callable[..., Any])


class Decorator(Protocol):
    """An option decorator: gives back the command function it was applied to."""

    def __call__(self, func: F, /) -> F: ...


class UsageError(click.ClickException):
    """A wrong command line or configuration: exit code 2."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class State:
    """The global options, passed to every command with ``@click.pass_obj``."""

    config_dir: str | None = None
    db_option: str | None = None  # --db or MARSAD_DB_URL as given; see db_url
    verbose: int = 0

    @property
    def db_url(self) -> str:
        from crawler.db import resolve_db_url

        return resolve_db_url(self.db_option)

    @property
    def log_level(self) -> str:
        return {0: "WARNING", 1: "INFO"}.get(self.verbose, "DEBUG")

    def config(self) -> Config:
        """sources.toml and topics.toml; a configuration error is a usage error (exit 2)."""
        from crawler.config import ConfigError, load_config

        try:
            return load_config(self.config_dir)
        except ConfigError as exc:
            raise UsageError(str(exc)) from exc

    @contextmanager
    def engine(self, *, create: bool = True) -> Iterator[Engine]:
        """An engine on the database (its schema brought to head with *create*), then disposed."""
        from crawler.db import make_engine

        engine = make_engine(self.db_url, create=create)
        try:
            yield engine
        finally:
            engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on a fresh engine; both are closed afterwards. The caller commits."""
        from sqlalchemy.orm import Session

        with self.engine() as engine, Session(engine) as session:
            yield session


def select_sources(config: Config, keys: Sequence[str]) -> list[Source]:
    """The sources named by *keys*, or every enabled source; unknown names are a usage error."""
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


# --------------------------------------------------------------------------- --since / --until


def since_option(help: str, default: str | None = None) -> Decorator:
    """``--since WHEN`` -> an aware UTC datetime (or None); a bad value exits 2 naming it."""
    return click.option(
        "--since", type=When(), metavar="WHEN", default=default, show_default=bool(default),
        help=help,
    )  # fmt: skip


def until_option(help: str) -> Decorator:
    """``--until WHEN`` -> an aware UTC datetime (or None); a bare date means the end of it."""
    return click.option("--until", type=When(end=True), metavar="WHEN", help=help)


# --------------------------------------------------------------------------- --format

TEXT = "text"  # the human format, for terminals
HUMAN_FORMATS = (TEXT, "table")  # two words, one meaning: both have always been accepted


def _human_as_text(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    return TEXT if value in HUMAN_FORMATS else value


def format_option(*machine: str, human: bool = True, default: str = TEXT) -> Decorator:
    """``--format``: the human format (``text`` or its synonym ``table``) when *human*, plus the
    *machine* formats (json, jsonl, csv). The command receives ``fmt``, ``"text"`` for either
    human word."""
    choices = [*HUMAN_FORMATS, *machine] if human else list(machine)
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default=default, show_default=True,
        callback=_human_as_text, help="Output format.",
    )  # fmt: skip


# --------------------------------------------------------------------------- -s / --set


def parse_settings(pairs: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs -> {KEY: VALUE}; a pair without ``=`` or key is a usage error."""
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects KEY=VALUE, got {pair!r}")
        settings[key.strip()] = value
    return settings


def _settings_callback(
    _ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]
) -> dict[str, str]:
    return parse_settings(value)


def settings_option(help: str) -> Decorator:
    """``-s/--set KEY=VALUE`` (repeatable) -> an ``overrides`` dict of Scrapy/MARSAD_ settings."""
    return click.option(
        "-s", "--set", "overrides", multiple=True, metavar="KEY=VALUE",
        callback=_settings_callback, help=help,
    )  # fmt: skip
