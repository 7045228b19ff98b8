"""Writes articles: one short transaction each, idempotent under concurrent crawls."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crawler.db import Article, ArticleRaw, ArticleTopic, ArticleUrl, url_hash
from crawler.items import ArticleItem

logger = logging.getLogger(__name__)


class ArticleStore:
    def __init__(self, engine):  # type: ignore[no-untyped-def]
        self.engine = engine

    def find_duplicate(self, keys: Iterable[str], source: str, text_hash: str) -> int | None:
        """The stored article with one of these URL keys, or with the same text from this source."""
        hashes = [url_hash(key) for key in keys]
        with Session(self.engine) as session:
            found = session.scalar(
                select(ArticleUrl.article_id).where(ArticleUrl.url_hash.in_(hashes)).limit(1)
            )
            if found is None:
                found = session.scalar(
                    select(Article.id)
                    .where(Article.source == source, Article.content_hash == text_hash)
                    .limit(1)
                )
        return found

    def add_aliases(self, article_id: int, keys: Iterable[str]) -> None:
        """Remember more URLs of a stored article, so later crawls skip them before fetching."""
        with Session(self.engine) as session:
            for key in keys:
                if session.get(ArticleUrl, url_hash(key)) is None:
                    session.add(ArticleUrl(url_hash=url_hash(key), article_id=article_id))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()

    def save(self, item: ArticleItem) -> int | None:
        """Insert the article; None when another writer stored the same URL first."""
        extracted = item.extracted
        article = Article(
            source=item.source,
            url=item.url,
            url_key=item.url_key,
            url_hash=url_hash(item.url_key),
            title=item.title,
            text=item.text,
            title_norm=item.title_norm,
            text_norm=item.text_norm,
            author=extracted.author,
            published_at=extracted.published,
            date_source=extracted.date_source,
            language=extracted.language,
            description=extracted.description,
            image=extracted.image,
            categories=list(extracted.categories),
            tags=list(extracted.tags),
            content_hash=item.content_hash,
            fetched_at=item.fetched_at,
        )
        article.topics = [
            ArticleTopic(
                topic=tag.topic,
                score=tag.score,
                evidence=[asdict(evidence) for evidence in tag.evidence],
            )
            for tag in item.topics
        ]
        if item.raw is not None:
            article.raw = ArticleRaw(
                compression=item.raw_compression or "none",
                encoding=item.encoding,
                content_type=item.content_type,
                content=item.raw,
            )
        with Session(self.engine) as session:
            session.add(article)
            try:
                session.flush()
                for key in dict.fromkeys((item.url_key, *item.alias_keys)):
                    if session.get(ArticleUrl, url_hash(key)) is None:
                        session.add(ArticleUrl(url_hash=url_hash(key), article_id=article.id))
                session.commit()
            except IntegrityError:
                session.rollback()
                logger.debug("%s was stored by another writer first", item.url)
                return None
            return article.id
