"""Crawl run history: recording runs, classifying how a crawl process ended.

The database, not an in-memory job store, is the scheduler's memory: a source's next run is
due (``Source.schedule.next_due``) after its latest recorded start (:func:`last_started`), so
after any downtime an overdue source runs once, promptly, however many slots it missed.
Functions take a Session and never commit it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.db import Article, CrawlRun, as_utc

logger = logging.getLogger(__name__)

RUNNING = "running"
OK = "ok"
FAILED = "failed"
TIMED_OUT = "timed_out"
INTERRUPTED = "interrupted"
CRASHED = "crashed"
#: outcomes that count against a source's health (interrupted is our doing, not the site's)
FAILURES = frozenset({FAILED, TIMED_OUT, CRASHED})

BLOCKED_KINDS = ("http_403", "http_429")
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
        if finish != "finished":
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


def running_runs(session: Session) -> list[CrawlRun]:
    return list(session.scalars(select(CrawlRun).where(CrawlRun.outcome == RUNNING)))


def last_started(session: Session, sources: Iterable[str] | None = None) -> dict[str, datetime]:
    """Latest recorded start per source (any outcome: an attempt counts as a run)."""
    query = select(CrawlRun.source, func.max(CrawlRun.started_at)).group_by(CrawlRun.source)
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
    }
