"""Database outages as the scheduler sees them: one log line per change of state, and backoff.

``DatabaseWatch.down(exc)`` is called by whatever met the failure; the first call of an outage
logs ``database unreachable: <url, password masked>: <reason>; retrying every 1s, doubling up
to 60s`` and hands a health alert to the notifiers; ``up()`` logs ``database reachable again
after ...`` once. ``next_delay()`` gives the capped exponential backoff between attempts.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from crawler.config import format_duration
from crawler.db import is_unreachable, safe_url, scrub
from crawler.schedule import health

logger = logging.getLogger(__name__)

FIRST_DELAY = 1.0
MAX_DELAY = 60.0


def reason(exc: BaseException, url: str) -> str:
    """The first line of the driver's message, any URL password masked."""
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return scrub(lines[0] if lines else type(original).__name__, url)


class DatabaseWatch:
    """Whether the database is reachable, as last seen; thread-safe."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._since: float | None = None  # monotonic start of the outage
        self.since_at: datetime | None = None
        self.reason: str | None = None
        self._delay = FIRST_DELAY

    @property
    def is_down(self) -> bool:
        return self._since is not None

    def down(self, exc: BaseException) -> None:
        with self._lock:
            if self._since is not None:
                return
            self._since = time.monotonic()
            self.since_at = datetime.now(UTC)
            self.reason = reason(exc, self.url)
            self._delay = FIRST_DELAY
        where = f"{safe_url(self.url)}: {self.reason}"
        logger.error(
            "database unreachable: %s; retrying every %gs, doubling up to %gs",
            where,
            FIRST_DELAY,
            MAX_DELAY,
        )
        alert = health.HealthAlert("database", health.UNREACHABLE, where, self.since_at)
        health.notify([alert])

    def up(self) -> timedelta | None:
        """Mark the database reachable; how long the outage lasted (None: there was none)."""
        with self._lock:
            if self._since is None:
                return None
            lasted = timedelta(seconds=time.monotonic() - self._since)
            self._since = self.since_at = self.reason = None
        logger.warning(
            "database reachable again after %s: %s", format_duration(lasted), safe_url(self.url)
        )
        return lasted

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt: 1, 2, 4 ... 60, 60 ..."""
        with self._lock:
            delay = self._delay
            self._delay = min(self._delay * 2, MAX_DELAY)
        return delay

    def check(self, exc: BaseException) -> bool:
        """Record *exc* as an outage if it is one; returns whether it was."""
        if isinstance(exc, SQLAlchemyError) and is_unreachable(exc):
            self.down(exc)
            return True
        return False
