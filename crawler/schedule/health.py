"""Source health from the run history, and the alerting hook health problems are handed to.

``assess`` reads recent runs and says, per source: last success, consecutive failures, the
last run's yield against the usual (median of recent successful runs) and flags:

failing     the last ``failing_after`` finished runs failed or timed out (a crashed run,
            dead with its scheduler or crawl process, is not the source's doing: skipped)
blocked     the last run met HTTP 403/429 answers (challenge pages are counted as those)
zero_yield  the last successful run stored nothing while the source usually does
overdue     no scheduled run started well after the source was due
never_ran   no run of the source was ever recorded (scheduled or manual)

Manual runs (`marsad crawl`, trigger ``manual``) count for the last run and the last success,
never for the next due time: they do not shift the schedule.

Alerts go to every registered ``Notifier``; the default one logs at WARNING. Other channels
(e-mail digests, chat) plug in with ``register_notifier``.
"""

from __future__ import annotations

import logging
import statistics
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session

from crawler.config import Source, format_duration
from crawler.db import CrawlRun, as_utc
from crawler.schedule import runs

logger = logging.getLogger(__name__)

FAILING, BLOCKED, ZERO_YIELD, OVERDUE = "failing", "blocked", "zero_yield", "overdue"
NEVER_RAN = "never_ran"
#: the daemon's own alert while the database is unreachable (source "database")
UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class HealthPolicy:
    failing_after: int = 2  # consecutive failed runs
    blocked_min: int = 3  # 403/429 answers in the last run (any number when the run failed)
    usual_window: int = 10  # successful runs the usual yield is the median of
    min_usual_yield: float = 1.0  # a source "normally publishes" at this median or above
    overdue_grace: timedelta = timedelta(minutes=15)  # plus half a period


@dataclass
class SourceHealth:
    source: str
    enabled: bool
    schedule: str
    last_run_at: datetime | None = None
    last_outcome: str | None = None
    last_host: str | None = None  # where the last run ran (worker or scheduler machine)
    last_pid: int | None = None  # its crawl process
    last_success_at: datetime | None = None
    consecutive_failures: int = 0
    last_articles: int | None = None
    usual_articles: float | None = None
    last_blocked: int = 0
    next_due: datetime | None = None
    flags: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("last_run_at", "last_success_at", "next_due"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data


def assess_source(
    source: Source,
    history: Sequence[CrawlRun],
    now: datetime,
    policy: HealthPolicy = HealthPolicy(),
) -> SourceHealth:
    """Health of one source from its runs, newest first."""
    health = SourceHealth(source.key, source.enabled, source.schedule.describe())
    if history:
        health.last_run_at = as_utc(history[0].started_at)
        health.last_outcome = history[0].outcome
        health.last_host = history[0].host
        health.last_pid = history[0].pid
    scheduled = [
        r for r in history if r.trigger != runs.MANUAL and r.outcome not in runs.NEVER_STARTED
    ]
    if scheduled:
        health.next_due = source.schedule.next_due(as_utc(scheduled[0].started_at), now)
    finished = [r for r in history if r.outcome not in runs.NOT_JUDGED]
    for run in finished:
        if run.outcome in runs.FAILURES:
            health.consecutive_failures += 1
        else:
            break
    successes = [r for r in finished if r.outcome == runs.OK]
    if successes:
        health.last_success_at = as_utc(successes[0].started_at)
    if finished:
        last = finished[0]
        health.last_articles = last.articles_stored
        health.last_blocked = sum((last.errors or {}).get(k, 0) for k in runs.BLOCKED_KINDS)
    previous = [r.articles_stored for r in successes[1 : policy.usual_window + 1]]
    if previous:
        health.usual_articles = float(statistics.median(previous))
    if not source.enabled:
        return health

    def flag(name: str, reason: str) -> None:
        health.flags.append(name)
        health.reasons[name] = reason

    if health.consecutive_failures >= policy.failing_after:
        flag(
            FAILING,
            f"{health.consecutive_failures} failed runs in a row (last: {finished[0].outcome}"
            + (f": {finished[0].error_summary}" if finished[0].error_summary else "")
            + ")",
        )
    if finished and health.last_blocked:
        last = finished[0]
        if health.last_blocked >= policy.blocked_min or last.outcome in runs.FAILURES:
            flag(BLOCKED, f"{health.last_blocked} HTTP 403/429 answers in the last run")
    if (
        successes
        and finished
        and finished[0].outcome == runs.OK
        and finished[0].articles_stored == 0
        and health.usual_articles is not None
        and health.usual_articles >= policy.min_usual_yield
    ):
        flag(
            ZERO_YIELD,
            f"the last run stored no article; usually {health.usual_articles:g}",
        )
    if not history:
        flag(NEVER_RAN, "no run recorded yet (start `marsad schedule` or run `marsad crawl`)")
    if health.next_due is not None and scheduled[0].outcome != runs.RUNNING:
        late = now - health.next_due
        if late > policy.overdue_grace + source.schedule.period / 2:
            flag(OVERDUE, f"due since {health.next_due.isoformat()} ({format_duration(late)} late)")
    return health


def assess(
    session: Session,
    sources: Iterable[Source],
    now: datetime | None = None,
    policy: HealthPolicy = HealthPolicy(),
    history: int = 30,
) -> list[SourceHealth]:
    now = now or datetime.now(UTC)
    return [
        assess_source(source, runs.recent_runs(session, source.key, history), now, policy)
        for source in sources
    ]


# --------------------------------------------------------------------------- alerting


@dataclass(frozen=True)
class HealthAlert:
    source: str
    flag: str  # FAILING, BLOCKED, ZERO_YIELD, OVERDUE, NEVER_RAN (or UNREACHABLE)
    message: str
    at: datetime
    health: SourceHealth | None = None


class Notifier(Protocol):
    def notify(self, alerts: Sequence[HealthAlert]) -> None: ...


class LogNotifier:
    """The default notifier: one WARNING line per alert."""

    def notify(self, alerts: Sequence[HealthAlert]) -> None:
        for alert in alerts:
            logger.warning("health: %s is %s: %s", alert.source, alert.flag, alert.message)


_notifiers: list[Notifier] = [LogNotifier()]
_lock = threading.Lock()


def register_notifier(notifier: Notifier) -> None:
    with _lock:
        _notifiers.append(notifier)


def unregister_notifier(notifier: Notifier) -> None:
    with _lock:
        if notifier in _notifiers:
            _notifiers.remove(notifier)


def notify(alerts: Sequence[HealthAlert]) -> None:
    """Hand *alerts* to every notifier; one failing notifier does not silence the others."""
    if not alerts:
        return
    with _lock:
        notifiers = list(_notifiers)
    for notifier in notifiers:
        try:
            notifier.notify(alerts)
        except Exception:
            logger.exception("notifier %r failed", notifier)


class AlertTracker:
    """Turns repeated health checks into alerts for flags that are new since the last check."""

    def __init__(self) -> None:
        self._active: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def update(self, healths: Iterable[SourceHealth], now: datetime) -> list[HealthAlert]:
        alerts = []
        with self._lock:
            for health in healths:
                before = self._active.get(health.source, set())
                now_flags = set(health.flags)
                for name in health.flags:
                    if name not in before:
                        alerts.append(
                            HealthAlert(health.source, name, health.reasons[name], now, health)
                        )
                for name in sorted(before - now_flags):
                    logger.info("health: %s is no longer %s", health.source, name)
                self._active[health.source] = now_flags
        return alerts
