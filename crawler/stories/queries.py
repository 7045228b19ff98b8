"""Read-side queries. Each takes a Session and never commits it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.db import Article, Story


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
                "published_at": article.published_at.isoformat() if article.published_at else None,
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
