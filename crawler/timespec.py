"""`--since` / `--until` values: an age back from now ("90m", "24h", "7d", "2w", "1h30m") or an
ISO date or datetime (naive means UTC). Shared by every command that filters by time."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import click

from crawler.config import parse_interval

_WEEKS_RE = re.compile(r"^\s*(\d+)\s*w\s*$", re.IGNORECASE)
HELP = "a date (2024-05-01), a date and time (2024-05-01T08:00) or an age (90m, 24h, 7d, 2w)"


def parse_age(text: str) -> timedelta:
    """'2w', '7d', '24h', '90m', '1h30m' -> a timedelta. Raises ValueError."""
    weeks = _WEEKS_RE.match(text)
    return timedelta(weeks=int(weeks.group(1))) if weeks else parse_interval(text)


def parse_since(
    text: str | None, now: datetime | None = None, *, end: bool = False
) -> datetime | None:
    """The moment *text* names, in UTC; None for an empty value. Raises ValueError.

    With *end*, a bare date means the end of that day (``--until 2024-05-31`` includes the 31st).
    """
    if text is None or not text.strip():
        return None
    text = text.strip()
    try:
        return (now or datetime.now(UTC)) - parse_age(text)
    except ValueError:
        pass
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected {HELP}, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class When(click.ParamType):
    """A click parameter type for --since/--until that turns bad values into usage errors."""

    name = "DATE|AGE"

    def __init__(self, *, end: bool = False):
        self.end = end

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value is None or isinstance(value, datetime):
            return value
        try:
            return parse_since(str(value), end=self.end)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
