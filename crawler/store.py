"""Writes articles: one short transaction each, idempotent under concurrent crawls.

Story assignment happens inside the article's transaction, so that concurrent crawls storing
copies of one wire end with one story. Each story *claims* its LSH band keys in
``story_bands`` (primary key):

* the band keys are looked up first and the candidates verified; then the article is inserted
  (already pointing at the story it joins), its URLs, the new story if any, and the claims of
  the band keys no live story owns;
* two writers opening two stories for copies of one text claim the same keys: the second
  one's insert fails (on PostgreSQL it waits for the first to commit; SQLite serialises
  writers) and the whole transaction is retried: it now sees the first story's keys and
  joins it. Keys are claimed in sorted order (no deadlocks); a joined story's row is locked
  (``FOR UPDATE``) while its count and outlets are updated.

Everything after the article row goes through SQLAlchemy Core (a few statements, no identity
map): this runs once per stored article.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from crawler.crawl.items import ArticleItem
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
from crawler.stories import Fingerprint, StoryParams, fingerprint, shingles, verify

logger = logging.getLogger(__name__)

_Executor = Session | Connection  # what runs the Core statements of one transaction
_ARTICLES = Article.__table__
# Lookups run once or twice per crawled article: bare connections and prebuilt statements,
# no ORM session to pay for.
_BY_URL = (
    select(ArticleUrl.article_id)
    .where(ArticleUrl.url_hash.in_(bindparam("hashes", expanding=True)))
    .limit(1)
)
_SAME_TEXT = (
    select(Article.id)
    .where(Article.source == bindparam("source"), Article.content_hash == bindparam("text_hash"))
    .limit(1)
)
_STORIES = Story.__table__
_BANDS = StoryBand.__table__
# built once: the IN lists expand at execution (no per-key bind parameters to build)
_BANDS_OF = select(
    _BANDS.c.band_key,
    _BANDS.c.story_id,
    _BANDS.c.article_id,
    # compared in SQL: no timestamp to parse per row
    (_BANDS.c.seen_at >= bindparam("cutoff", type_=_BANDS.c.seen_at.type)).label("live"),
).where(_BANDS.c.band_key.in_(bindparam("keys", expanding=True)))
_INSERT_ARTICLE = insert(_ARTICLES)
_INSERT_STORY = insert(_STORIES)
_STORY_FOR_UPDATE = (
    select(_STORIES.c.sources, _STORIES.c.first_published_at, _STORIES.c.canonical_article_id)
    .where(_STORIES.c.id == bindparam("id"))
    # NO KEY UPDATE: the article rows inserted pointing here hold KEY SHARE locks on the
    # story (foreign key); a plain FOR UPDATE would deadlock two joiners on PostgreSQL
    .with_for_update(key_share=True)
)
_UPDATE_STORY = (
    update(_STORIES)
    .where(_STORIES.c.id == bindparam("sid"))
    .values(
        article_count=_STORIES.c.article_count + 1,
        updated_at=bindparam("now"),
        sources=bindparam("srcs", type_=_STORIES.c.sources.type),
        first_published_at=bindparam("first", type_=_STORIES.c.first_published_at.type),
        canonical_article_id=bindparam("canon"),
    )
)
_INSERT_BANDS = insert(_BANDS)
_CANDIDATES = select(
    _ARTICLES.c.id, _ARTICLES.c.story_id, _ARTICLES.c.content_hash, _ARTICLES.c.text_norm
).where(_ARTICLES.c.id.in_(bindparam("ids", expanding=True)))

RETRIES = 20


class Band(NamedTuple):
    story_id: int
    article_id: int
    live: bool  # seen within the window; older keys may be taken over


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
        self.story_seconds = 0.0  # spent placing articles in stories (for benchmarks)

    def find_duplicate(self, keys: Iterable[str], source: str, text_hash: str) -> int | None:
        """The stored article with one of these URL keys, or with the same text from this source."""
        found = self.find_by_url(keys)
        return found if found is not None else self.find_same_text(source, text_hash)

    def find_by_url(self, keys: Iterable[str]) -> int | None:
        """The stored article any of these URL keys led to."""
        with self.engine.connect() as conn:
            return conn.scalar(_BY_URL, {"hashes": [url_hash(key) for key in keys]})

    def find_same_text(self, source: str, text_hash: str) -> int | None:
        """A stored article of *source* with this exact text (same page under another URL)."""
        with self.engine.connect() as conn:
            return conn.scalar(_SAME_TEXT, {"source": source, "text_hash": text_hash})

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
        hashes = list(dict.fromkeys(url_hash(key) for key in keys))
        with self.engine.connect() as conn:
            try:
                _insert_ignore(conn, ArticleUrl.__table__, "url_hash", hashes, article_id)
                conn.commit()
            except IntegrityError:  # the article is gone meanwhile
                conn.rollback()

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
            # a new article goes through a bare connection (Core only: no ORM session to pay
            # for on every statement); an update loads the article with the ORM
            opened = Session(self.engine) if item.update_of is not None else self.engine.connect()
            with opened as session:
                try:
                    if isinstance(session, Session):
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

    def _insert(self, session: Connection, item: ArticleItem, fp: Fingerprint) -> Saved:
        started = time.perf_counter()
        now = utcnow()
        known = self._bands(session, fp.band_keys, now)
        story_id = self._match(session, item.content_hash, fp, known)
        new_story = story_id is None
        story_seconds = time.perf_counter() - started

        article_id = _insert_article(session, item, story_id)  # on SQLite: the write lock
        hashes = list(dict.fromkeys(url_hash(key) for key in (item.url_key, *item.alias_keys)))
        _insert_ignore(session, ArticleUrl.__table__, "url_hash", hashes, article_id)

        started = time.perf_counter()
        published, source = item.extracted.published, item.source
        if story_id is None:
            story_id = self._open_story(session, article_id, source, published, now)
            session.execute(  # the story needed the article's id first
                update(_ARTICLES).where(_ARTICLES.c.id == article_id).values(story_id=story_id)
            )
        else:
            self._join_story(session, story_id, article_id, source, published, now)
        self._claim(session, fp, known, story_id, article_id, now)
        self.story_seconds += story_seconds + time.perf_counter() - started
        return Saved(article_id, story_id, new_story)

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
        now = utcnow()
        known = self._bands(session, fp.band_keys, now)
        new_story = False
        if article.story_id is None:
            story_id = self._match(session, item.content_hash, fp, known, article.id)
            if story_id is None:
                story_id = self._open_story(
                    session, article.id, article.source, article.published_at, now
                )
                new_story = True
            else:
                self._join_story(
                    session, story_id, article.id, article.source, article.published_at, now
                )
            article.story_id = story_id
            self._claim(session, fp, known, story_id, article.id, now)
        else:
            story_id = article.story_id
            self._claim(session, fp, known, story_id, article.id, now, take_stale=False)
        return Saved(article.id, story_id, new_story, updated=True)

    # ------------------------------------------------------------------ stories

    def _bands(self, session: _Executor, keys: Iterable[int], now: datetime) -> dict[int, Band]:
        keys = list(keys)
        if not keys:
            return {}
        cutoff = now - timedelta(days=self.params.window_days)
        rows = session.execute(_BANDS_OF, {"keys": keys, "cutoff": cutoff})
        return {row[0]: Band(row[1], row[2], bool(row[3])) for row in rows}

    def _match(
        self,
        session: _Executor,
        content_hash: str,
        fp: Fingerprint,
        known: dict[int, Band],
        exclude: int | None = None,
    ) -> int | None:
        """The story of the first verified candidate (exact copy, or shingles that agree)."""
        # an exact copy shares the exact-text key, so it is among the candidates too
        votes = Counter(row.article_id for row in known.values() if row.live)
        votes.pop(exclude, None)
        ranked = [a for a, _ in votes.most_common(self.params.max_candidates)]
        if not ranked:
            return None
        rows = {row[0]: row for row in session.execute(_CANDIDATES, {"ids": ranked})}
        for candidate in ranked:
            row = rows.get(candidate)
            if row is None or row[1] is None:
                continue
            if row[2] == content_hash or verify(
                fp.shingles, shingles(row[3], self.params.shingle_size), self.params
            ):
                return int(row[1])
        return None

    def _open_story(
        self,
        session: _Executor,
        article_id: int,
        source: str,
        published: datetime | None,
        now: datetime,
    ) -> int:
        created = session.execute(
            _INSERT_STORY,
            {
                "canonical_article_id": article_id,
                "first_published_at": published,
                "created_at": now,
                "updated_at": now,
                "article_count": 1,
                "sources": [source],
            },
        )
        return int(created.inserted_primary_key[0])

    def _join_story(
        self,
        session: _Executor,
        story_id: int,
        article_id: int,
        source: str,
        published: datetime | None,
        now: datetime,
    ) -> None:
        """Count the article in its story; the row is locked: joiners update it in turn."""
        story = session.execute(_STORY_FOR_UPDATE, {"id": story_id}).one_or_none()
        if story is None:
            raise _Conflict(f"story {story_id} is gone")
        sources, first, canonical = story
        if source not in (sources or []):
            sources = [*(sources or []), source]
        if published is not None and (first is None or as_utc(published) < as_utc(first)):
            first, canonical = published, article_id
        session.execute(
            _UPDATE_STORY,
            {"sid": story_id, "now": now, "srcs": sources, "first": first, "canon": canonical},
        )

    def _claim(
        self,
        session: _Executor,
        fp: Fingerprint,
        known: dict[int, Band],
        story_id: int,
        article_id: int,
        now: datetime,
        take_stale: bool = True,
    ) -> None:
        """Claim the band keys no live story owns: new ones inserted, stale ones taken over.

        A key claimed meanwhile by another writer makes the insert fail (primary key): the
        whole transaction is retried and then sees that writer's story.
        """
        fresh = [key for key in fp.band_keys if key not in known]
        if fresh:
            session.execute(
                _INSERT_BANDS,
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
        if not take_stale:
            return
        cutoff = now - timedelta(days=self.params.window_days)
        for key in sorted(k for k, row in known.items() if not row.live):
            taken = session.execute(
                update(_BANDS)
                .where(_BANDS.c.band_key == key, _BANDS.c.seen_at < cutoff)
                .values(story_id=story_id, article_id=article_id, seen_at=now)
            )
            if taken.rowcount != 1:
                raise _Conflict(f"band {key} was taken over by another writer")


def _insert_ignore(
    session: _Executor, table: Table, column: str, keys: list[str], article_id: int
) -> None:
    """Insert (key, article_id) rows, skipping keys already stored: one statement."""
    if not keys:
        return
    bind = session.get_bind() if isinstance(session, Session) else session
    dialect = bind.dialect.name
    stmt = _IGNORING.get((dialect, table.name, column))
    if stmt is None:
        if dialect == "postgresql":
            stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=[column])
        elif dialect == "sqlite":
            stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=[column])
        else:  # pragma: no cover - the two supported databases are handled above
            taken = set(session.scalars(select(table.c[column]).where(table.c[column].in_(keys))))
            keys = [key for key in keys if key not in taken]
            if keys:
                session.execute(
                    insert(table), [{column: k, "article_id": article_id} for k in keys]
                )
            return
        _IGNORING[(dialect, table.name, column)] = stmt
    session.execute(stmt, [{column: key, "article_id": article_id} for key in keys])


_IGNORING: dict[tuple[str, str, str], Any] = {}  # dialect, table, column: statement


def _retryable(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40P01", "40001") or "database is locked" in str(exc.orig)


def _insert_article(session: _Executor, item: ArticleItem, story_id: int | None) -> int:
    """Insert the article row (and its topics, raw page) with Core; its id."""
    extracted = item.extracted
    values = {
        "source": item.source,
        "url": item.url,
        "url_key": item.url_key,
        "url_hash": url_hash(item.url_key),
        "title": item.title,
        "text": item.text,
        "title_norm": item.title_norm,
        "text_norm": item.text_norm,
        "author": extracted.author,
        "published_at": extracted.published,
        "date_source": extracted.date_source,
        "language": extracted.language,
        "description": extracted.description,
        "image": extracted.image,
        "categories": list(extracted.categories),
        "tags": list(extracted.tags),
        "content_hash": item.content_hash,
        "fetched_at": item.fetched_at or utcnow(),
        "story_id": story_id,
    }
    created = session.execute(_INSERT_ARTICLE, values)
    article_id = int(created.inserted_primary_key[0])
    if item.topics:
        session.execute(
            insert(ArticleTopic.__table__),
            [
                {
                    "article_id": article_id,
                    "topic": tag.topic,
                    "score": tag.score,
                    "evidence": [asdict(evidence) for evidence in tag.evidence],
                }
                for tag in item.topics
            ],
        )
    if item.raw is not None:
        session.execute(
            insert(ArticleRaw.__table__).values(
                article_id=article_id,
                compression=item.raw_compression or "none",
                encoding=item.encoding,
                content_type=item.content_type,
                content=item.raw,
            )
        )
    return article_id


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
