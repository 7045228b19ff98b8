"""`marsad worker` and `marsad workers`: thin shells over crawler.schedule.worker."""

from __future__ import annotations

import json
import logging
import sys
from datetime import timedelta

import click
from rich.table import Table

from crawler import db
from crawler.cli.common import Failure, State, UsageError, format_option, settings_option
from crawler.cli.output import console
from crawler.cli.schedule import (
    _check_crawl_settings,
    _duration,
    _log_options,
    _per_source,
    broker_url_or_fail,
    require_postgres,
)
from crawler.schedule import broker

logger = logging.getLogger(__name__)

BROKER_HELP = (
    "Broker URL: amqp://USER:PASSWORD@HOST:5672// (RabbitMQ) or redis://HOST:6379/0. "
    f"Env: {broker.BROKER_URL_ENV} (better: keeps the password out of `ps`)."
)


def _queues(values: tuple[str, ...]) -> list[str]:
    queues = [q.strip() for value in values for q in value.split(",") if q.strip()]
    return queues or [broker.DEFAULT_QUEUE]


@click.command()
@click.option("--broker", "broker_option", metavar="URL", help=BROKER_HELP)
@click.option(
    "--concurrency", type=click.IntRange(min=1, max=64), default=1, show_default=True,
    help="Crawls this worker runs at the same time (one job each).",
)  # fmt: skip
@click.option(
    "--queues", "queue_values", multiple=True, metavar="NAME[,NAME]",
    help=f"Queues to take jobs from (default: {broker.DEFAULT_QUEUE}).",
)  # fmt: skip
@click.option(
    "--crawl-timeout", default="25m", show_default=True, metavar="DURATION",
    help="Time limit of one crawl; it must end (with --grace) before the broker's redelivery "
    "timeout.",
)  # fmt: skip
@click.option(
    "--source-timeout", "source_timeouts", multiple=True, metavar="SOURCE=DURATION",
    help="Time limit for one source (repeatable).",
)  # fmt: skip
@click.option(
    "--grace", default="30s", show_default=True, metavar="DURATION",
    help="After SIGTERM, how long a crawl may take to stop before it is killed.",
)  # fmt: skip
@click.option(
    "--broker-consumer-timeout", default="30m", show_default=True, metavar="DURATION",
    help="RabbitMQ's consumer_timeout (rabbitmq.conf); a job unacknowledged that long is "
    "given to another worker.",
)  # fmt: skip
@click.option(
    "--visibility-timeout", default="1h", show_default=True, metavar="DURATION",
    help="Redis broker: after this long an unacknowledged job is given to another worker; "
    "give the scheduler and every worker the same value.",
)  # fmt: skip
@click.option(
    "--metrics-port", type=click.IntRange(min=1, max=65535), metavar="PORT",
    help="Serve Prometheus metrics on http://HOST:PORT/metrics.",
)  # fmt: skip
@click.option(
    "--metrics-host", default="127.0.0.1", show_default=True, metavar="HOST",
    help="Address the metrics are served on.",
)  # fmt: skip
@settings_option("Scrapy or MARSAD_ setting passed to every crawl, e.g. -s DOWNLOAD_TIMEOUT=60.")
@click.pass_obj
def worker(
    state: State,
    broker_option: str | None,
    concurrency: int,
    queue_values: tuple[str, ...],
    crawl_timeout: str,
    source_timeouts: tuple[str, ...],
    grace: str,
    broker_consumer_timeout: str,
    visibility_timeout: str,
    metrics_port: int | None,
    metrics_host: str,
    overrides: dict[str, str],
) -> None:
    """Take crawl jobs from the broker (RabbitMQ or Redis) and run them, until stopped.

    One job is one source run, crawled as `marsad schedule` crawls it (its own process, a
    time limit, a crawl_runs row with this machine's name). Jobs are acknowledged when the
    run is recorded; a job whose worker dies goes to another worker, and a source is never
    crawled twice at once (a PostgreSQL lock per source). Needs PostgreSQL and the same
    sources.toml as the scheduler. SIGTERM stops the running crawls (recorded interrupted)
    and puts their jobs back on the queue for another worker.
    """
    from crawler.schedule.worker import Worker, WorkerError, WorkerOptions

    if state.verbose == 0:
        logging.getLogger("crawler").setLevel(logging.INFO)
    url = broker_url_or_fail(broker_option, "marsad worker")
    require_postgres(state.db_url, "marsad worker")
    limit = _duration(crawl_timeout, "--crawl-timeout")
    grace_time = _duration(grace, "--grace")
    visibility = _duration(visibility_timeout, "--visibility-timeout")
    consumer = _duration(broker_consumer_timeout, "--broker-consumer-timeout")

    def check_limits(limits: dict[str, timedelta]) -> None:
        try:
            broker.check_crawl_limit(
                broker.broker_kind(url), limits, grace_time, consumer, visibility
            )
        except broker.BrokerError as exc:
            raise UsageError(str(exc)) from exc

    check_limits({"--crawl-timeout": limit})
    config = state.config()
    sources = [source for source in config.sources if source.enabled]
    if not sources:
        raise UsageError(f"no enabled source in {config.directory / 'sources.toml'}")
    per_source = _per_source(source_timeouts, {s.key for s in sources})
    check_limits({f"--source-timeout {key}": value for key, value in per_source.items()})
    _check_crawl_settings(sources, overrides)
    _check_database(state.db_url)
    options = WorkerOptions(
        db_url=state.db_url,
        broker_url=url,
        config_dir=config.directory.resolve(),
        sources=sources,
        queues=_queues(queue_values),
        concurrency=concurrency,
        crawl_timeout=limit,
        timeouts=per_source,
        grace=grace_time,
        settings=[f"{key}={value}" for key, value in overrides.items()],
        log_options=_log_options(),
        visibility_timeout=visibility,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
    )
    try:
        code = Worker(options).run()
    except WorkerError as exc:
        raise UsageError(str(exc)) from exc
    sys.exit(code)


def _check_database(db_url: str) -> None:
    """An old schema stops the worker now (explained by the CLI); an unreachable database
    does not: jobs wait for it, retried with backoff."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        db.open_existing(db_url).dispose()
    except SQLAlchemyError as exc:
        if not db.is_unreachable(exc):
            raise
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        logger.warning(
            "database %s unreachable (%s); jobs are retried with backoff until it is back",
            db.safe_url(db_url),
            db.scrub(first, db_url),
        )


@click.command()
@click.option("--broker", "broker_option", metavar="URL", help=BROKER_HELP)
@click.option(
    "--timeout", "wait", default="2s", show_default=True, metavar="DURATION",
    help="How long to wait for the workers' answers.",
)  # fmt: skip
@format_option("json")
@click.pass_obj
def workers(state: State, broker_option: str | None, wait: str, fmt: str) -> None:
    """Live workers (those answering on the broker now) and the job each one is running."""
    from crawler.schedule.worker import live_workers

    url = broker_url_or_fail(broker_option, "marsad workers")
    seconds = _duration(wait, "--timeout").total_seconds()
    try:
        broker.ping(url, timeout=min(seconds + 3, 10))
        found = live_workers(url, timeout=seconds)
    except broker.BrokerUnreachable as exc:
        fix = f"start the broker, or check --broker / {broker.BROKER_URL_ENV}"
        raise Failure(f"{exc}. Fix: {fix}") from None
    if fmt == "json":
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo(
            f"no worker answered on {broker.safe_broker_url(url)} within {wait} "
            "(start one with `marsad worker`)"
        )
        return
    table = Table(title=f"{len(found)} live worker(s)")
    for column in ("worker", "pid", "slots", "source", "job", "started (UTC)"):
        table.add_column(column, no_wrap=True)
    for item in found:
        jobs = item["jobs"] or [{}]
        for i, job in enumerate(jobs):
            started = job.get("started_at")
            table.add_row(
                item["worker"] if i == 0 else "",
                str(item["pid"] or "-") if i == 0 else "",
                str(item["concurrency"] or "-") if i == 0 else "",
                job.get("source") or "idle",
                job.get("job") or "-",
                started[:19].replace("T", " ") if started else "-",
            )
    console.print(table)
