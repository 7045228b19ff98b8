"""What every command shares: the typed State, exit codes, usage errors, the error boundary
and shared options.

Imports only click and the standard library at module level, so that loading a command module
stays cheap; the database and configuration libraries load when a command uses them.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar

import click

from crawler.timespec import When

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import InstrumentedAttribute, Session

    from crawler.config import Config, Source

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

F = TypeVar("F", bound=Callable[..., Any])


class Decorator(Protocol):
    """An option decorator: gives back the command function it was applied to."""

    def __call__(self, func: F, /) -> F: ...


class UsageError(click.ClickException):
    """A wrong command line or configuration: exit code 2."""

    exit_code = EXIT_USAGE


class Failure(click.ClickException):
    """A runtime failure: exit code 1. The message says what failed, the value and the fix."""

    exit_code = EXIT_FAILED


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
    def engine(self, *, create: bool = False, revision: str = "heads") -> Iterator[Engine]:
        """An engine on the database, disposed afterwards.

        ``create=True`` creates the database (and its SQLite folder) or migrates its schema to
        *revision*; ``create=False`` opens an existing database at head and changes nothing
        (a missing SQLite file or an old schema is a usage error saying to run ``marsad db
        upgrade``). Only the commands that write crawls (``crawl``, ``db upgrade``; ``demo`` and
        ``schedule`` through the library) pass ``create=True``.
        """
        from crawler import db

        if create:
            engine = db.make_engine(self.db_url, create=True, revision=revision)
        else:
            engine = db.open_existing(self.db_url)
        try:
            yield engine
        finally:
            engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on an engine opened as :meth:`engine` does; both are closed afterwards.
        The caller commits."""
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


# --------------------------------------------------------------------------- the error boundary

T = TypeVar("T")


def guarded(ctx: click.Context, invoke: Callable[[], T]) -> T:
    """Run a command (*invoke*) inside the CLI's one error boundary.

    A known failure (database, files, configuration, compressed input) becomes one or two
    lines on stderr saying what failed, the value involved and the fix, exit 2 for a wrong
    value and 1 for a failure of the moment (:func:`explain`); anything else is an "internal
    error" line, exit 1. No traceback reaches the user unless ``-vv`` asks for it, and no
    password from a URL reaches the output. Click's own exits pass through unchanged.
    """
    try:
        return invoke()
    except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except Exception as exc:
        db_url = _db_url(ctx)
        state = ctx.find_object(State)
        if state is not None and state.verbose >= 2:
            click.echo(scrub("".join(traceback.format_exception(exc)), db_url), err=True)
        raise explain(exc, db_url) from exc


def _db_url(ctx: click.Context) -> str:
    """The database URL in use (resolved once the database library is loaded anyway)."""
    state = ctx.find_object(State)
    if state is None:
        return ""
    if "crawler.db" in sys.modules:
        return state.db_url
    return state.db_option or os.environ.get("MARSAD_DB_URL", "")


def scrub(text: str, db_url: str) -> str:
    """*text* without the password of *db_url* nor of any URL written in it."""
    if "://" not in text and "@" not in db_url:
        return text
    from crawler.db import hide_password, url_passwords

    text = hide_password(text)
    for password in url_passwords(db_url):
        text = text.replace(password, "***")
    return text


def explain(exc: Exception, db_url: str) -> click.ClickException:
    """A failure met while running a command, as its message (password hidden) and exit code."""
    db = sys.modules.get("crawler.db")  # each check only when its library is already loaded
    if db is not None and isinstance(exc, db.DBAPIError):
        exc = db.explain_error(exc, db_url)
    if db is not None and isinstance(exc, db.UnusableDatabase):
        return (UsageError if exc.usage else Failure)(scrub(str(exc), db_url))
    config = sys.modules.get("crawler.config.checks")
    if config is not None and isinstance(exc, config.ConfigError):
        return UsageError(str(exc))
    alembic = sys.modules.get("alembic.util")
    if alembic is not None and isinstance(exc, alembic.CommandError):
        return UsageError(
            f"the schema migration failed: {scrub(str(exc), db_url)}.\nFix: check --db and "
            "--revision (`marsad db upgrade` brings a database to the latest revision)"
        )
    if isinstance(exc, OSError):
        return os_failure(exc)
    zlib = sys.modules.get("zlib")
    if isinstance(exc, EOFError) or (zlib is not None and isinstance(exc, zlib.error)):
        return Failure(
            f"compressed input is truncated or corrupt ({exc}).\n"
            "Fix: check the file (gzip -t FILE), or fetch it again"
        )
    if isinstance(exc, UnicodeDecodeError):
        return UsageError(
            f"the input is not UTF-8 text ({exc.reason} at byte {exc.start}).\n"
            "Fix: convert it to UTF-8 (iconv -f ... -t utf-8)"
        )
    message = scrub(str(exc), db_url)
    return Failure(
        f"internal error: {type(exc).__name__}: {message} (run with -vv for the traceback)"
    )


_OS_FAILURES: Mapping[int, tuple[str, str, type[click.ClickException]]] = {
    errno.ENOSPC: ("disk full while writing {path}", "free disk space, or write elsewhere",
                   Failure),
    errno.EDQUOT: ("disk quota exceeded while writing {path}", "free space, or write elsewhere",
                   Failure),
    errno.EACCES: ("permission denied: {path}", "choose a path you may use, or fix its "
                   "permissions", Failure),
    errno.EPERM: ("operation not permitted: {path}", "choose a path you may use, or fix its "
                  "permissions", Failure),
    errno.EROFS: ("read-only file system: {path}", "write elsewhere", Failure),
    errno.ENOENT: ("no such file or folder: {path}", "check the path", UsageError),
    errno.EISDIR: ("{path} is a folder", "give a file's path", UsageError),
    errno.ENOTDIR: ("{path}: a part of the path is not a folder", "check the path", UsageError),
    errno.EPIPE: ("the output was closed before the end", "read the whole output", Failure),
}  # fmt: skip


def os_failure(exc: OSError, path: str | None = None) -> click.ClickException:
    """An OSError (on *path*, or on the file it names) as what failed and the fix."""
    where = path or (str(exc.filename) if exc.filename is not None else "(unnamed file)")
    known = _OS_FAILURES.get(exc.errno or 0)
    if known is None:
        detail = exc.strerror or str(exc) or type(exc).__name__
        return Failure(f"{where}: {detail}.\nFix: check the path and the disk")
    problem, fix, kind = known
    return kind(f"{problem.format(path=where)}.\nFix: {fix}")


# --------------------------------------------------------------------------- --out FILE


def _is_stream(path: Path) -> bool:
    """An existing device, pipe or socket (/dev/stdout, a FIFO): written in place, any name."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_out(
    path: str, formats: Mapping[str, Sequence[str]], fmt: str | None = None, option: str = "--out"
) -> str:
    """The format *path* is written in, checked before anything runs.

    *formats* maps each format to the file suffixes that mean it. With *fmt* (a ``--format``
    value) the suffix must agree with it; without, the suffix chooses the format. ``-``
    (stdout) and devices or pipes are accepted with *fmt* whatever their name. A disagreeing or
    unknown suffix, a folder, or a folder that does not exist is a usage error naming the path
    and the fix.
    """
    target = Path(path)
    stream = path == "-" or _is_stream(target)
    suffix = target.suffix.lower()
    named = next((name for name, suffixes in formats.items() if suffix in suffixes), None)
    what = f"the suffix {suffix}" if suffix else "a name without suffix"

    def names(name: str) -> str:
        return " or ".join(formats[name])

    if not stream and target.is_dir():
        raise UsageError(f"{option} {path} is a folder. Fix: give a file's path in it")
    if fmt is not None and not stream and named != fmt:
        if named is not None:
            raise UsageError(
                f"{option} {path} is a {named} file but --format is {fmt}. "
                f"Fix: add --format {named}, or name the file {names(fmt)}"
            )
        raise UsageError(
            f"{option} {path}: {what} is not a {fmt} file. Fix: name the file {names(fmt)}"
        )
    if fmt is None:
        if named is None or path == "-":
            every = ", ".join(suffix for suffixes in formats.values() for suffix in suffixes)
            raise UsageError(f"{option} {path}: {what} names no format. Fix: name the file {every}")
        fmt = named
    folder = target.parent
    if not stream and not folder.is_dir():
        raise UsageError(
            f"{option} {path}: the folder {folder} does not exist. "
            f"Fix: create it (mkdir -p {folder}) or write elsewhere"
        )
    return fmt


@contextmanager
def open_out(path: str) -> Iterator[IO[str]]:
    """*path* opened to write text, whole or not at all.

    The text goes to a temporary file in the same folder, renamed over *path* at the end: a
    failure leaves no new file and keeps an old one intact. ``-`` is stdout; a device or pipe
    is written in place. A failure to write is a :class:`Failure` naming *path*.
    """
    if path == "-":
        yield sys.stdout
        return
    target = Path(path)
    if _is_stream(target):
        try:
            with open(target, "w", encoding="utf-8", newline="") as fh:
                yield fh
        except OSError as exc:
            raise os_failure(exc, path) from exc
        return
    try:
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as exc:
        raise os_failure(exc, path) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
        os.chmod(temp, _new_file_mode(target))
        os.replace(temp, target)
    except BaseException as exc:
        Path(temp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename in (None, temp, path):
            raise os_failure(exc, path) from exc
        raise


def _new_file_mode(target: Path) -> int:
    """An existing file's mode, or what open() would give a new one (0o666 less the umask)."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


# --------------------------------------------------------------------------- filter values

_LISTINGS = {
    "--topic": ("topics.toml", "topics list"),
    "--source": ("sources.toml", "sources list"),
}


def first_unknown(
    session: Session,
    column: InstrumentedAttribute[Any],
    values: Sequence[str],
    known: Sequence[str],
) -> str | None:
    """The first of *values* neither *known* (configured) nor stored in *column*."""
    from crawler.db import stored_values

    unknown = [value for value in values if value not in known]
    missing = sorted(set(unknown) - stored_values(session, column, unknown))
    return missing[0] if missing else None


def check_known(
    session: Session,
    option: str,
    values: Sequence[str],
    known: Sequence[str],
    column: InstrumentedAttribute[Any],
) -> None:
    """A --topic/--source value neither configured nor stored is a usage error with "did you
    mean": a typo must not look like an empty result."""
    from crawler.config.checks import suggest

    value = first_unknown(session, column, values, known)
    if value is not None:
        file, listing = _LISTINGS[option]
        raise UsageError(
            f"{option} {value}: not in {file} and nothing stored has it. "
            f"Fix: {suggest(value, known)}see `marsad {listing}`"
        )
