"""Writes articles: one short transaction each, idempotent under concurrent crawls.

Story assignment happens inside the article's transaction, so that concurrent crawls storing
copies of one wire end with one story:

* the article row is inserted first: on SQLite that takes the database's write lock, so every
  read that follows sees all committed copies (SQLite writers are serialised);
* on PostgreSQL, each story *claims* its LSH band keys in ``story_bands`` (primary key). Two
  writers opening two stories for copies of one text claim the same keys; the second one's
  insert waits for the first to commit, fails, and the whole transaction is retried: it now
  sees the first story's keys and joins it. Keys are claimed in sorted order (no deadlocks).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from crawler.db import (
    Article,
    ArticleRaw,
    ArticleTopic,
    ArticleUrl,
    ArticleVersion,
    Story,
    StoryBand,
    as_utc,
    url_hash,
    utcnow,
)
from crawler.items import ArticleItem
from crawler.stories import Fingerprint, StoryParams, fingerprint, shingles, verify

logger = logging.getLogger(__name__)

RETRIES = 20


class Band(NamedTuple):
    story_id: int
    article_id: int
    seen_at: datetime


class _Conflict(Exception):
    """Another writer claimed a band key first: retry the whole transaction."""


@dataclass(frozen=True)
class Saved:
    """What storing one article did."""

    article_id: int
    story_id: int | None
    new_story: bool
    updated: bool = False


class ArticleStore:
    def __init__(self, engine, params: StoryParams | None = None):  # type: ignore[no-untyped-def]
        self.engine = engine
        self.params = params or StoryParams()

    def find_duplicate(self, keys: Iterable[str], source: str, text_hash: str) -> int | None:
        """The stored article with one of these URL keys, or with the same text from this source."""
        found = self.find_by_url(keys)
        if found is None:
            with Session(self.engine) as session:
                found = session.scalar(
                    select(Article.id)
                    .where(Article.source == source, Article.content_hash == text_hash)
                    .limit(1)
                )
        return found

    def find_by_url(self, keys: Iterable[str]) -> int | None:
        hashes = [url_hash(key) for key in keys]
        with Session(self.engine) as session:
            return session.scalar(
                select(ArticleUrl.article_id).where(ArticleUrl.url_hash.in_(hashes)).limit(1)
            )

    def content_hash_of(self, article_id: int) -> str | None:
        with Session(self.engine) as session:
            return session.scalar(select(Article.content_hash).where(Article.id == article_id))

    def touch(self, article_id: int, fetched_at: datetime | None) -> None:
        """Record that an unchanged article was fetched again (no refetch until it changes)."""
        with Session(self.engine) as session:
            session.execute(
                update(Article)
                .where(Article.id == article_id)
                .values(fetched_at=fetched_at or utcnow())
            )
            session.commit()

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
        saved = self.store(item)
        return saved.article_id if saved is not None else None

    def store(self, item: ArticleItem) -> Saved | None:
        """Insert (or, with ``item.update_of``, update) the article and place it in a story.

        None when nothing was written: another writer stored this URL first, or an update
        turned out to carry the text already stored.
        """
        fp = item.fingerprint or fingerprint(item.text_norm, self.params)
        for attempt in range(RETRIES):
            with Session(self.engine) as session:
                try:
                    if item.update_of is not None:
                        saved = self._update(session, item, fp)
                    else:
                        saved = self._insert(session, item, fp)
                    session.commit()
                    return saved
                except (IntegrityError, _Conflict, OperationalError) as exc:
                    session.rollback()
                    keys = (item.url_key, *item.alias_keys)
                    if item.update_of is None and self.find_by_url(keys) is not None:
                        logger.debug("%s was stored by another writer first", item.url)
                        return None
                    if isinstance(exc, OperationalError) and not _retryable(exc):
                        raise
                    logger.debug("retrying %s after a conflict: %s", item.url, exc)
                    time.sleep(0.005 * (attempt + 1))
        raise RuntimeError(f"could not store {item.url} after {RETRIES} attempts")

    # ------------------------------------------------------------------ transaction bodies

    def _insert(self, session: Session, item: ArticleItem, fp: Fingerprint) -> Saved:
        article = _article(item)
        session.add(article)
        session.flush()  # first statement: on SQLite this takes the write lock
        hashes = list(dict.fromkeys(url_hash(key) for key in (item.url_key, *item.alias_keys)))
        taken = set(
            session.scalars(select(ArticleUrl.url_hash).where(ArticleUrl.url_hash.in_(hashes)))
        )
        rows = [{"url_hash": h, "article_id": article.id} for h in hashes if h not in taken]
        if rows:
            session.execute(ArticleUrl.__table__.insert(), rows)
        story_id, new_story = self._assign(session, article, fp)
        return Saved(article.id, story_id, new_story)

    def _update(self, session: Session, item: ArticleItem, fp: Fingerprint) -> Saved | None:
        article = session.get(Article, item.update_of, with_for_update=True)
        if article is None:
            raise _Conflict(f"article {item.update_of} is gone")
        if article.content_hash == item.content_hash:
            article.fetched_at = item.fetched_at or utcnow()
            return None
        session.add(
            ArticleVersion(
                article_id=article.id,
                version=article.version,
                title=article.title,
                text=article.text,
                content_hash=article.content_hash,
                published_at=article.published_at,
                fetched_at=article.fetched_at,
            )
        )
        fresh = _article(item)
        for column in ("title", "text", "title_norm", "text_norm", "content_hash", "fetched_at"):
            setattr(article, column, getattr(fresh, column))
        for column in ("author", "description", "image", "language"):
            value = getattr(fresh, column)
            if value:
                setattr(article, column, value)
        article.version += 1
        article.updated_at = utcnow()
        session.flush()
        if article.story_id is None:
            story_id, new_story = self._assign(session, article, fp)
        else:
            story_id, new_story = article.story_id, False
            known = self._bands(session, fp.band_keys)
            self._claim(session, fp, known, story_id, article.id)
        return Saved(article.id, story_id, new_story, updated=True)

    # ------------------------------------------------------------------ stories

    def _bands(self, session: Session, keys: Iterable[int]) -> dict[int, Band]:
        keys = list(keys)
        if not keys:
            return {}
        table = StoryBand.__table__
        query = select(table.c.band_key, table.c.story_id, table.c.article_id, table.c.seen_at)
        rows = session.execute(query.where(table.c.band_key.in_(keys)))
        return {
            row.band_key: Band(row.story_id, row.article_id, as_utc(row.seen_at)) for row in rows
        }

    def _assign(self, session: Session, article: Article, fp: Fingerprint) -> tuple[int, bool]:
        now = utcnow()
        cutoff = now - timedelta(days=self.params.window_days)
        known = self._bands(session, fp.band_keys)
        story = self._match(session, article, fp, known, cutoff)
        if story is None:
            story = Story(
                canonical_article_id=article.id,
                first_published_at=article.published_at,
                created_at=now,
                updated_at=now,
                article_count=1,
                sources=[article.source],
            )
            session.add(story)
            session.flush()
            new_story = True
        else:
            _join(story, article, now)
            new_story = False
        article.story_id = story.id
        self._claim(session, fp, known, story.id, article.id, cutoff)
        return story.id, new_story

    def _match(
        self,
        session: Session,
        article: Article,
        fp: Fingerprint,
        known: dict[int, Band],
        cutoff: datetime,
    ) -> Story | None:
        """The story of the first verified candidate (exact copy, or shingles that agree)."""
        # an exact copy shares the exact-text key, so it is among the candidates too
        votes = Counter(row.article_id for row in known.values() if row.seen_at >= cutoff)
        ranked = [a for a, _ in votes.most_common(self.params.max_candidates)]
        if not ranked:
            return None
        rows = {
            row.id: row
            for row in session.execute(
                select(Article.id, Article.story_id, Article.content_hash, Article.text_norm).where(
                    Article.id.in_(ranked), Article.id != article.id
                )
            )
        }
        for candidate in ranked:
            row = rows.get(candidate)
            if row is None or row.story_id is None:
                continue
            same = row.content_hash == article.content_hash or verify(
                fp.shingles, shingles(row.text_norm, self.params.shingle_size), self.params
            )
            if same:
                # lock the story row: concurrent joiners update it one at a time
                return session.get(
                    Story, row.story_id, with_for_update=True, populate_existing=True
                )
        return None

    def _claim(
        self,
        session: Session,
        fp: Fingerprint,
        known: dict[int, Band],
        story_id: int,
        article_id: int,
        cutoff: datetime | None = None,
    ) -> None:
        """Claim the band keys no live story owns: new ones inserted, stale ones taken over."""
        now = utcnow()
        fresh = [key for key in fp.band_keys if key not in known]
        if fresh:
            session.execute(
                StoryBand.__table__.insert(),
                [
                    {
                        "band_key": key,
                        "story_id": story_id,
                        "article_id": article_id,
                        "seen_at": now,
                    }
                    for key in fresh  # sorted: concurrent claimers cannot deadlock
                ],
            )
        if cutoff is None:
            return
        for key in sorted(k for k, row in known.items() if row.seen_at < cutoff):
            taken = session.execute(
                update(StoryBand)
                .where(StoryBand.band_key == key, StoryBand.seen_at < cutoff)
                .values(story_id=story_id, article_id=article_id, seen_at=now)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:
                raise _Conflict(f"band {key} was taken over by another writer")


def _join(story: Story, article: Article, now: datetime) -> None:
    story.article_count += 1
    story.updated_at = now
    if article.source not in story.sources:
        story.sources = [*story.sources, article.source]
    published = article.published_at
    first = story.first_published_at
    if published is not None and (first is None or as_utc(published) < as_utc(first)):
        story.first_published_at = published
        story.canonical_article_id = article.id


def _retryable(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40P01", "40001") or "database is locked" in str(exc.orig)


def _article(item: ArticleItem) -> Article:
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
    return article
