"""Read-side queries. Each takes a Session and never commits it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.db import Article, Story, as_utc, publisher_time


def articles_with_topics(
    session: Session, sources: Sequence[str] | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Stored articles, newest first, as plain dicts with their topic scores."""
    query = select(Article).order_by(Article.published_at.desc().nulls_last(), Article.id)
    if sources:
        query = query.where(Article.source.in_(sources))
    rows = []
    for article in session.scalars(query.limit(limit)):
        rows.append(
            {
                "id": article.id,
                "source": article.source,
                "url": article.url,
                "title": article.title,
                "published_at": _published_iso(article.published_at, article.published_offset),
                "date_source": article.date_source,
                "language": article.language,
                "topics": {t.topic: round(t.score, 2) for t in article.topics},
            }
        )
    return rows


def largest_stories(
    session: Session, since: datetime | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """Stories active since *since* with the most copies first, with outlets and canonical title.

    A story is "active" when a copy joined it (or it opened) at or after *since*.
    """
    query = select(Story).order_by(Story.article_count.desc(), Story.updated_at.desc(), Story.id)
    if since is not None:
        query = query.where(Story.updated_at >= since)
    stories = list(session.scalars(query.limit(limit)))
    canonical_ids = [s.canonical_article_id for s in stories if s.canonical_article_id]
    canonical = {
        row.id: row
        for row in session.execute(
            select(Article.id, Article.title, Article.url, Article.source).where(
                Article.id.in_(canonical_ids)
            )
        )
    }
    rows = []
    for story in stories:
        head = canonical.get(story.canonical_article_id or -1)
        rows.append(
            {
                "id": story.id,
                "articles": story.article_count,
                "sources": list(story.sources),
                "first_published_at": (
                    story.first_published_at.isoformat() if story.first_published_at else None
                ),
                "updated_at": story.updated_at.isoformat(),
                "canonical_article_id": story.canonical_article_id,
                "title": head.title if head else None,
                "url": head.url if head else None,
                "canonical_source": head.source if head else None,
            }
        )
    return rows


# --------------------------------------------------------------------------- recent stories
#
# "Recent" is by when Marsad first saw a story (``stories.created_at``), never by the
# publishers' dates: a story backfilled from an old archive is not news today. The order of the
# copies, and the time from the first to the last copy, are by publication time (fetch time
# for a copy whose page gave no date): who carried it first.

STORY_ORDERS = ("largest", "fastest")
#: a story seen for less than this counts as seen for this long (outlets per hour stays finite)
MIN_SPREAD_HOURS = 1.0
#: fastest-spreading: the outlets-per-hour order is computed over at most this many stories
#: (the largest of the window), so the work stays bounded however many stories it holds
SPREAD_CANDIDATES = 2_000
#: characters of each copy's text shown on a story page (the lead, not the article)
LEAD_CHARS = 400
MAX_COPIES = 200


def _iso_utc(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def _published_iso(value: datetime | None, offset: int | None) -> str | None:
    """A publication time in the publisher's own offset (its first ten characters: their day)."""
    return publisher_time(value, offset).isoformat() if value is not None else None


def _copy_when() -> Any:
    return func.coalesce(Article.published_at, Article.fetched_at)


def _copy_order() -> tuple[Any, ...]:
    return (_copy_when(), Article.id)


def outlets_per_hour(outlets: int, first_seen: datetime, now: datetime) -> float:
    """How fast a story spread: outlets that carried it per hour since Marsad first saw it
    (at least :data:`MIN_SPREAD_HOURS`)."""
    hours = max((as_utc(now) - as_utc(first_seen)).total_seconds() / 3600, MIN_SPREAD_HOURS)
    return outlets / hours


def _outlets(story: Story) -> int:
    return len(set(story.sources or ()))


def _spread(copies: Sequence[Any]) -> dict[str, Any]:
    """Outlets in the order they carried the story, and its first and last copy's times."""
    outlets = list(dict.fromkeys(row.source for row in copies))
    times = [as_utc(row.when) for row in copies if row.when is not None]
    first, last = (min(times), max(times)) if times else (None, None)
    return {
        "outlets": outlets,
        "first_copy_at": _iso_utc(first),
        "last_copy_at": _iso_utc(last),
        "spread_seconds": (last - first).total_seconds() if first and last else None,
    }


def _copies_of(session: Session, story_ids: Sequence[int]) -> dict[int, list[Any]]:
    """story id -> its copies (id, source, when), first published first."""
    out: dict[int, list[Any]] = {story_id: [] for story_id in story_ids}
    if not story_ids:
        return out
    rows = session.execute(
        select(Article.story_id, Article.id, Article.source, _copy_when().label("when"))
        .where(Article.story_id.in_(story_ids))
        .order_by(Article.story_id, *_copy_order())
    )
    for row in rows:
        out[row.story_id].append(row)
    return out


def _heads(session: Session, article_ids: Sequence[int]) -> dict[int, Any]:
    if not article_ids:
        return {}
    rows = session.execute(
        select(
            Article.id,
            Article.title,
            Article.url,
            Article.source,
            Article.language,
            Article.published_at,
            Article.published_offset,
        ).where(Article.id.in_(article_ids))
    )
    return {row.id: row for row in rows}


def _head_dict(head: Any) -> dict[str, Any] | None:
    if head is None:
        return None
    return {
        "id": head.id,
        "title": head.title,
        "url": head.url,
        "source": head.source,
        "language": head.language,
        "published_at": _published_iso(head.published_at, head.published_offset),
    }


def _story_row(story: Story, copies: Sequence[Any], head: Any, now: datetime) -> dict[str, Any]:
    spread = _spread(copies)
    return {
        "id": story.id,
        "copies": story.article_count,
        "first_seen_at": _iso_utc(story.created_at),
        "last_joined_at": _iso_utc(story.updated_at),
        "outlets_per_hour": round(outlets_per_hour(_outlets(story), story.created_at, now), 3),
        **spread,
        "canonical": _head_dict(head),
    }


def recent_stories(
    session: Session,
    since: datetime,
    *,
    order: str = "largest",
    limit: int = 20,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Stories Marsad first saw at or after *since*: the largest (most copies) or the fastest
    spreading (outlets per hour since first seen; stories of one outlet are not spreading).

    Each row has the story's canonical copy, its outlets in the order they carried it and the
    time from its first to its last copy.
    """
    if order not in STORY_ORDERS:
        raise ValueError(f"order must be one of {STORY_ORDERS}, not {order!r}")
    now = as_utc(now or datetime.now(UTC))
    since = as_utc(since)
    # created_at <= updated_at always: the indexed updated_at narrows the scan
    query = select(Story).where(Story.updated_at >= since, Story.created_at >= since)
    query = query.order_by(Story.article_count.desc(), Story.created_at.desc(), Story.id.desc())
    if order == "largest":
        stories = list(session.scalars(query.limit(limit)))
    else:
        candidates = session.scalars(
            query.where(Story.article_count >= 2).limit(SPREAD_CANDIDATES)
        ).all()
        spreading = [s for s in candidates if _outlets(s) >= 2]
        spreading.sort(key=lambda s: (-outlets_per_hour(_outlets(s), s.created_at, now), -s.id))
        stories = spreading[:limit]
    copies = _copies_of(session, [s.id for s in stories])
    heads = _heads(session, [s.canonical_article_id for s in stories if s.canonical_article_id])
    return [
        _story_row(s, copies[s.id], heads.get(s.canonical_article_id or -1), now) for s in stories
    ]


def _lead(text: str, cut: bool) -> str:
    """The start of a text, ended at a word boundary when it was cut."""
    if not cut:
        return text
    head, space, _tail = text.rpartition(" ")
    return head if space and len(head) > len(text) // 2 else text


def story_detail(
    session: Session,
    story_id: int,
    *,
    lead_chars: int = LEAD_CHARS,
    max_copies: int = MAX_COPIES,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """One story with its copies in the order they were published (at most *max_copies*; the
    outlets and times count every copy): outlet, language, the publisher's local date, title,
    URL and the first *lead_chars* characters of the text."""
    story = session.get(Story, story_id)
    if story is None:
        return None
    now = as_utc(now or datetime.now(UTC))
    spine = _copies_of(session, [story_id])[story_id]
    rows = session.execute(
        select(
            Article.id,
            Article.source,
            Article.language,
            Article.title,
            Article.url,
            Article.published_at,
            Article.published_offset,
            Article.fetched_at,
            func.substr(Article.text, 1, lead_chars).label("lead"),
            func.length(Article.text).label("text_chars"),
        )
        .where(Article.story_id == story_id)
        .order_by(*_copy_order())
        .limit(max_copies)
    )
    copies = [
        {
            "id": row.id,
            "source": row.source,
            "language": row.language,
            "title": row.title,
            "url": row.url,
            "published_at": _published_iso(row.published_at, row.published_offset),
            "fetched_at": _iso_utc(row.fetched_at),
            "lead": _lead(row.lead or "", (row.text_chars or 0) > lead_chars),
            "truncated": (row.text_chars or 0) > lead_chars,
            "canonical": row.id == story.canonical_article_id,
        }
        for row in rows
    ]
    head = _heads(session, [story.canonical_article_id] if story.canonical_article_id else [])
    out = _story_row(story, spine, head.get(story.canonical_article_id or -1), now)
    out["copies_shown"] = len(copies)
    out["articles"] = copies
    return out
