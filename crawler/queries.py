"""Read-side queries. Each takes a Session and never commits it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.db import Article


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
