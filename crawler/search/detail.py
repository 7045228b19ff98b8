"""One stored article beyond :func:`crawler.search.article_detail`: its earlier versions and
the page as fetched. Functions take a Session and never commit it."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.db import Article, ArticleRaw, ArticleVersion, as_utc, publisher_time

__all__ = ["MAX_RAW_BYTES", "RawPage", "article_versions", "raw_page"]

#: a raw page is shown up to this many bytes once decompressed (pages were size-limited when
#: fetched; this bounds what a corrupt or hostile row can cost)
MAX_RAW_BYTES = 8 * 1024 * 1024


def _published(value: datetime | None, offset: int | None) -> str | None:
    return publisher_time(value, offset).isoformat() if value is not None else None


def article_versions(session: Session, article_id: int) -> list[dict[str, Any]]:
    """Every text the article has had, oldest first, the current one last (``current``); empty
    for an unknown article. Each: version, title, text, published_at (publisher's offset),
    fetched_at (UTC)."""
    current = session.execute(
        select(
            Article.version,
            Article.title,
            Article.text,
            Article.published_at,
            Article.published_offset,
            Article.fetched_at,
            Article.updated_at,
        ).where(Article.id == article_id)
    ).first()
    if current is None:
        return []
    older = session.execute(
        select(
            ArticleVersion.version,
            ArticleVersion.title,
            ArticleVersion.text,
            ArticleVersion.published_at,
            ArticleVersion.published_offset,
            ArticleVersion.fetched_at,
        )
        .where(ArticleVersion.article_id == article_id)
        .order_by(ArticleVersion.version)
    )
    out = [
        {
            "version": row.version,
            "title": row.title,
            "text": row.text,
            "published_at": _published(row.published_at, row.published_offset),
            "fetched_at": as_utc(row.fetched_at).isoformat(),
            "current": False,
        }
        for row in older
    ]
    fetched = current.updated_at or current.fetched_at
    out.append(
        {
            "version": current.version,
            "title": current.title,
            "text": current.text,
            "published_at": _published(current.published_at, current.published_offset),
            "fetched_at": as_utc(fetched).isoformat(),
            "current": True,
        }
    )
    return out


@dataclass(frozen=True)
class RawPage:
    text: str  # the page decoded with its stored encoding (undecodable bytes replaced)
    encoding: str
    content_type: str | None
    stored_bytes: int
    truncated: bool  # more than MAX_RAW_BYTES once decompressed: only the start is in text
    problem: str | None = None  # the stored bytes could not be decompressed


def raw_page(session: Session, article_id: int, max_bytes: int = MAX_RAW_BYTES) -> RawPage | None:
    """The page as fetched, decompressed (at most *max_bytes*) and decoded; None when no raw
    page is stored for the article."""
    row = session.execute(
        select(
            ArticleRaw.compression,
            ArticleRaw.encoding,
            ArticleRaw.content_type,
            ArticleRaw.content,
        ).where(ArticleRaw.article_id == article_id)
    ).first()
    if row is None:
        return None
    content = bytes(row.content or b"")
    problem = None
    if row.compression == "gzip":
        inflater = zlib.decompressobj(wbits=31)  # gzip header
        try:
            body = inflater.decompress(content, max_bytes + 1)
        except zlib.error as exc:
            body, problem = b"", f"the stored page does not decompress ({exc})"
    elif row.compression in ("none", "", None):
        body = content[: max_bytes + 1]
    else:
        body, problem = b"", f"unknown compression {row.compression!r}"
    truncated = len(body) > max_bytes
    encoding = row.encoding or "utf-8"
    try:
        text = body[:max_bytes].decode(encoding, errors="replace")
    except LookupError:
        encoding = "utf-8"
        text = body[:max_bytes].decode(encoding, errors="replace")
    return RawPage(text, encoding, row.content_type, len(content), truncated, problem)
