"""Crawl run history: recording runs, classifying how a crawl process ended.

The database, not an in-memory job store, is the scheduler's memory: a source's next run is
due (``Source.schedule.next_due``) after its latest recorded start (:func:`last_started`), so
after any downtime an overdue source runs once, promptly, however many slots it missed.
Functions take a Session and never commit it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from crawler.db import Article, CrawlRun, as_utc, make_engine, scrub

logger = logging.getLogger(__name__)

RUNNING = "running"
OK = "ok"
FAILED = "failed"
TIMED_OUT = "timed_out"
INTERRUPTED = "interrupted"
CRASHED = "crashed"
MISSED = "missed"  # due, but could not start (the database was unreachable): never ran
#: a worker's job found its source locked by another run (a duplicated or redelivered job)
SKIPPED_DUPLICATE = "skipped_duplicate"
#: recorded rows that were never a crawl: they do not count as a source's last start
NEVER_STARTED = frozenset({MISSED, SKIPPED_DUPLICATE})
#: outcomes that count against a source's health (interrupted is our doing, not the site's)
FAILURES = frozenset({FAILED, TIMED_OUT})
#: outcomes that say nothing about the site: not failures, not successes. A crashed run died
#: with its scheduler or its crawl process (recorded by the next leader, or killed by a signal
#: from outside): our machine's fault, not the source's, so it never flags a source failing.
NOT_JUDGED = frozenset({RUNNING, INTERRUPTED, MISSED, CRASHED, SKIPPED_DUPLICATE})

MANUAL = "manual"  # trigger of a `marsad crawl` run; the scheduler's are scheduled|overdue|first
#: set by the scheduler in its crawl processes' environment: their runs are recorded by it
SCHEDULED_BY_ENV = "MARSAD_SCHEDULED_BY"
HOST = socket.gethostname()

BLOCKED_KINDS = ("http_403", "http_429")
STORAGE = "storage"  # a crawl's finish reason when the database stopped it
_SUMMARY_LIMIT = 2000


@dataclass
class ProcessResult:
    """What came back from one ``python -m crawler crawl SOURCE --format json`` process."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    interrupted: bool = False  # the scheduler stopped it (shutdown, lost leadership)


@dataclass
class RunVerdict:
    outcome: str
    pages_fetched: int = 0
    articles_stored: int | None = None  # None: unknown, count the database instead
    errors: dict[str, int] = field(default_factory=dict)
    error_summary: str | None = None


def _tail(text: str, limit: int = 600) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    out = "\n".join(lines[-8:])
    return out[-limit:]


def _parse_summary(stdout: str, source: str) -> tuple[str | None, dict[str, Any] | None]:
    try:
        data = json.loads(stdout)
    except (ValueError, TypeError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    for item in data.get("sources") or ():
        if isinstance(item, dict) and item.get("source") == source:
            return str(data.get("finish_reason")), item
    return str(data.get("finish_reason")), None


def error_line(errors: Mapping[str, int]) -> str:
    return ", ".join(f"{kind} x{n}" for kind, n in sorted(errors.items(), key=lambda kv: -kv[1]))


def classify(result: ProcessResult, source: str) -> RunVerdict:
    """Turn a finished crawl process into an outcome, counts and a one-paragraph summary."""
    finish, summary = _parse_summary(result.stdout, source)
    verdict = RunVerdict(outcome=OK)
    if summary is not None:
        verdict.pages_fetched = int(summary.get("pages_fetched") or 0)
        verdict.articles_stored = int(summary.get("articles_stored") or 0)
        verdict.errors = {str(k): int(v) for k, v in (summary.get("errors") or {}).items()}
    notes: list[str] = []
    if result.timed_out:
        verdict.outcome = TIMED_OUT
        notes.append("killed at its time limit")
    elif result.interrupted:
        verdict.outcome = INTERRUPTED
        notes.append("stopped by the scheduler")
    elif result.exit_code is None or result.exit_code < 0 or summary is None:
        verdict.outcome = CRASHED
        how = (
            f"killed by signal {-result.exit_code}"
            if result.exit_code is not None and result.exit_code < 0
            else f"exit code {result.exit_code}, no JSON summary"
        )
        notes.append(how)
        if result.stderr.strip():
            notes.append(_tail(result.stderr))
    elif finish == "shutdown":
        verdict.outcome = INTERRUPTED
        notes.append("the crawl was shut down by a signal")
    elif summary.get("status") != "ok" or finish != "finished":
        verdict.outcome = FAILED
        if summary.get("status") != "ok":
            notes.append("none of the source's feeds, sitemaps or sections could be read")
        if finish == STORAGE:
            notes.append("the database stayed unreachable: articles not stored (storage)")
        elif finish != "finished":
            notes.append(f"finish_reason={finish}")
    if verdict.errors:
        notes.append("errors: " + error_line(verdict.errors))
    verdict.error_summary = "; ".join(notes)[:_SUMMARY_LIMIT] or None
    return verdict


# --------------------------------------------------------------------------- recording


def start_run(
    session: Session,
    source: str,
    *,
    trigger: str,
    scheduled_for: datetime | None,
    scheduler: str | None,
    host: str | None,
    started_at: datetime | None = None,
) -> CrawlRun:
    run = CrawlRun(
        source=source,
        trigger=trigger,
        scheduled_for=scheduled_for,
        started_at=started_at or datetime.now(UTC),
        outcome=RUNNING,
        pages_fetched=0,
        articles_stored=0,
        errors_total=0,
        errors={},
        scheduler=scheduler,
        host=host,
    )
    session.add(run)
    session.flush()
    return run


def articles_stored_between(session: Session, source: str, start: datetime, end: datetime) -> int:
    """Articles of *source* fetched in [start, end]: the yield of a run that left no summary."""
    return int(
        session.scalar(
            select(func.count(Article.id)).where(
                Article.source == source, Article.fetched_at >= start, Article.fetched_at <= end
            )
        )
        or 0
    )


def finish_run(
    session: Session,
    run: CrawlRun,
    verdict: RunVerdict,
    *,
    exit_code: int | None,
    finished_at: datetime | None = None,
) -> CrawlRun:
    run.finished_at = finished_at or datetime.now(UTC)
    run.outcome = verdict.outcome
    run.exit_code = exit_code
    run.pages_fetched = verdict.pages_fetched
    stored = verdict.articles_stored
    if stored is None:
        stored = articles_stored_between(
            session, run.source, as_utc(run.started_at), run.finished_at
        )
    run.articles_stored = stored
    run.errors = dict(verdict.errors)
    run.errors_total = sum(verdict.errors.values())
    run.error_summary = verdict.error_summary
    session.flush()
    return run


def stored_since(session: Session, since: datetime) -> bool:
    """Whether a run that ended after *since* stored articles."""
    found = session.scalar(
        select(CrawlRun.id)
        .where(CrawlRun.finished_at > since, CrawlRun.articles_stored > 0)
        .limit(1)
    )
    return found is not None


def running_runs(session: Session) -> list[CrawlRun]:
    return list(session.scalars(select(CrawlRun).where(CrawlRun.outcome == RUNNING)))


def missed_run(
    session: Session, source: str, *, due: datetime | None, at: datetime, reason: str,
    trigger: str, scheduler: str | None,
) -> CrawlRun:  # fmt: skip
    """Record a run that was due at *due* but could not start at *at* (never ran)."""
    run = start_run(
        session, source, trigger=trigger, scheduled_for=due, scheduler=scheduler, host=HOST,
        started_at=at,
    )  # fmt: skip
    run.outcome = MISSED
    run.finished_at = at
    run.error_summary = reason[:_SUMMARY_LIMIT]
    session.flush()
    return run


def last_started(session: Session, sources: Iterable[str] | None = None) -> dict[str, datetime]:
    """Latest start of a scheduled run per source: what the next due time counts from.

    Any attempt counts (a failed run is a run), but not a manual `marsad crawl` (it does not
    shift the schedule) nor a run that was missed or skipped as a duplicate (it never started).
    """
    query = (
        select(CrawlRun.source, func.max(CrawlRun.started_at))
        .where(CrawlRun.trigger != MANUAL, CrawlRun.outcome.not_in(NEVER_STARTED))
        .group_by(CrawlRun.source)
    )
    if sources is not None:
        query = query.where(CrawlRun.source.in_(list(sources)))
    return {source: as_utc(when) for source, when in session.execute(query)}


def recent_runs(
    session: Session, source: str | Iterable[str] | None = None, limit: int = 20
) -> list[CrawlRun]:
    """Newest first."""
    query = select(CrawlRun).order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
    if isinstance(source, str):
        query = query.where(CrawlRun.source == source)
    elif source is not None:
        query = query.where(CrawlRun.source.in_(list(source)))
    return list(session.scalars(query.limit(limit)))


def run_to_dict(run: CrawlRun) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return as_utc(value).isoformat() if value is not None else None

    duration = None
    if run.finished_at is not None:
        duration = round((as_utc(run.finished_at) - as_utc(run.started_at)).total_seconds(), 3)
    return {
        "id": run.id,
        "source": run.source,
        "trigger": run.trigger,
        "scheduled_for": iso(run.scheduled_for),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "duration_seconds": duration,
        "outcome": run.outcome,
        "exit_code": run.exit_code,
        "pages_fetched": run.pages_fetched,
        "articles_stored": run.articles_stored,
        "errors_total": run.errors_total,
        "errors": dict(run.errors or {}),
        "error_summary": run.error_summary,
        "scheduler": run.scheduler,
        "host": run.host,
        "pid": run.pid,
    }


# --------------------------------------------------------------------------- manual crawls


def pid_alive(pid: int) -> bool:
    """Whether process *pid* on this host exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[-1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def run_is_live(run: CrawlRun) -> bool:
    """A ``running`` row whose process still runs (on another host: assumed to, we cannot see)."""
    if run.host != HOST:
        return True
    return run.pid is not None and pid_alive(run.pid)


class SourceBusy(Exception):
    """A manual crawl of a source that is being crawled right now."""


class CrawlOutcome(Protocol):
    """What a crawl returns (crawler.crawl.report.CrawlResult): the JSON summary, and ok."""

    @property
    def ok(self) -> bool: ...

    def to_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=CrawlOutcome)


def _refuse_busy(session: Session, sources: Sequence[str]) -> None:
    busy = [
        run
        for run in running_runs(session)
        if run.source in sources and run.pid != os.getpid() and run_is_live(run)
    ]
    if busy:
        described = "; ".join(
            f"{run.source} is being crawled by run {run.id} (trigger {run.trigger}, started "
            f"{as_utc(run.started_at).isoformat(timespec='seconds')}, pid {run.pid} on {run.host})"
            for run in busy
        )
        raise SourceBusy(
            f"{described}. Wait for it to end (`marsad runs --source {busy[0].source}`), or "
            "crawl the other sources by name"
        )


def record_manual_crawl(db_url: str, sources: Sequence[str], crawl: Callable[[], R]) -> R:
    """Run *crawl* (a `marsad crawl` of *sources*) recorded in crawl_runs, trigger ``manual``.

    Refuses (:class:`SourceBusy`) when one of the sources has a live ``running`` run. A crawl
    started by the scheduler (``MARSAD_SCHEDULED_BY`` set) is recorded by the scheduler itself.
    Manual runs never shift the schedule (see :func:`last_started`).
    """
    if os.environ.get(SCHEDULED_BY_ENV):
        return crawl()
    engine = make_engine(db_url)
    try:
        with Session(engine) as session, session.begin():
            _refuse_busy(session, sources)
            ids = {
                key: start_run(
                    session, key, trigger=MANUAL, scheduled_for=None, scheduler=None, host=HOST
                ).id
                for key in sources
            }
            for run_id in ids.values():
                recorded = session.get(CrawlRun, run_id)
                assert recorded is not None
                recorded.pid = os.getpid()
        try:
            result = crawl()
        except BaseException as exc:
            outcome = INTERRUPTED if isinstance(exc, KeyboardInterrupt) else CRASHED
            note = f"the crawl stopped: {type(exc).__name__}: {exc}"
            _finish_all(engine, ids, lambda _key: RunVerdict(outcome, error_summary=note), None)
            raise
        summary = json.dumps(result.to_dict())
        exit_code = 0 if result.ok else 1
        process = ProcessResult(exit_code, summary, "")
        try:
            _finish_all(engine, ids, lambda key: classify(process, key), exit_code)
        except SQLAlchemyError as exc:
            # the crawl's own summary still matters more (a crawl the database stopped says
            # so); the row stays "running" with a dead pid: the next leader records it
            first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
            logger.warning(
                "the crawl could not be recorded in crawl_runs: %s",
                scrub(f"{type(exc).__name__}: {first}", db_url),
            )
        return result
    finally:
        engine.dispose()


def _finish_all(
    engine: Engine,
    ids: Mapping[str, int],
    verdict_for: Callable[[str], RunVerdict],
    exit_code: int | None,
) -> None:
    with Session(engine) as session, session.begin():
        for key, run_id in ids.items():
            run = session.get(CrawlRun, run_id)
            if run is not None and run.outcome == RUNNING:
                finish_run(session, run, verdict_for(key), exit_code=exit_code)
