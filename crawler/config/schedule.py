"""When something runs: a fixed interval or the slots of a crontab, parsed once at load time.

A :class:`Schedule` is built when the configuration loads (a source's ``interval`` or
``cron``, an alert rule's ``schedule``) and is the only place a schedule is interpreted:
due times (:meth:`Schedule.next_due`, :meth:`Schedule.next_fire`), the nominal gap between
runs (:attr:`Schedule.period`), the APScheduler trigger and the text people read
(:meth:`Schedule.describe`). Durations are written and shown in one notation: "90s", "15m",
"1h30m", "1d".

APScheduler is imported only when a crontab is parsed, so loading a configuration of
interval sources stays light.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

_INTERVAL_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
# The nominal period of a crontab is the median gap between its first slots after a fixed
# Monday midnight: the same answer whatever the time of day it is asked.
_PERIOD_FROM = datetime(2024, 1, 1, tzinfo=UTC)
_PERIOD_SLOTS = 64
_NEVER = timedelta(days=365)  # a crontab with no further slot is "due" this far ahead
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab numbering: Sunday = 0


def parse_interval(text: str) -> timedelta:
    """Parse "90s", "15m", "2h", "1d" or combinations like "1h30m". Raises ValueError."""
    match = _INTERVAL_RE.match(text.strip().lower())
    if not match or not any(match.groups()):
        raise ValueError(f"not an interval: {text!r}")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    delta = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if delta < timedelta(seconds=1):
        raise ValueError(f"interval must be at least 1s: {text!r}")
    return delta


def format_duration(delta: timedelta) -> str:
    """The inverse of :func:`parse_interval`: whole seconds as "1d2h", "15m", "0s"."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in _UNITS:
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def _weekday(token: str) -> int:
    name = token.strip().lower()
    if len(name) >= 3 and name[:3] in _WEEKDAYS:
        return _WEEKDAYS.index(name[:3])
    if name.isdigit() and int(name) <= 7:
        return int(name) % 7  # 0 and 7 are both Sunday
    raise ValueError(f"not a weekday: {token!r} (0-7, Sunday = 0 or 7, or sun..sat)")


def crontab_weekdays(spec: str) -> str:
    """A crontab day-of-week field as the day names APScheduler 3 reads the same way.

    APScheduler 3 counts weekday numbers from Monday = 0, crontab from Sunday = 0: handed
    over as written, "1-5" would run Tuesday to Saturday. Names mean one day to both.
    """
    if spec == "*":
        return spec
    days: set[int] = set()
    for item in spec.split(","):
        span, slash, step_text = item.partition("/")
        if slash and not (step_text.isdigit() and int(step_text) > 0):
            raise ValueError(f"not a weekday step: {item!r}")
        step = int(step_text) if slash else 1
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            low, _, high = span.partition("-")
            first, last = _weekday(low), _weekday(high)
            if last == 0 and first > 0:  # "5-7", "fri-sun": Sunday closes the week
                last = 7
            if first > last:
                raise ValueError(f"a weekday range runs from the earlier day: {item!r}")
        else:
            first = _weekday(span)
            last = 6 if slash else first
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(_WEEKDAYS[day] for day in sorted(days, key=lambda day: (day - 1) % 7))


def _crontab_fields(expr: str) -> str:
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"a crontab has 5 fields (minute hour day month weekday), got {expr!r}")
    return " ".join([*fields[:4], crontab_weekdays(fields[4])])


@dataclass(frozen=True)
class Schedule:
    """Every ``interval``, or at the slots of the 5-field crontab ``cron`` in ``timezone``.

    Exactly one of ``interval`` and ``cron`` is set. Building one parses the crontab; a bad
    expression raises ValueError with APScheduler's reason.
    """

    interval: timedelta | None = None
    cron: str | None = None
    timezone: str = "UTC"
    _trigger: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.interval is None) == (self.cron is None):
            raise ValueError("a schedule has either an interval or a cron expression")
        if self.interval is not None and self.interval <= timedelta(0):
            raise ValueError(f"interval must be positive: {self.interval}")
        if self.cron is not None:
            from apscheduler.triggers.cron import CronTrigger

            trigger = CronTrigger.from_crontab(
                _crontab_fields(self.cron), timezone=ZoneInfo(self.timezone)
            )
            object.__setattr__(self, "_trigger", trigger)

    @classmethod
    def every(cls, interval: timedelta) -> Schedule:
        return cls(interval=interval)

    @classmethod
    def crontab(cls, expr: str, timezone: str = "UTC") -> Schedule:
        return cls(cron=" ".join(expr.split()), timezone=timezone)

    def next_fire(self, moment: datetime) -> datetime | None:
        """The first crontab slot at or after *moment*, in UTC.

        None for an interval schedule (it has no fixed slots) and for a crontab that never
        fires again.
        """
        if self._trigger is None:
            return None
        fire = self._trigger.get_next_fire_time(None, moment.astimezone(self._trigger.timezone))
        return fire.astimezone(UTC) if fire is not None else None

    def next_due(self, latest_start: datetime | None, now: datetime) -> datetime:
        """When the next run should start, given the latest recorded start.

        Interval: one interval after the latest start, or *now* when it never ran. Crontab: the
        first slot after the latest start, or the next slot from *now* when it never ran. A
        result before *now* means overdue: the caller runs it once, now (missed slots
        coalesce).
        """
        if self.interval is not None:
            return now if latest_start is None else latest_start + self.interval
        after = latest_start + timedelta(microseconds=1) if latest_start is not None else now
        fire = self.next_fire(after)
        return fire if fire is not None else now + _NEVER

    @cached_property
    def period(self) -> timedelta:
        """The nominal gap between runs: the interval, or the crontab's median gap in UTC."""
        if self.interval is not None:
            return self.interval
        slots: list[datetime] = []
        moment: datetime | None = _PERIOD_FROM
        while moment is not None and len(slots) < _PERIOD_SLOTS:
            moment = self.next_fire(moment)
            if moment is not None:
                slots.append(moment)
                moment += timedelta(microseconds=1)
        gaps = sorted(b - a for a, b in itertools.pairwise(slots))
        return gaps[(len(gaps) - 1) // 2] if gaps else timedelta(days=1)  # the lower median

    def trigger(self, start: datetime) -> Any:
        """The APScheduler trigger firing this schedule (an interval counts from *start*)."""
        if self._trigger is not None:
            return self._trigger
        from apscheduler.triggers.interval import IntervalTrigger

        assert self.interval is not None
        return IntervalTrigger(seconds=self.interval.total_seconds(), start_date=start)

    def describe(self) -> str:
        """What people read: "every 15m", "cron */20 6-23 * * *", "cron 0 7 * * * (Africa/Tunis)"
        (the zone is named unless it is UTC)."""
        if self.interval is not None:
            return f"every {format_duration(self.interval)}"
        zone = f" ({self.timezone})" if self.timezone != "UTC" else ""
        return f"cron {self.cron}{zone}"
