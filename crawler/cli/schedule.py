"""`marsad schedule`, `marsad runs` and `marsad status`: thin shells over
crawler.schedule.daemon, crawler.schedule.runs and crawler.schedule.health."""

from __future__ import annotations

import difflib
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import click
from rich import box
from rich.console import Console
from rich.table import Table

from crawler import db
from crawler.cli.common import (
    EXIT_FAILED,
    State,
    UsageError,
    check_known,
    format_option,
    select_sources,
    settings_option,
)
from crawler.cli.logs import child_log_options
from crawler.cli.output import console
from crawler.config import ConfigError, Source, parse_interval
from crawler.config.alerts import load_alerts
from crawler.schedule import broker, health, runs

logger = logging.getLogger(__name__)


def _duration(value: str, option: str) -> timedelta:
    """A positive duration (``90s``, ``15m``, ``1h30m`` or seconds); anything else exits 2."""
    fix = "write e.g. 90s, 15m, 1h30m or a number of seconds"
    try:
        duration = timedelta(seconds=float(value))
    except ValueError:
        try:
            duration = parse_interval(value)
        except ValueError:
            raise UsageError(f"{option}: not a duration: {value!r} ({fix})") from None
    except OverflowError:
        raise UsageError(f"{option}: {value!r} is too long ({fix})") from None
    if not duration > timedelta(0):
        raise UsageError(f"{option}: must be more than zero, got {value!r} ({fix})")
    return duration


def _per_source(pairs: tuple[str, ...], known: set[str]) -> dict[str, timedelta]:
    out: dict[str, timedelta] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(
                f"--source-timeout expects SOURCE=DURATION, got {pair!r} "
                "(e.g. --source-timeout hespress-ar=2h)"
            )
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise UsageError(
                f"--source-timeout {pair}: {key!r} is not a source this scheduler runs; "
                f"{hint}known: {', '.join(sorted(known))}"
            )
        out[key] = _duration(value, f"--source-timeout {key}")
    return out


def _check_crawl_settings(sources: Sequence[Source], overrides: dict[str, str]) -> None:
    """What every crawl would refuse (a bad -s value, no User-Agent contact), refused at start."""
    from crawler.crawl.agent import SettingError, configured_user_agent, require_contact
    from crawler.crawl.preflight import check_overrides

    try:
        checked = check_overrides(overrides)
        require_contact(sources, str(checked.get("USER_AGENT") or configured_user_agent()))
    except SettingError as exc:
        raise UsageError(str(exc)) from exc


def _configured_sources(state: State) -> list[str]:
    try:
        return [source.key for source in state.config().sources]
    except UsageError:  # no usable configuration here: the recorded runs alone decide
        return []


def _log_options() -> list[str]:
    """``--log-format``/``--log-file`` as given to this command, for its crawl processes."""
    params = click.get_current_context().find_root().params
    return child_log_options(params.get("log_format") or "text", params.get("log_file"))


@click.command()
@click.argument("sources", nargs=-1)
@click.option(
    "--crawl-timeout",
    default="1h",
    show_default=True,
    metavar="DURATION",
    help="Time limit of one crawl; the process is stopped and the run recorded as timed_out.",
)
@click.option(
    "--source-timeout",
    "source_timeouts",
    multiple=True,
    metavar="SOURCE=DURATION",
    help="Time limit for one source (repeatable), e.g. --source-timeout hespress-ar=2h.",
)
@click.option(
    "--max-parallel", type=click.IntRange(min=1), default=2, show_default=True,
    help="Crawls running at the same time.",
)  # fmt: skip
@click.option(
    "--grace",
    default="30s",
    show_default=True,
    metavar="DURATION",
    help="After SIGTERM, how long a crawl may take to stop before it is killed.",
)
@click.option(
    "--standby-poll",
    default="5s",
    show_default=True,
    metavar="DURATION",
    help="How often a standby scheduler tries to take over.",
)
@click.option(
    "--health-every",
    default="5m",
    show_default=True,
    metavar="DURATION",
    help="How often every source's health is checked (also after each run).",
)
@click.option(
    "--digests/--no-digests",
    default=True,
    show_default=True,
    help="Send the alert digests of alerts.toml: scheduled rules when due (checked every "
    "minute), immediate rules after a crawl that stored articles.",
)
@click.option(
    "--broker", "broker_option", metavar="URL",
    help="Enqueue due runs on this broker for `marsad worker`s instead of crawling here: "
    "amqp://USER:PASSWORD@HOST:5672// or redis://HOST:6379/0. Env: MARSAD_BROKER_URL.",
)  # fmt: skip
@click.option(
    "--queue", default="marsad.crawl", show_default=True, metavar="NAME",
    help="With --broker: the queue the jobs go to.",
)  # fmt: skip
@click.option(
    "--visibility-timeout", default="1h", show_default=True, metavar="DURATION",
    help="With a Redis broker: the workers' --visibility-timeout (the same value everywhere).",
)  # fmt: skip
@settings_option("Scrapy or MARSAD_ setting passed to every crawl, e.g. -s DOWNLOAD_TIMEOUT=60.")
@click.pass_obj
def schedule(
    state: State,
    sources: tuple[str, ...],
    crawl_timeout: str,
    source_timeouts: tuple[str, ...],
    max_parallel: int,
    grace: str,
    standby_poll: str,
    health_every: str,
    digests: bool,
    broker_option: str | None,
    queue: str,
    visibility_timeout: str,
    overrides: dict[str, str],
) -> None:
    """Crawl SOURCES (default: every enabled source) at their interval or cron, until stopped.

    Runs in the foreground and logs to stderr (for systemd or a terminal). One scheduler per
    database leads; others wait as standby and take over when it dies. Each crawl is its own
    process with a time limit; missed runs are coalesced, and after downtime an overdue source
    runs once, promptly. SIGTERM or SIGINT stops running crawls cleanly (recorded as
    interrupted) and exits 0. With --broker (or MARSAD_BROKER_URL) it crawls nothing itself:
    due runs become jobs for `marsad worker`s on other machines (PostgreSQL only).
    """
    from crawler.schedule.daemon import (
        CrawlDaemon,
        SchedulerError,
        SchedulerOptions,
        install_signal_handlers,
    )

    if state.verbose == 0:  # a daemon says what it does; crawls keep their own log level
        logging.getLogger("crawler").setLevel(logging.INFO)
    config = state.config()
    selected = select_sources(config, sources)
    _check_crawl_settings(selected, overrides)
    try:
        load_alerts(config=config)  # a broken alerts.toml stops us now, not at the first digest
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    publisher = None
    url = broker.resolve_broker_url(broker_option)
    if url is not None:
        require_postgres(state.db_url, "marsad schedule")
        url = broker_url_or_fail(url, "marsad schedule")
        visibility = _duration(visibility_timeout, "--visibility-timeout")
        publisher = broker.Publisher(url, queue, visibility)
    options = SchedulerOptions(
        db_url=state.db_url,
        config_dir=config.directory.resolve(),
        sources=selected,
        crawl_timeout=_duration(crawl_timeout, "--crawl-timeout"),
        timeouts=_per_source(source_timeouts, {s.key for s in selected}),
        max_parallel=max_parallel,
        grace=_duration(grace, "--grace"),
        settings=[f"{key}={value}" for key, value in overrides.items()],
        standby_poll=_duration(standby_poll, "--standby-poll").total_seconds(),
        health_every=_duration(health_every, "--health-every"),
        digest_every=timedelta(minutes=1) if digests else None,
        log_options=_log_options(),
        publisher=publisher,
    )
    try:
        daemon = CrawlDaemon(options)
        install_signal_handlers(daemon)
        code = daemon.run()
    except SchedulerError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        if publisher is not None:
            publisher.close()
    sys.exit(code)


def broker_url_or_fail(explicit: str | None, command: str) -> str:
    url = broker.resolve_broker_url(explicit)
    if url is None:
        raise UsageError(
            f"{command} needs a broker: give --broker URL or set {broker.BROKER_URL_ENV} "
            f"(e.g. {broker.URL_EXAMPLES})"
        )
    try:
        broker.broker_kind(url)
    except broker.BrokerError as exc:
        raise UsageError(str(exc)) from exc
    return url


def require_postgres(db_url: str, command: str) -> None:
    """Workers on several machines share one database and its advisory locks: PostgreSQL."""
    backend = db.parse_db_url(db_url).get_backend_name()
    if backend != "postgresql":
        raise UsageError(
            f"{command} with a broker needs a PostgreSQL database, not {backend} "
            f"({db.safe_url(db_url)}): workers on several machines share it, and the lock that "
            "keeps one run per source is a PostgreSQL advisory lock. Give --db "
            "postgresql+psycopg://USER@HOST/DB (or MARSAD_DB_URL)"
        )


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return db.as_utc(value).strftime("%Y-%m-%d %H:%M:%S")


@click.command("runs")
@click.option("--source", "sources", multiple=True, help="Only these sources (repeatable).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@format_option("json")
@click.pass_obj
def runs_cmd(state: State, sources: tuple[str, ...], limit: int, fmt: str) -> None:
    """Recent scheduled crawl runs, newest first: outcome, counts and errors."""
    with state.session() as session:
        if sources:
            known = _configured_sources(state)
            check_known(session, "--source", sources, known, db.CrawlRun.source)
        recent = runs.recent_runs(session, list(sources) or None, limit)
        rows = [runs.run_to_dict(run) for run in recent]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Last {len(rows)} run(s)")
    columns = ("id", "source", "started (UTC)", "secs", "outcome", "pages", "stored", "errors")
    for column in (*columns, "host", "pid"):
        table.add_column(column, no_wrap=True)
    table.add_column("summary")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["source"],
            _when(row["started_at"]),
            "-" if row["duration_seconds"] is None else f"{row['duration_seconds']:.0f}",
            row["outcome"],
            str(row["pages_fetched"]),
            str(row["articles_stored"]),
            str(row["errors_total"]),
            row["host"] or "-",
            "-" if row["pid"] is None else str(row["pid"]),
            (row["error_summary"] or "")[:120],
        )
    console.print(table)


WIDE = 150  # from this width on, times are shown with the year and seconds


def _width() -> int:
    """The terminal's width; COLUMNS wins (so a pipe or a test can ask for 80)."""
    try:
        return max(40, int(os.environ["COLUMNS"]))
    except (KeyError, ValueError):
        return console.width


def _short_when(value: datetime | None) -> str:
    """``MM-DD HH:MM``: wraps at the space in a narrow column."""
    return "-" if value is None else db.as_utc(value).strftime("%m-%d %H:%M")


def _flags_text(h: health.SourceHealth) -> str:
    """One flag a line: the column is as wide as the longest flag, and never cut."""
    return "\n".join(h.flags) if h.flags else ("disabled" if not h.enabled else "ok")


def _health_table(healths: Sequence[health.SourceHealth], width: int) -> Table:
    """One row per source. Source names and flags are never cut: on a narrow terminal the
    times lose their year and seconds, and times, schedules and headers wrap instead."""
    wide = width >= WIDE
    when = _when if wide else _short_when
    table = Table(
        title="Source health",
        width=None if wide else width,  # rich then shares out exactly this width
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        padding=(0, 1, 0, 0) if wide else 0,  # narrow: one space between columns
    )
    longest_source = max((len(h.source) for h in healths), default=6)
    table.add_column("source", no_wrap=True, min_width=longest_source)
    outcomes = [h.last_outcome or "never" for h in healths]
    table.add_column("schedule" if wide else "sched", overflow="fold")
    table.add_column("last run (UTC)" if wide else "last run", overflow="fold", no_wrap=wide)
    table.add_column("outcome", min_width=max([7, *map(len, outcomes)]))
    if wide:  # where it ran: a narrow terminal keeps it in --format json (last_host, last_pid)
        table.add_column("on (host:pid)", no_wrap=True)
    table.add_column(
        "last success" if wide else "success", overflow="fold", min_width=7, no_wrap=wide
    )
    table.add_column("fails", no_wrap=True)
    table.add_column("stored/ usual" if wide else "stored", overflow="fold", min_width=6)
    table.add_column("next due", overflow="fold", no_wrap=wide)
    longest_flag = max((len(f) for h in healths for f in h.flags), default=0)
    table.add_column("flags", no_wrap=True, min_width=max(len("disabled"), longest_flag))
    for h, outcome in zip(healths, outcomes, strict=True):
        usual = "-" if h.usual_articles is None else f"{h.usual_articles:g}"
        last = "-" if h.last_articles is None else str(h.last_articles)
        flags = _flags_text(h)
        ran_on = [f"{h.last_host or '-'}:{h.last_pid or '-'}"] if wide else []
        table.add_row(
            h.source,
            h.schedule,
            when(h.last_run_at),
            outcome,
            *ran_on,
            when(h.last_success_at),
            str(h.consecutive_failures),
            f"{last}/{usual}",
            when(h.next_due),
            f"[red]{flags}[/]" if h.flags else flags,
        )
    return table


@click.command()
@format_option("json")
@click.option(
    "--check", is_flag=True, help="Exit 1 when any source is flagged (never_ran included)."
)
@click.pass_obj
def status(state: State, fmt: str, check: bool) -> None:
    """Health per source: last success, failures in a row, yield against the usual, flags."""
    config = state.config()
    with state.session() as session:
        healths = health.assess(session, config.sources, datetime.now(UTC))
    if fmt == "json":
        click.echo(json.dumps([h.to_dict() for h in healths], ensure_ascii=False, indent=2))
    else:
        width = _width()  # a console of that width: the shared one is at least 120 wide
        Console(width=width, highlight=False).print(_health_table(healths, width))
        for h in healths:
            for name in h.flags:
                click.echo(f"{h.source}: {name}: {h.reasons[name]}")
    if check and any(h.flags for h in healths):
        sys.exit(EXIT_FAILED)
