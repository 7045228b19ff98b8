"""Yield per day: the articles each source's recorded runs stored, day by day (UTC).

Read from ``crawl_runs`` (the counts the health flags judge, ``articles_stored`` per run), so the
chart of a source and its ``zero_yield`` flag tell the same story. Takes a Session, never
commits it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.db import CrawlRun, as_utc

MAX_DAYS = 366


def daily_yield(
    session: Session, sources: Sequence[str], days: int = 30, now: datetime | None = None
) -> tuple[list[str], dict[str, list[int]]]:
    """(the last *days* UTC days oldest first, source -> articles stored on each of them).

    Every source of *sources* gets a value for every day, zeros included; runs of other sources
    are left out. A run counts on the day it started.
    """
    days = max(1, min(days, MAX_DAYS))
    today = as_utc(now or datetime.now(UTC)).date()
    first = today - timedelta(days=days - 1)
    labels = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    where = {label: i for i, label in enumerate(labels)}
    counts = {source: [0] * days for source in sources}
    if not sources:
        return labels, counts
    rows = session.execute(
        select(CrawlRun.source, CrawlRun.started_at, CrawlRun.articles_stored).where(
            CrawlRun.source.in_(list(sources)),
            CrawlRun.started_at >= datetime.combine(first, time(), tzinfo=UTC),
        )
    )
    for source, started_at, stored in rows:
        slot = where.get(as_utc(started_at).date().isoformat())
        if slot is not None and stored:
            counts[source][slot] += int(stored)
    return labels, counts
