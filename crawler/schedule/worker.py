"""`marsad worker`: a Celery worker whose one task is "crawl source S".

Each job runs exactly as the scheduler runs a crawl (``python -m crawler crawl S --format json``
as a child process, with a time limit, its counters and summary, and a ``crawl_runs`` row with
this machine's name and the crawl's pid), with three more rules:

* the source's PostgreSQL advisory lock (``sourcelock.SourceLock``) is taken before the run is
  recorded and let go after its last row is written; a job that finds it held (a duplicated
  or redelivered job while the first copy still runs) is recorded ``skipped_duplicate`` and
  crawls nothing;
* the crawl is SIGKILLed by the kernel when this worker dies (``PR_SET_PDEATHSIG``), so no
  orphan writes after the worker's lock has gone with its database session;
* a ``running`` row left by a dead worker is recorded ``crashed`` by the worker that takes the
  redelivered job, or by any worker or scheduler within ``REAP_EVERY`` seconds.

Celery runs the jobs in threads (``--pool threads``): a crawl is a child process, so threads
cost nothing, and a SIGKILLed worker takes every job down with it (they all return to the
queue, none is left half-owned by an orphaned pool process).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from crawler import db
from crawler.config import Source
from crawler.db import CrawlRun
from crawler.schedule import broker, runs, sourcelock
from crawler.schedule.daemon import (
    crawl_command,
    crawl_env,
    guarded_command,
    signal_group,
    supervise,
)

logger = logging.getLogger(__name__)

HOST = runs.HOST
REAP_EVERY = 10.0  # seconds between looks for runs of dead workers
LOCK_CHECK_EVERY = 5.0  # seconds between checks that a run's source lock is still ours
MAX_RETRY_DELAY = 60


class WorkerError(Exception):
    """A setup problem the worker cannot run with (reported to the user)."""


@dataclass
class WorkerOptions:
    db_url: str
    broker_url: str
    config_dir: Path
    sources: Sequence[Source]
    queues: Sequence[str] = (broker.DEFAULT_QUEUE,)
    concurrency: int = 1
    crawl_timeout: timedelta = broker.DEFAULT_WORKER_CRAWL_TIMEOUT
    timeouts: Mapping[str, timedelta] = field(default_factory=dict)
    grace: timedelta = timedelta(seconds=30)
    settings: Sequence[str] = ()
    log_options: Sequence[str] = ()
    visibility_timeout: timedelta = broker.DEFAULT_VISIBILITY_TIMEOUT
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"

    def timeout_for(self, source: str) -> timedelta:
        return self.timeouts.get(source, self.crawl_timeout)


class Metrics:
    """Prometheus counters of one worker, served on ``--metrics-port`` (``/metrics``)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.runs = Counter(
            "marsad_worker_runs", "Source runs ended, by outcome", ["source", "outcome"],
            registry=self.registry,
        )  # fmt: skip
        self.pages = Counter(
            "marsad_worker_pages_fetched", "Pages fetched by this worker's crawls", ["source"],
            registry=self.registry,
        )  # fmt: skip
        self.stored = Counter(
            "marsad_worker_articles_stored", "Articles stored by this worker's crawls",
            ["source"], registry=self.registry,
        )  # fmt: skip
        self.running = Gauge(
            "marsad_worker_running_crawls", "Crawls running now", registry=self.registry
        )
        self.latency = Histogram(
            "marsad_worker_queue_latency_seconds", "From the time a run was due to its start",
            buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600), registry=self.registry,
        )  # fmt: skip
        self.duration = Histogram(
            "marsad_worker_run_seconds", "Duration of the runs",
            buckets=(1, 5, 15, 60, 300, 900, 1800, 3600), registry=self.registry,
        )  # fmt: skip

    def serve(self, host: str, port: int) -> None:
        from prometheus_client import start_http_server

        start_http_server(port, addr=host, registry=self.registry)


class _WithoutTraceback(logging.Filter):
    """Log lines (Celery's: a rejected job, a reconnection) keep their traceback for -vv only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not logger.isEnabledFor(logging.DEBUG):
            record.exc_info = None
            record.exc_text = None
        return True


def _chosen_setting_warning(record: logging.LogRecord) -> bool:
    """Celery warns that crawls keep running when the broker goes: we chose it (make_app)."""
    return "worker_cancel_long_running_tasks_on_connection_loss" not in record.getMessage()


class Worker:
    """``marsad worker``: takes jobs from the broker until stopped."""

    def __init__(self, options: WorkerOptions) -> None:
        self.options = options
        self.id = f"{sourcelock.WORKER_PREFIX}{HOST}:{os.getpid()}"
        self.name = f"marsad-{os.getpid()}@{HOST}"  # Celery's node name: unique per process
        self.sources = {s.key: s for s in options.sources}
        self._stopping = threading.Event()
        self._engine: Engine | None = None
        self.metrics = Metrics()
        self.app = broker.make_app(
            options.broker_url,
            queue=options.queues[0],
            visibility_timeout=options.visibility_timeout,
        )
        self._register()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = db.make_engine(self.options.db_url, create=False)
        return self._engine

    def _register(self) -> None:
        from celery import signals

        worker = self

        @self.app.task(name=broker.TASK_NAME, bind=True, acks_late=True,
                       reject_on_worker_lost=True, max_retries=None)  # fmt: skip
        def crawl_source(
            task: Any,
            source: str,
            due: str | None = None,
            trigger: str = "scheduled",
            enqueued_at: str | None = None,
        ) -> dict[str, Any]:
            from celery.exceptions import Reject, Retry

            try:
                return worker.run_job(task, source, broker.parse_time(due), trigger)
            except (Retry, Reject):
                raise
            except Exception as exc:  # one line, not Celery's traceback (it is at -vv)
                first = (str(exc).strip().splitlines() or [""])[0]
                logger.error(
                    "%s: job %s failed and is dropped: %s: %s",
                    source,
                    task.request.id,
                    type(exc).__name__,
                    db.scrub(first, worker.options.db_url),
                    exc_info=logger.isEnabledFor(logging.DEBUG),
                )
                return {"source": source, "outcome": "error"}

        def on_shutdown(**_kwargs: Any) -> None:
            worker._stopping.set()

        def keep_our_logging(**_kwargs: Any) -> None:
            """Connected, this tells Celery our logging is set up (crawler/cli/logs.py)."""

        def on_ready(**_kwargs: Any) -> None:
            logger.info(
                "worker %s ready: taking jobs from %s", worker.name, ",".join(worker.options.queues)
            )

        signals.worker_ready.connect(on_ready, weak=False)
        signals.worker_shutting_down.connect(on_shutdown, weak=False)
        signals.setup_logging.connect(keep_our_logging, weak=False)

    # ---- the worker process

    def run(self) -> int:
        options = self.options
        for handler in logging.getLogger().handlers:  # Celery's lines too, whatever logger
            handler.addFilter(_WithoutTraceback())
        logging.getLogger("py.warnings").addFilter(_chosen_setting_warning)
        logger.info(
            "worker %s: broker %s, queues %s, %d crawl(s) at a time, crawl limit %s",
            self.name,
            broker.safe_broker_url(options.broker_url),
            ",".join(options.queues),
            options.concurrency,
            options.crawl_timeout,
        )
        try:
            broker.ping(options.broker_url)
        except broker.BrokerUnreachable as exc:
            logger.warning("%s; retrying with backoff until it answers", exc)
        if options.metrics_port is not None:
            try:
                self.metrics.serve(options.metrics_host, options.metrics_port)
            except OSError as exc:
                raise WorkerError(
                    f"--metrics-port {options.metrics_port}: cannot serve metrics on "
                    f"{options.metrics_host}:{options.metrics_port} ({exc.strerror or exc}); "
                    "choose a free port or another --metrics-host"
                ) from None
            logger.info(
                "metrics on http://%s:%d/metrics", options.metrics_host, options.metrics_port
            )
        reaper = threading.Thread(target=self._reap_forever, name="reaper", daemon=True)
        reaper.start()
        argv = [
            "worker",
            "--pool=threads",
            f"--concurrency={options.concurrency}",
            f"--queues={','.join(options.queues)}",
            f"--hostname={self.name}",
            "--without-mingle",
            "--without-gossip",  # worker-to-worker events we do not use (and noisy reconnects)
            "--loglevel=INFO",
        ]
        try:
            self.app.worker_main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            return code
        finally:
            self._stopping.set()
            if self._engine is not None:
                self._engine.dispose()
        return 0

    def _reap_forever(self) -> None:
        while not self._stopping.wait(REAP_EVERY):
            try:
                sourcelock.reap_dead_runs(self.engine, by=f"worker {self.name}")
            except SQLAlchemyError as exc:
                logger.debug("could not look for runs of dead workers: %s", exc)

    # ---- one job

    def run_job(self, task: Any, key: str, due: datetime | None, trigger: str) -> dict[str, Any]:
        request = task.request
        redelivered = bool((request.delivery_info or {}).get("redelivered"))
        source = self.sources.get(key)
        if source is None:
            logger.error(
                "job %s: source %r is not in this worker's configuration (%s); the job is "
                "dropped: give every worker the scheduler's sources.toml",
                request.id,
                key,
                self.options.config_dir,
            )
            self.metrics.runs.labels(key, "unknown_source").inc()
            return {"source": key, "outcome": "unknown_source"}
        lock = sourcelock.SourceLock(self.options.db_url, key)
        try:
            got = lock.try_acquire()
        except SQLAlchemyError as exc:
            self._retry_later(task, key, exc)
            raise  # not reached: retry raises
        try:
            if not got:
                holder = "another run, holding the source lock,"
                return self._skip_duplicate(key, due, trigger, request.id, holder)
            sourcelock.reap_dead_runs(self.engine, key, by=f"worker {self.name}", holding=True)
            manual = self._live_manual_run(key)
            if manual is not None:
                return self._skip_duplicate(key, due, trigger, request.id, manual)
            if redelivered:
                logger.info("%s: job %s was redelivered; running it again", key, request.id)
            ended = self._crawl(source, due, trigger, lock)
        except SQLAlchemyError as exc:
            self._retry_later(task, key, exc)
            raise
        finally:
            lock.release()
        if ended["outcome"] == runs.INTERRUPTED:  # our doing (shutdown, lost lock), not the site's
            from celery.exceptions import Reject

            logger.info(
                "%s: run %s was stopped by this worker; its job goes back to the queue",
                key,
                ended["run"],
            )
            raise Reject("the crawl was stopped by its worker", requeue=True)
        return ended

    def _retry_later(self, task: Any, key: str, exc: SQLAlchemyError) -> None:
        if not db.is_unreachable(exc):
            raise exc
        delay = min(MAX_RETRY_DELAY, 2 ** min(task.request.retries or 0, 6))
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        logger.warning(
            "%s: database unreachable (%s); the job is put back on the queue, retried in %ds",
            key,
            db.scrub(first, self.options.db_url),
            delay,
        )
        raise task.retry(countdown=delay, exc=None)

    def _live_manual_run(self, key: str) -> str | None:
        """A `marsad crawl` of *key* running now (it takes no source lock), described."""
        with Session(self.engine) as session:
            for run in runs.running_runs(session):
                if run.source == key and run.trigger == runs.MANUAL and runs.run_is_live(run):
                    return f"a manual `marsad crawl` (run {run.id}, pid {run.pid} on {run.host})"
        return None

    def _skip_duplicate(
        self, key: str, due: datetime | None, trigger: str, job_id: str, why: str
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            run = runs.start_run(
                session, key, trigger=trigger, scheduled_for=due, scheduler=self.id,
                host=HOST, started_at=now,
            )  # fmt: skip
            run.pid = os.getpid()
            note = f"job {job_id}: {why} is crawling this source; not crawled"
            runs.finish_run(
                session, run, runs.RunVerdict(runs.SKIPPED_DUPLICATE, articles_stored=0,
                                              error_summary=note),
                exit_code=None, finished_at=now,
            )  # fmt: skip
            run_id = run.id
        logger.warning("%s: run %d skipped_duplicate: %s", key, run_id, note)
        self.metrics.runs.labels(key, runs.SKIPPED_DUPLICATE).inc()
        return {"source": key, "outcome": runs.SKIPPED_DUPLICATE, "run": run_id}

    def _crawl(
        self, source: Source, due: datetime | None, trigger: str, lock: sourcelock.SourceLock
    ) -> dict[str, Any]:
        options = self.options
        command = crawl_command(
            options.config_dir, source.key, options.settings, options.log_options
        )
        started = datetime.now(UTC)
        proc = subprocess.Popen(
            guarded_command(command, signal.SIGKILL),  # dies with this worker, at once
            env=crawl_env(options.db_url, self.id),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            with Session(self.engine) as session, session.begin():
                run = runs.start_run(
                    session, source.key, trigger=trigger, scheduled_for=due,
                    scheduler=self.id, host=HOST, started_at=started,
                )  # fmt: skip
                run.pid = proc.pid
                run_id = run.id
        except BaseException:
            signal_group(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
        latency = (started - due).total_seconds() if due else 0.0
        self.metrics.latency.observe(max(0.0, latency))
        self.metrics.running.inc()
        logger.info(
            "%s: run %d started (pid %d, %s, %.1fs after due)",
            source.key, run_id, proc.pid, trigger, latency,
        )  # fmt: skip
        last_check = [time.monotonic()]

        def stop_reason() -> str | None:
            if self._stopping.is_set():
                return "the worker is shutting down"
            if time.monotonic() - last_check[0] >= LOCK_CHECK_EVERY:
                last_check[0] = time.monotonic()
                if not lock.held():
                    return "the source lock's database connection was lost"
            return None

        try:
            result = supervise(proc, options.timeout_for(source.key), options.grace, stop_reason)
        finally:
            self.metrics.running.dec()
        if result.stderr and "--log-file" not in options.log_options:
            sys.stderr.write(result.stderr.rstrip("\n") + "\n")
            sys.stderr.flush()
        verdict = runs.classify(result, source.key)
        if result.interrupted and verdict.error_summary:
            verdict.error_summary = verdict.error_summary.replace(
                "stopped by the scheduler", "stopped by its worker"
            )
        summary = self._finish(run_id, verdict, result.exit_code)
        self.metrics.runs.labels(source.key, verdict.outcome).inc()
        self.metrics.pages.labels(source.key).inc(verdict.pages_fetched)
        if summary is None:
            return {"source": source.key, "outcome": verdict.outcome, "run": run_id}
        self.metrics.stored.labels(source.key).inc(summary["articles_stored"])
        self.metrics.duration.observe(summary["duration_seconds"] or 0.0)
        level = logging.INFO if verdict.outcome in (runs.OK, runs.INTERRUPTED) else logging.WARNING
        logger.log(
            level,
            "%s: run %d %s in %.1fs: %d pages, %d stored%s",
            source.key, run_id, verdict.outcome, summary["duration_seconds"] or 0.0,
            summary["pages_fetched"], summary["articles_stored"],
            f" ({verdict.error_summary})" if verdict.error_summary else "",
        )  # fmt: skip
        return {"source": source.key, "outcome": verdict.outcome, "run": run_id}

    def _finish(
        self, run_id: int, verdict: runs.RunVerdict, exit_code: int | None
    ) -> dict[str, Any] | None:
        """Write the run's end, retrying while the database is away (we still hold the lock,
        so nobody takes this run for dead meanwhile)."""
        finished_at = datetime.now(UTC)
        delay = 1.0
        deadline = time.monotonic() + 300
        while True:
            try:
                with Session(self.engine) as session, session.begin():
                    run = session.get(CrawlRun, run_id)
                    if run is None or run.outcome != runs.RUNNING:
                        logger.warning(
                            "run %d was recorded meanwhile (%s); keeping that",
                            run_id, run.outcome if run is not None else "deleted",
                        )  # fmt: skip
                        return None
                    runs.finish_run(
                        session, run, verdict, exit_code=exit_code, finished_at=finished_at
                    )
                    return runs.run_to_dict(run)
            except SQLAlchemyError as exc:
                if not db.is_unreachable(exc) or time.monotonic() > deadline:
                    raise
                logger.warning(
                    "run %d ended (%s); the database is unreachable, retrying in %gs",
                    run_id, verdict.outcome, delay,
                )  # fmt: skip
                time.sleep(delay)
                delay = min(delay * 2, 10.0)


def live_workers(url: str, timeout: float = 2.0) -> list[dict[str, Any]]:
    """The workers that answer on the broker, with the job each is running (Celery inspect)."""
    app = broker.make_app(url)
    conn = app.connection_for_read()  # our own, closed below (not the process-wide pool)
    try:
        pings = app.control.inspect(timeout=timeout, connection=conn).ping() or {}
        if not pings:
            return []
        # the workers that answered: each next question ends as soon as they all replied
        inspect = app.control.inspect(
            timeout=timeout, destination=list(pings), limit=len(pings), connection=conn
        )
        active = inspect.active() or {}
        stats = inspect.stats() or {}
    except Exception as exc:
        raise broker.BrokerUnreachable(broker.describe_failure(url, exc)) from None
    finally:
        conn.release()
        app.close()
    out = []
    for name in sorted(set(pings) | set(active)):
        jobs = []
        for task in active.get(name) or ():
            kwargs = task.get("kwargs") or {}
            started = task.get("time_start")
            jobs.append(
                {
                    "job": task.get("id"),
                    "source": kwargs.get("source"),
                    "trigger": kwargs.get("trigger"),
                    "due": kwargs.get("due"),
                    "started_at": datetime.fromtimestamp(started, UTC).isoformat()
                    if isinstance(started, int | float)
                    else None,
                }
            )
        info = stats.get(name) or {}
        pool = info.get("pool") or {}
        out.append(
            {
                "worker": name,
                "pid": info.get("pid"),
                "concurrency": pool.get("max-concurrency"),
                "jobs": jobs,
            }
        )
    return out
