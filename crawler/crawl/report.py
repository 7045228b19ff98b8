"""Per-source crawl counters (kept in Scrapy's stats) and the summary built from them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

PREFIX = "marsad"


class StatsLike(Protocol):
    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None: ...


def count(stats: StatsLike | None, source: str, name: str, n: int = 1) -> None:
    """Add *n* to a per-source counter: ``count(stats, "hespress-ar", "rejected/listing")``."""
    if stats is not None:
        stats.inc_value(f"{PREFIX}/{source}/{name}", n)


@dataclass
class SourceSummary:
    source: str
    pages_fetched: int = 0
    articles_stored: int = 0
    stories_new: int = 0  # stored articles that opened a story
    story_copies: int = 0  # stored articles that joined an existing story (syndicated copies)
    articles_updated: int = 0  # stored URLs fetched again with changed text (versions kept)
    duplicates: int = 0
    known_skipped: int = 0
    refetched: int = 0  # stored URLs fetched again because their feed/sitemap date moved on
    offsite: int = 0
    robots_blocked: int = 0
    denied: int = 0  # links a deny pattern excluded
    pattern_skipped: int = 0  # links that matched none of the source's article patterns
    entry_points_ok: int = 0
    entry_points_failed: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """A source fails when none of its feeds, sitemaps or section pages could be read."""
        return self.entry_points_ok == 0

    @property
    def status(self) -> str:
        return "failed" if self.failed else "ok"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}


_SCALARS = {
    "pages_fetched",
    "articles_stored",
    "stories_new",
    "story_copies",
    "articles_updated",
    "duplicates",
    "known_skipped",
    "refetched",
    "offsite",
    "robots_blocked",
    "denied",
    "pattern_skipped",
    "entry_points_ok",
    "entry_points_failed",
}


def summarize(stats: Mapping[str, Any], sources: Iterable[str]) -> list[SourceSummary]:
    """One summary per source, in the given order, from a Scrapy stats dict."""
    summaries = {key: SourceSummary(key) for key in sources}
    for stat, value in stats.items():
        parts = stat.split("/", 2)
        if len(parts) != 3 or parts[0] != PREFIX or parts[1] not in summaries:
            continue
        summary, name = summaries[parts[1]], parts[2]
        if name in _SCALARS:
            setattr(summary, name, int(value))
        elif name.startswith(("rejected/", "errors/")):
            group, _, reason = name.partition("/")
            getattr(summary, group)[reason] = int(value)
    return list(summaries.values())


@dataclass
class CrawlResult:
    sources: list[SourceSummary]
    started: datetime
    elapsed: float
    finish_reason: str

    @property
    def ok(self) -> bool:
        return self.finish_reason == "finished" and not any(s.failed for s in self.sources)

    def to_dict(self) -> dict[str, Any]:
        return {
            "started": self.started.isoformat(),
            "elapsed_seconds": round(self.elapsed, 3),
            "finish_reason": self.finish_reason,
            "ok": self.ok,
            "sources": [summary.to_dict() for summary in self.sources],
        }
