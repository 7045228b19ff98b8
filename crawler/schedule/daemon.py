"""The crawl scheduler: one leader per database starts each due source as its own process.

* Leadership: ``leader_lock`` takes a lock that dies with the process holding it: a
  session-level advisory lock on a dedicated PostgreSQL connection, or ``flock`` on a file
  next to the SQLite database. A daemon that cannot take it waits as standby and polls.
* Due times come from each source's ``Schedule`` and the ``crawl_runs`` table
  (``crawler/schedule/runs.py``), never from an in-memory job store, so a restarted or newly
  promoted scheduler runs an overdue source once, now.
* APScheduler 3.x triggers the jobs with ``coalesce=True``, ``max_instances=1`` and a generous
  ``misfire_grace_time``; a semaphore caps parallel crawls (``max_parallel``).
* Each crawl is ``python -m crawler ... crawl SOURCE --format json`` in its own process group
  with a time limit; on Linux it gets SIGTERM if the scheduler dies (``PR_SET_PDEATHSIG``).
* Shutdown (SIGTERM/SIGINT): no new crawls; running ones get SIGTERM (Scrapy stops cleanly),
  SIGKILL after ``grace``; they are recorded as ``interrupted``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.base import run_job
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from crawler import db
from crawler.config import Source
from crawler.db import CrawlRun
from crawler.schedule import broker, health, outage, runs, sourcelock

logger = logging.getLogger(__name__)

DEFAULT_CRAWL_TIMEOUT = timedelta(hours=1)
DEFAULT_GRACE = timedelta(seconds=30)
REAP_EVERY = 5.0  # seconds between looks for runs of dead workers (broker mode)
MIN_MISFIRE_GRACE = timedelta(hours=1)
HOST = runs.HOST


class SchedulerError(Exception):
    """A setup problem the daemon cannot run with (reported to the user)."""


# --------------------------------------------------------------------------- leadership


class LeaderLock(Protocol):
    def try_acquire(self) -> bool: ...
    def held(self) -> bool: ...
    def release(self) -> None: ...


class FileLock:
    """``flock`` on a file: released by the kernel when the holding process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by children
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{HOST} {os.getpid()}\n".encode())
        self._fd = fd
        return True

    def held(self) -> bool:
        if self._fd is None:
            return False
        try:  # the file we lock must still be the one at the path others will open
            return os.fstat(self._fd).st_ino == os.stat(self.path).st_ino
        except OSError:
            return False

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


class PostgresAdvisoryLock:
    """A session-level advisory lock held on a dedicated autocommit connection.

    PostgreSQL releases it when the session ends, including when the holder dies and the
    kernel closes its socket. The key is derived from the schema, so schemas sharing one
    database (as the tests do) each get their own scheduler.
    """

    def __init__(self, url: str) -> None:
        self._engine = create_engine(
            url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={
                "application_name": "marsad-scheduler",
                "keepalives": 1,
                "keepalives_idle": 30,
                "keepalives_interval": 10,
                "keepalives_count": 3,
            },
        )
        self._conn: Any = None
        self._held = False
        self.key: int | None = None

    def _connect(self) -> Any:
        if self._conn is None:
            self._conn = self._engine.connect()
            sourcelock.drop_session_with_its_machine(self._conn)  # a vanished leader, too
            schema = self._conn.execute(text("SELECT current_schema()")).scalar()
            digest = hashlib.sha1(f"marsad.scheduler:{schema}".encode()).digest()
            self.key = int.from_bytes(digest[:8], "big", signed=True)
        return self._conn

    def _drop(self) -> None:
        self._held = False
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.invalidate()
                self._conn.close()
        self._conn = None

    def try_acquire(self) -> bool:
        """Whether we hold the lock now; an unreachable database raises (SQLAlchemyError)."""
        if self._held:
            return True
        try:
            conn = self._connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
        except SQLAlchemyError:
            self._drop()
            raise
        self._held = bool(got)
        return self._held

    def held(self) -> bool:
        """Whether we still hold it; a lost connection raises: the lock went with the session,
        and whether another scheduler took it can only be known once the database is back."""
        if not self._held or self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            self._drop()
            raise
        return True

    def release(self) -> None:
        if self._held and self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        self._drop()
        self._engine.dispose()


def leader_lock(db_url: str) -> LeaderLock:
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if not database or database == ":memory:" or database.startswith("file:"):
            raise SchedulerError("the scheduler needs an SQLite database file, not memory")
        # the real file: a second scheduler reaching it through a symlink must meet our lock
        path = Path(os.path.realpath(Path(database).expanduser()))
        return FileLock(path.with_name(path.name + ".scheduler.lock"))
    if url.get_backend_name() == "postgresql":
        return PostgresAdvisoryLock(db_url)
    raise SchedulerError(f"no scheduler lock for {url.get_backend_name()} databases")


# --------------------------------------------------------------------------- processes

# Re-exec'd through this guard, the crawl gets a signal (argv[2]) when the thread that started
# it (and so the scheduler or worker) dies: no orphan keeps crawling after a SIGKILLed parent.
_GUARD = (
    "import ctypes, os, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, int(sys.argv[2]), 0, 0, 0)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(75)\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)


def crawl_command(
    config_dir: Path,
    source: str,
    settings: Sequence[str] = (),
    log_options: Sequence[str] = (),
) -> list[str]:
    """The crawl's argv: no database URL, which may carry a password any local user could read
    in ``ps``; the child gets it from its environment (``crawl_env``)."""
    command = [sys.executable, "-m", "crawler", "--config", str(config_dir)]
    command += log_options
    command += ["crawl", source, "--format", "json", "--no-progress"]
    for pair in settings:
        command += ["-s", pair]
    return command


def crawl_env(db_url: str, daemon_id: str) -> dict[str, str]:
    """The crawl's environment: ours, plus the database URL and who scheduled it."""
    return {**os.environ, db.DB_URL_ENV: db_url, runs.SCHEDULED_BY_ENV: daemon_id}


def guarded_command(command: list[str], deathsig: int = signal.SIGTERM) -> list[str]:
    """*command* run so that it gets *deathsig* when the calling thread's process dies."""
    if not sys.platform.startswith("linux"):  # the guard needs Linux's prctl
        return command
    return [sys.executable, "-c", _GUARD, str(os.getpid()), str(int(deathsig)), *command]


_alive = runs.pid_alive


def _is_crawl(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
    except OSError:
        return False
    return b"crawler" in argv and b"crawl" in argv


def signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def supervise(
    proc: subprocess.Popen[str],
    timeout: timedelta,
    grace: timedelta,
    stop_reason: Callable[[], str | None],
    force: Callable[[], bool] = lambda: False,
) -> runs.ProcessResult:
    """Wait for a crawl; SIGTERM at its time limit or when *stop_reason* says why, SIGKILL
    after *grace* (or at once after the SIGTERM when *force* says so)."""
    deadline = time.monotonic() + timeout.total_seconds()
    timed_out = interrupted = False
    termed_at: float | None = None
    while True:
        try:
            out, err = proc.communicate(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if termed_at is None:
            why = stop_reason()
            if why is None and now >= deadline:
                timed_out = True
                logger.warning("pid %d: time limit (%s) reached; stopping it", proc.pid, timeout)
            elif why is not None:
                interrupted = True
                logger.warning("pid %d: stopping its crawl: %s", proc.pid, why)
            if timed_out or interrupted:
                termed_at = now  # one SIGTERM only: Scrapy takes a second as "stop now"
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        if termed_at is not None and (now - termed_at >= grace.total_seconds() or force()):
            logger.warning("pid %d: still running after SIGTERM; killing it", proc.pid)
            signal_group(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            break
    signal_group(proc.pid, signal.SIGKILL)  # helper processes left in its group
    return runs.ProcessResult(proc.returncode, out or "", err or "", timed_out, interrupted)


# --------------------------------------------------------------------------- daemon


@dataclass
class SchedulerOptions:
    db_url: str
    config_dir: Path
    sources: Sequence[Source]
    crawl_timeout: timedelta = DEFAULT_CRAWL_TIMEOUT
    timeouts: Mapping[str, timedelta] = field(default_factory=dict)  # per source
    max_parallel: int = 2
    grace: timedelta = DEFAULT_GRACE
    settings: Sequence[str] = ()  # -s KEY=VALUE passed to every crawl
    standby_poll: float = 5.0  # seconds between standby attempts to take the lock
    lock_check: float = 5.0  # seconds between checks that the leader still holds it
    health_every: timedelta = timedelta(minutes=5)
    health_policy: health.HealthPolicy = field(default_factory=health.HealthPolicy)
    digest_every: timedelta | None = timedelta(minutes=1)  # None: the daemon sends no digests
    log_options: Sequence[str] = ()  # --log-format/--log-file given to every crawl
    # with a broker, due runs are jobs for `marsad worker`s instead of child processes
    publisher: broker.Publisher | None = None

    def timeout_for(self, source: str) -> timedelta:
        return self.timeouts.get(source, self.crawl_timeout)


_due = threading.local()
_daemons: dict[str, CrawlDaemon] = {}


def _run_job_with_due(job: Any, jobstore: str, run_times: list[datetime], name: str) -> Any:
    _due.value = run_times[-1] if run_times else None
    try:
        return run_job(job, jobstore, run_times, name)
    finally:
        _due.value = None


class _DueTimeExecutor(ThreadPoolExecutor):
    """APScheduler's thread pool, telling each job the time it was due."""

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        def callback(future: Any) -> None:
            exc = future.exception()
            if exc:
                self._run_job_error(job.id, exc, getattr(exc, "__traceback__", None))
            else:
                self._run_job_success(job.id, future.result())

        future = self._pool.submit(
            _run_job_with_due, job, job._jobstore_alias, run_times, self._logger.name
        )
        future.add_done_callback(callback)

    def wait(self) -> None:
        self._pool.shutdown(wait=True)


def crawl_job(daemon_id: str, source: str) -> None:
    """The APScheduler job: plain arguments, looked up in this module's daemon registry."""
    daemon = _daemons.get(daemon_id)
    if daemon is not None:
        daemon.run_source(source, getattr(_due, "value", None))


class CrawlDaemon:
    """``marsad schedule``: standby until it holds the lock, then schedule until stopped."""

    def __init__(self, options: SchedulerOptions) -> None:
        self.options = options
        self.id = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.sources = {s.key: s for s in options.sources if s.enabled}
        self._stop = threading.Event()
        self._leading = threading.Event()
        self._slots = threading.BoundedSemaphore(max(1, options.max_parallel))
        self._children: dict[str, subprocess.Popen[str]] = {}
        self._stopping_at: float | None = None
        self._force = False
        self._lock = threading.Lock()
        self._overdue: dict[str, tuple[datetime, str]] = {}  # source -> (due, trigger)
        self._alerts = health.AlertTracker()
        self._engine: Engine | None = None
        self._migrated = False
        self._scheduler: BackgroundScheduler | None = None
        self.missed = 0
        self._db = outage.DatabaseWatch(options.db_url)
        # writes that wait for the database to come back: missed runs, ends of runs
        self._pending: list[Callable[[Session], object]] = []
        self._pending_missed: set[str] = set()  # sources whose due run could not start
        self._unsent: dict[str, tuple[datetime | None, str]] = {}  # jobs the broker refused
        self._send_delay = 1.0
        self._send_at = 0.0
        self._news_since = datetime.now(UTC)

    # ---- control

    def stop(self, force: bool = False) -> None:
        """Ask the daemon to stop (signal-handler safe); ``force`` skips the grace period."""
        if self._stop.is_set():
            force = True
        self._force = self._force or force
        self._stop.set()

    @property
    def engine(self) -> Engine:
        assert self._engine is not None
        return self._engine

    def _connect(self, lock: LeaderLock) -> bool:
        """Bring the schema up to date (once) and try to take the lock; database errors raise."""
        if self._engine is None:
            self._engine = db.make_engine(self.options.db_url, create=False)
        if not self._migrated:
            db.upgrade(self._engine)
            self._migrated = True
        return lock.try_acquire()

    def run(self) -> int:
        """Run until stopped; returns the process exit code."""
        lock = leader_lock(self.options.db_url)
        _daemons[self.id] = self
        announced = False
        notifier = self._health_channels()
        try:
            while not self._stop.is_set():
                try:
                    acquired = self._connect(lock)
                except SQLAlchemyError as exc:
                    if not self._db.check(exc):
                        raise
                    self._stop.wait(self._db.next_delay())
                    continue
                if self._db.is_down:
                    self._recovered()
                if acquired:
                    announced = False
                    try:
                        self._lead(lock)
                    except SQLAlchemyError as exc:
                        if not self._db.check(exc):
                            raise
                        continue  # ride it out: _connect retries with backoff
                    finally:
                        lock.release()
                    if not self._stop.is_set():
                        logger.error("lost the scheduler lock; back to standby")
                    continue
                if not announced:
                    logger.info(
                        "standby: another scheduler holds the lock for this database; "
                        "polling every %gs",
                        self.options.standby_poll,
                    )
                    announced = True
                self._stop.wait(self.options.standby_poll)
        finally:
            if notifier is not None:
                health.unregister_notifier(notifier)
            _daemons.pop(self.id, None)
            lock.release()
            if self._engine is not None:
                self._engine.dispose()
        logger.info("scheduler %s stopped", self.id)
        return 0

    # ---- leadership

    def _lead(self, lock: LeaderLock) -> None:
        publisher = self.options.publisher
        if publisher is None:
            logger.info(
                "leader: scheduler %s schedules %d source(s), at most %d crawl(s) at a time",
                self.id,
                len(self.sources),
                self.options.max_parallel,
            )
        else:
            logger.info(
                "leader: scheduler %s schedules %d source(s) as jobs on %s (queue %s)",
                self.id,
                len(self.sources),
                broker.safe_broker_url(publisher.url),
                publisher.queue,
            )
        self._reap_orphans()
        executor = _DueTimeExecutor(max_workers=len(self.sources) + 1)
        scheduler = BackgroundScheduler(timezone=UTC, executors={"default": executor})
        scheduler.add_listener(self._on_event, EVENT_JOB_MISSED | EVENT_JOB_ERROR)
        self._plan(scheduler)
        self._scheduler = scheduler
        self._leading.set()
        self._stopping_at = None
        scheduler.start()
        try:
            self._check_health(list(self.sources.values()))
            last_health = last_digest = last_reap = time.monotonic()
            while not self._stop.wait(min(self.options.lock_check, 1.0)):
                try:
                    held = lock.held()
                except SQLAlchemyError as exc:
                    if not self._db.check(exc):
                        raise
                    if self._retake(lock):
                        continue
                    break
                if not held:
                    logger.error("the scheduler lock was lost (its lock file was replaced?)")
                    break
                if self._db.is_down:  # a run met the outage; the lock's connection is fine
                    self._recovered()
                if publisher is not None:
                    self._resend()
                if self._db.is_down:
                    continue
                if publisher is not None and time.monotonic() - last_reap >= REAP_EVERY:
                    self._reap_workers()
                    last_reap = time.monotonic()
                if time.monotonic() - last_health >= self.options.health_every.total_seconds():
                    self._check_health(list(self.sources.values()))
                    last_health = time.monotonic()
                every = self.options.digest_every
                if every is not None and time.monotonic() - last_digest >= every.total_seconds():
                    # with workers, crawls end elsewhere: immediate rules run at this check
                    # when a run stored articles since the last one
                    self._send_digests(after_crawl=publisher is not None and self._stored_news())
                    last_digest = time.monotonic()
        finally:
            self._leading.clear()
            self._scheduler = None
            scheduler.shutdown(wait=False)
            self._stop_children()
            executor.wait()

    # ---- outages

    def _retake(self, lock: LeaderLock) -> bool:
        """The lock's connection is gone: keep the crawls running, start none, and retry with
        backoff. True once the lock is ours again; False when another scheduler took it (our
        crawls are then stopped by the caller) or we are stopping."""
        while not self._stop.wait(self._db.next_delay()):
            try:
                acquired = lock.try_acquire()
            except SQLAlchemyError as exc:
                if not self._db.check(exc):
                    raise
                continue
            self._recovered()
            if acquired:
                logger.warning("scheduler %s holds the scheduler lock again", self.id)
                return True
            logger.error(
                "another scheduler took the lock while the database was unreachable; stopping "
                "this one's crawls and going back to standby"
            )
            return False
        return False

    def _recovered(self) -> None:
        """Write what waited for the database; then it is reachable again (or still down)."""
        with self._lock:
            pending, self._pending = self._pending, []
            missed, self._pending_missed = self._pending_missed, set()
        try:
            with Session(self.engine) as session, session.begin():
                session.execute(text("SELECT 1"))
                for write in pending:
                    write(session)
        except SQLAlchemyError as exc:
            with self._lock:
                self._pending[:0] = pending
                self._pending_missed |= missed
            if not self._db.check(exc):
                raise
            return
        self._db.up()
        scheduler = self._scheduler
        for key in sorted(missed):  # a run was missed: the source runs once, now
            if scheduler is not None and scheduler.get_job(key) is not None:
                logger.info("%s: running it now for the run missed during the outage", key)
                scheduler.modify_job(key, next_run_time=datetime.now(UTC))

    def _defer(self, source: str | None, write: Callable[[Session], object]) -> None:
        with self._lock:
            self._pending.append(write)
            if source is not None:
                self._pending_missed.add(source)

    def _record_missed(self, key: str, due: datetime | None, trigger: str) -> None:
        at = datetime.now(UTC)
        why = f"database unreachable ({self._db.reason or 'connection lost'})"
        logger.warning(
            "%s: the run due at %s could not start: %s; it is recorded as missed when the "
            "database is back",
            key,
            (due or at).isoformat(timespec="seconds"),
            why,
        )
        if key in self._overdue:
            due, trigger = self._overdue.pop(key)

        def record(session: Session) -> None:
            runs.missed_run(
                session, key, due=due, at=at, reason=why, trigger=trigger, scheduler=self.id
            )

        self._defer(key, record)

    # ---- planning

    def _plan(self, scheduler: BackgroundScheduler) -> None:
        now = datetime.now(UTC)
        with Session(self.engine) as session:
            last = runs.last_started(session, self.sources)
        self._overdue.clear()
        for key, source in self.sources.items():
            due = source.schedule.next_due(last.get(key), now)
            first = max(due, now)
            if due <= now:
                self._overdue[key] = (due, "overdue" if key in last else "first")
            period = source.schedule.period
            scheduler.add_job(
                crawl_job,
                source.schedule.trigger(first),
                args=[self.id, key],
                id=key,
                name=f"crawl {key}",
                next_run_time=first,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=int(max(period, MIN_MISFIRE_GRACE).total_seconds()),
            )
            if last.get(key) is None:
                logger.info("%s: never run; starting now", key)
            elif due <= now:
                logger.info("%s: overdue since %s; running it once now", key, due.isoformat())
            else:
                logger.info("%s: next run at %s", key, due.isoformat())

    def _on_event(self, event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            self.missed += 1
            logger.warning(
                "%s: the run due at %s was missed", event.job_id, event.scheduled_run_time
            )
        elif event.exception is not None:
            logger.error("%s: scheduler job failed: %r", event.job_id, event.exception)

    def _reap_orphans(self) -> None:
        """Runs left ``running`` by a scheduler that died: stop their process, record them."""
        with Session(self.engine) as session, session.begin():
            orphans = runs.running_runs(session)
            for run in orphans:
                if (run.scheduler or "").startswith(sourcelock.WORKER_PREFIX):
                    continue  # a worker's run: dead only when its source lock is free
                note = f"the scheduler {run.scheduler} stopped before this crawl ended"
                if run.host == HOST and run.pid and _alive(run.pid) and _is_crawl(run.pid):
                    logger.warning("%s: stopping orphaned crawl process %d", run.source, run.pid)
                    self._kill_orphan(run.pid)
                    note += "; its crawl process was stopped"
                verdict = runs.RunVerdict(runs.CRASHED, error_summary=note)
                runs.finish_run(session, run, verdict, exit_code=None)
                logger.warning("%s: run %d recorded as crashed: %s", run.source, run.id, note)

        if self.options.publisher is not None:
            self._reap_workers()

    def _reap_workers(self) -> None:
        """Runs of workers that died (their source lock is free): recorded crashed."""
        try:
            sourcelock.reap_dead_runs(self.engine, by=f"scheduler {self.id}")
        except SQLAlchemyError as exc:
            if not self._db.check(exc):
                logger.exception("could not look for runs of dead workers")

    def _kill_orphan(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.options.grace.total_seconds()
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            signal_group(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    # ---- one run

    def run_source(self, key: str, due: datetime | None) -> None:
        if self.options.publisher is not None:
            if self._leading.is_set():
                trigger = "scheduled"
                if key in self._overdue:
                    due, trigger = self._overdue.pop(key)
                self._enqueue(key, due, trigger)
                self._log_next_run(key)
            return
        source = self.sources[key]
        while not self._slots.acquire(timeout=0.5):
            if not self._leading.is_set():
                return
        try:
            if not self._leading.is_set():
                return
            if self._db.is_down:
                self._record_missed(key, due, "scheduled")
                return
            trigger = "scheduled"
            if key in self._overdue:
                due, trigger = self._overdue.pop(key)
            self._run(source, due, trigger)
            self._log_next_run(key)
        except SQLAlchemyError as exc:
            if not self._db.check(exc):
                logger.exception("%s: the scheduled run failed", key)
        except Exception:
            logger.exception("%s: the scheduled run failed", key)
        finally:
            self._slots.release()

    # ---- broker mode

    def _stored_news(self) -> bool:
        """Whether a worker's run stored articles since the previous look (broker mode)."""
        since, self._news_since = self._news_since, datetime.now(UTC)
        try:
            with Session(self.engine) as session:
                return runs.stored_since(session, since)
        except SQLAlchemyError as exc:
            self._news_since = since
            if not self._db.check(exc):
                logger.exception("could not look for runs that stored articles")
            return False

    def _enqueue(self, key: str, due: datetime | None, trigger: str) -> bool:
        publisher = self.options.publisher
        assert publisher is not None
        job = broker.Job(key, due, trigger, datetime.now(UTC))
        try:
            job_id = publisher.publish(job)
        except broker.BrokerUnreachable as exc:
            with self._lock:
                first = not self._unsent
                self._unsent[key] = (due, trigger)
                if first:
                    self._send_at = time.monotonic() + self._send_delay
            logger.warning(
                "%s: could not enqueue the run due at %s: %s; it is kept and sent when the "
                "broker answers (retried with backoff)",
                key,
                (due or job.enqueued_at).isoformat(timespec="seconds"),
                exc,
            )
            return False
        logger.info(
            "%s: enqueued job %s (%s, due %s)",
            key,
            job_id,
            trigger,
            (due or job.enqueued_at).isoformat(timespec="seconds"),
        )
        return True

    def _resend(self) -> None:
        """Jobs the broker refused, sent again with capped backoff (1 s .. 60 s)."""
        with self._lock:
            if not self._unsent or time.monotonic() < self._send_at:
                return
            unsent, self._unsent = self._unsent, {}
        sent = 0
        for key, (due, trigger) in sorted(unsent.items()):
            if key in self._unsent:  # a newer due run of the source was kept meanwhile
                continue
            if self._enqueue(key, due, trigger):
                sent += 1
        with self._lock:
            if self._unsent:
                self._send_delay = min(self._send_delay * 2, 60.0)
                self._send_at = time.monotonic() + self._send_delay
                logger.warning(
                    "broker still unreachable: %d job(s) waiting, next try in %gs",
                    len(self._unsent),
                    self._send_delay,
                )
            else:
                if sent:
                    logger.info("broker reachable again: %d waiting job(s) enqueued", sent)
                self._send_delay = 1.0

    def _log_next_run(self, key: str) -> None:
        """When the job fires next: one period on, never "now" again (missed slots coalesce)."""
        scheduler = self._scheduler
        job = scheduler.get_job(key) if scheduler is not None else None
        if job is not None and job.next_run_time is not None:
            logger.info("%s: next run at %s", key, job.next_run_time.astimezone(UTC).isoformat())

    def _run(self, source: Source, due: datetime | None, trigger: str) -> None:
        options = self.options
        command = crawl_command(
            options.config_dir, source.key, options.settings, options.log_options
        )
        started = datetime.now(UTC)
        proc = subprocess.Popen(
            guarded_command(command),
            env=crawl_env(options.db_url, self.id),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: terminal ^C is ours to relay
        )
        with self._lock:
            self._children[source.key] = proc
        try:
            with Session(self.engine) as session, session.begin():
                run = runs.start_run(
                    session,
                    source.key,
                    trigger=trigger,
                    scheduled_for=due,
                    scheduler=self.id,
                    host=HOST,
                    started_at=started,
                )
                run.pid = proc.pid
                run_id = run.id
        except Exception as exc:
            signal_group(proc.pid, signal.SIGKILL)
            proc.communicate()
            with self._lock:
                self._children.pop(source.key, None)
            if self._db.check(exc):
                self._record_missed(source.key, due, trigger)
                return
            logger.exception("%s: cannot record the run; stopping its crawl", source.key)
            raise
        delay = (started - due).total_seconds() if due else 0.0
        logger.info(
            "%s: run %d started (pid %d, %s, %.1fs after due)",
            source.key,
            run_id,
            proc.pid,
            trigger,
            delay,
        )
        try:
            result = self._wait(proc, options.timeout_for(source.key))
        finally:
            with self._lock:
                self._children.pop(source.key, None)
        self._relay(result.stderr)
        verdict = runs.classify(result, source.key)
        finished_at = datetime.now(UTC)

        def record(session: Session) -> dict[str, Any] | None:
            finished = session.get(CrawlRun, run_id)
            if finished is None or finished.outcome != runs.RUNNING:
                logger.warning(
                    "%s: run %d was recorded by another scheduler meanwhile (%s); keeping that",
                    source.key,
                    run_id,
                    finished.outcome if finished is not None else "deleted",
                )
                return None
            runs.finish_run(
                session, finished, verdict, exit_code=result.exit_code, finished_at=finished_at
            )
            return runs.run_to_dict(finished)

        try:
            with Session(self.engine) as session, session.begin():
                summary = record(session)
        except SQLAlchemyError as exc:
            if not self._db.check(exc):
                raise
            logger.warning(
                "%s: run %d ended (%s); recorded when the database is back",
                source.key,
                run_id,
                verdict.outcome,
            )
            self._defer(None, record)
            return
        if summary is None:
            return
        level = logging.INFO if verdict.outcome in (runs.OK, runs.INTERRUPTED) else logging.WARNING
        logger.log(
            level,
            "%s: run %d %s in %.1fs: %d pages, %d stored%s",
            source.key,
            run_id,
            verdict.outcome,
            summary["duration_seconds"] or 0.0,
            summary["pages_fetched"],
            summary["articles_stored"],
            f" ({verdict.error_summary})" if verdict.error_summary else "",
        )
        if verdict.outcome != runs.INTERRUPTED:
            self._check_health([source])
        if summary["articles_stored"] and self.options.digest_every is not None:
            self._send_digests(after_crawl=True)

    def _wait(self, proc: subprocess.Popen[str], timeout: timedelta) -> runs.ProcessResult:
        return supervise(
            proc,
            timeout,
            self.options.grace,
            lambda: "the scheduler is stopping" if self._stopping_at is not None else None,
            force=lambda: self._force,
        )

    def _relay(self, stderr: str) -> None:
        """A crawl's log lines (in our format) reach our stderr, unless it wrote our log file."""
        if stderr and "--log-file" not in self.options.log_options:
            with self._lock:
                sys.stderr.write(stderr if stderr.endswith("\n") else stderr + "\n")
                sys.stderr.flush()

    def _stop_children(self) -> None:
        with self._lock:
            children = list(self._children.items())
            self._stopping_at = time.monotonic()
        for key, proc in children:  # each run's thread sends the SIGTERM (see _wait)
            logger.info("%s: stopping its crawl (pid %d)", key, proc.pid)

    def _health_channels(self) -> health.Notifier | None:
        """Health alerts also go to the channels of alerts.toml's [health] table, if any."""
        from crawler.config.alerts import load_alerts
        from crawler.schedule.notify import ChannelNotifier

        alerts = load_alerts(self.options.config_dir)
        if not alerts.health_channels:
            return None
        notifier = ChannelNotifier(alerts)
        health.register_notifier(notifier)
        names = ", ".join(channel.name for channel in alerts.health_channels)
        logger.info("health alerts go to the log and to: %s", names)
        return notifier

    # ---- digests

    def _send_digests(self, *, after_crawl: bool) -> None:
        if self._db.is_down:
            return
        self._send_digests_now(after_crawl=after_crawl)

    def _send_digests_now(self, *, after_crawl: bool) -> None:
        """Scheduled digest rules that are due, and "immediate" ones after a crawl stored news.

        Delivery is exactly-once per rule and channel (crawler/digest.py), so a digest run
        racing another one, or repeated after a failure, never sends an item twice.
        """
        from crawler.config import load_config
        from crawler.digest import run_due_rules

        try:
            config = load_config(self.options.config_dir)
            for result in run_due_rules(self.engine, config, after_crawl=after_crawl):
                outcomes = ", ".join(f"{o.channel} {o.status}" for o in result.outcomes)
                level = logging.INFO if result.ok else logging.WARNING
                logger.log(level, "digest %s (%s): %s", result.rule, result.trigger, outcomes)
        except Exception as exc:
            if not self._db.check(exc):
                logger.exception("digest run failed; its items stay pending")

    # ---- health

    def _check_health(self, sources: Sequence[Source]) -> None:
        if self._db.is_down:
            return  # the outage itself was reported (DatabaseWatch.down)
        try:
            with Session(self.engine) as session:
                healths = health.assess(session, sources, policy=self.options.health_policy)
        except SQLAlchemyError as exc:
            if not self._db.check(exc):
                logger.exception("health check failed")
            return
        for h in healths:  # the daemon is about to run a source that never ran: no alert
            if health.NEVER_RAN in h.flags:
                h.flags.remove(health.NEVER_RAN)
        health.notify(self._alerts.update(healths, datetime.now(UTC)))


def install_signal_handlers(daemon: CrawlDaemon) -> None:
    """SIGTERM/SIGINT stop the daemon gracefully; a second one skips the grace period."""

    def handler(signum: int, _frame: Any) -> None:
        logger.info("received %s; shutting down", signal.Signals(signum).name)
        daemon.stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
