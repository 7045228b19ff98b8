"""Formatting shared by the stories, article, topics and sources pages: dates as the analyst
reads them (the publisher's local time with its offset; UTC said so), durations, numbers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from crawler.config import format_duration
from crawler.db import as_utc


def local_when(iso: str | None, *, with_time: bool = True) -> str:
    """A publication time as the library gives it (ISO, in the publisher's offset): "2024-05-20
    12:30 +01:00"; "-" when unknown."""
    if not iso:
        return "-"
    value = datetime.fromisoformat(iso)
    if not with_time:
        return value.strftime("%Y-%m-%d")
    offset = value.strftime("%z")
    offset = "UTC" if offset in ("", "+0000") else f"{offset[:3]}:{offset[3:]}"
    return f"{value:%Y-%m-%d %H:%M} {offset}"


def utc_when(value: datetime | str | None) -> str:
    """A time of Marsad's own (fetched, seen, run): "2024-05-20 11:30 UTC"; "-" when unknown."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f"{as_utc(value):%Y-%m-%d %H:%M} UTC"


def duration(seconds: float | None) -> str:
    """ "2h15m", "40s", "-" when unknown."""
    if seconds is None:
        return "-"
    return format_duration(timedelta(seconds=round(seconds)))


def number(value: float | int | None, digits: int = 0) -> str:
    """Thousands separated: 12,345 (or 1.25 with *digits*); "-" when unknown."""
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def outlet_names(config: Any) -> dict[str, dict[str, str]]:
    """source key -> its name and language from sources.toml (for ``story_outlet.html``)."""
    return {s.key: {"name": s.name, "lang": s.lang} for s in config.sources}
