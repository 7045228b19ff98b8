"""Writes articles: a batch per transaction (``store_batch``; ``store`` is a batch of one),
idempotent under concurrent crawls.

Story assignment happens inside the batch's transaction, so that concurrent crawls storing
copies of one wire end with one story. Each story *claims* its LSH band keys in
``story_bands`` (primary key):

* the band keys are looked up first and the candidates verified; then the article is inserted
  (already pointing at the story it joins), its URLs, the new story if any, and the claims of
  the band keys no live story owns;
* two writers opening two stories for copies of one text claim the same keys: the second
  one's insert fails (on PostgreSQL it waits for the first to commit; SQLite serialises
  writers) and the whole transaction is retried: it now sees the first story's keys and
  joins it. Keys are claimed in sorted order; on PostgreSQL a batch first locks all its
  keys (transaction advisory locks, sorted), so two batches never wait on each other's keys
  in opposite orders (no deadlocks); a joined story's row is locked (``FOR UPDATE``) while its
  count and outlets are updated.

An article becomes table rows in one place, ``article_rows``: the insert and the update of a
changed text write the same rows (article, topics, raw page). Everything goes through
SQLAlchemy Core on a bare connection (prebuilt statements, no identity map): this runs once
per stored article.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Table, bindparam, delete, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from crawler.db import (
    Article,
    ArticleRaw,
    ArticleTopic,
    ArticleUrl,
    ArticleVersion,
    Base,
    Story,
    StoryBand,
    as_utc,
    is_unreachable,
    url_hash,
    utcnow,
)
from crawler.stories import Fingerprint, StoryParams, fingerprint, shingles, verify

if TYPE_CHECKING:
    from crawler.crawl.items import ArticleItem

logger = logging.getLogger(__name__)


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


_ARTICLES = _table(Article)
_TOPICS = _table(ArticleTopic)
_RAW = _table(ArticleRaw)
_URLS = _table(ArticleUrl)
_VERSIONS = _table(ArticleVersion)
_STORIES = _table(Story)
_BANDS = _table(StoryBand)

# Lookups run once or twice per crawled article: bare connections and prebuilt statements.
_BY_URL = (
    select(_URLS.c.article_id)
    .where(_URLS.c.url_hash.in_(bindparam("hashes", expanding=True)))
    .limit(1)
)
_SAME_TEXT = (
    select(_ARTICLES.c.id)
    .where(
        _ARTICLES.c.source == bindparam("source"),
        _ARTICLES.c.content_hash == bindparam("text_hash"),
    )
    .limit(1)
)
_CONTENT_HASH = select(_ARTICLES.c.content_hash).where(_ARTICLES.c.id == bindparam("id"))
_TOUCH = (
    update(_ARTICLES)
    .where(_ARTICLES.c.id == bindparam("aid"))
    .values(fetched_at=bindparam("fetched", type_=_ARTICLES.c.fetched_at.type))
)
# built once: the IN lists expand at execution (no per-key bind parameters to build)
_BANDS_OF = select(
    _BANDS.c.band_key,
    _BANDS.c.story_id,
    _BANDS.c.article_id,
    # compared in SQL: no timestamp to parse per row
    (_BANDS.c.seen_at >= bindparam("cutoff", type_=_BANDS.c.seen_at.type)).label("live"),
).where(_BANDS.c.band_key.in_(bindparam("keys", expanding=True)))
_INSERT_ARTICLE = insert(_ARTICLES)
_INSERT_TOPICS = insert(_TOPICS)
_INSERT_RAW = insert(_RAW)
_DELETE_TOPICS = delete(_TOPICS).where(_TOPICS.c.article_id == bindparam("id"))
_DELETE_RAW = delete(_RAW).where(_RAW.c.article_id == bindparam("id"))
_SET_STORY = (
    update(_ARTICLES)
    .where(_ARTICLES.c.id == bindparam("aid"))
    .values(story_id=bindparam("sid", type_=_ARTICLES.c.story_id.type))
)
_ARTICLE_FOR_UPDATE = (
    select(
        _ARTICLES.c.version,
        _ARTICLES.c.title,
        _ARTICLES.c.text,
        _ARTICLES.c.content_hash,
        _ARTICLES.c.published_at,
        _ARTICLES.c.published_offset,
        _ARTICLES.c.fetched_at,
        _ARTICLES.c.source,
        _ARTICLES.c.story_id,
    )
    .where(_ARTICLES.c.id == bindparam("id"))
    .with_for_update()
)
_INSERT_VERSION = insert(_VERSIONS)
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
# a band key is taken over when it went stale, or re-pointed when the story already owns it
_TAKE_BANDS = (
    update(_BANDS)
    .where(
        _BANDS.c.band_key.in_(bindparam("keys", expanding=True)),
        or_(
            _BANDS.c.seen_at < bindparam("cutoff", type_=_BANDS.c.seen_at.type),
            _BANDS.c.story_id == bindparam("sid"),
        ),
    )
    .values(
        story_id=bindparam("sid"),
        article_id=bindparam("aid"),
        seen_at=bindparam("now", type_=_BANDS.c.seen_at.type),
    )
)
_CANDIDATES = select(
    _ARTICLES.c.id, _ARTICLES.c.story_id, _ARTICLES.c.content_hash, _ARTICLES.c.text_norm
).where(_ARTICLES.c.id.in_(bindparam("ids", expanding=True)))

RETRIES = 20
_REFUSE_AFTER = 3  # an article whose insert keeps failing on a constraint is refused, not raced

# Transaction-level advisory locks of a batch's band keys (PostgreSQL), taken in sorted order.
# The two-key form, in a namespace of its own: it never meets the scheduler's one-key locks.
_BAND_LOCK_SPACE = 0x5B4D  # "stories" namespace of the two-key advisory locks
_LOCK_BANDS = text(
    "SELECT count(pg_advisory_xact_lock(:space, k)) "
    "FROM (SELECT DISTINCT unnest(CAST(:ids AS integer[])) AS k ORDER BY k) AS sorted_keys"
)

#: ``articles`` columns an update never changes: the article's identity, where and when it was
#: first published (the story's canonical copy and first date rest on it), its story.
KEPT_ON_UPDATE = frozenset(
    {
        "source",
        "url",
        "url_key",
        "url_hash",
        "published_at",
        "published_offset",
        "date_source",
        "story_id",
    }
)
#: ``articles`` columns an update changes only when the new page has a value: a refetch that
#: lost the byline or the categories keeps the stored ones.
FILLED_ON_UPDATE = frozenset({"author", "description", "image", "language", "categories", "tags"})


@dataclass(frozen=True)
class ArticleRows:
    """One article as table rows, the single mapping from an item to the schema.

    ``article``: the ``articles`` row without ``id`` and ``story_id``; ``topics``: the
    ``article_topics`` rows, ``raw``: the ``article_raw`` row (None: no page kept) and
    ``url_hashes``: the ``article_urls`` keys (every URL that led here), all without
    ``article_id`` (known once the article row exists).
    """

    article: dict[str, Any]
    topics: list[dict[str, Any]]
    raw: dict[str, Any] | None
    url_hashes: list[str]

    def update_values(self) -> dict[str, Any]:
        """The ``articles`` values an update of a changed text writes (see KEPT_ON_UPDATE,
        FILLED_ON_UPDATE)."""
        return {
            key: value
            for key, value in self.article.items()
            if key not in KEPT_ON_UPDATE and (value or key not in FILLED_ON_UPDATE)
        }


def article_rows(item: ArticleItem) -> ArticleRows:
    """The rows *item* is stored as (insert and update alike)."""
    extracted = item.extracted
    article = {
        "source": item.source,
        "url": item.url,
        "url_key": item.url_key,
        "url_hash": url_hash(item.url_key),
        "title": item.title,
        "text": item.text,
        "title_norm": item.title_norm,
        "text_norm": item.text_norm,
        "author": extracted.author,
        # the instant in UTC (SQLite keeps a datetime's wall time, not its offset), and the
        # publisher's offset beside it: db.publisher_time puts the two back together
        "published_at": as_utc(extracted.published) if extracted.published else None,
        "published_offset": extracted.published_offset,
        "date_source": extracted.date_source,
        "language": extracted.language,
        "description": extracted.description,
        "image": extracted.image,
        "categories": list(extracted.categories),
        "tags": list(extracted.tags),
        "content_hash": item.content_hash,
        "fetched_at": item.fetched_at or utcnow(),
    }
    topics = [tag.stored() for tag in item.topics]
    raw = None
    if item.raw is not None:
        raw = {
            "compression": item.raw_compression or "none",
            "encoding": item.encoding,
            "content_type": item.content_type,
            "content": item.raw,
        }
    keys = (item.url_key, *item.alias_keys)
    return ArticleRows(article, topics, raw, list(dict.fromkeys(map(url_hash, keys))))


def insert_article(conn: Connection, rows: ArticleRows, story_id: int | None) -> int:
    """Insert the article row, its URLs, topics and raw page; its id."""
    created = conn.execute(_INSERT_ARTICLE, {**rows.article, "story_id": story_id})
    article_id = _inserted_id(created)
    _insert_children(conn, article_id, rows)
    return article_id


def _insert_children(conn: Connection, article_id: int, rows: ArticleRows) -> None:
    _insert_ignore(conn, _URLS, "url_hash", rows.url_hashes, article_id)
    if rows.topics:
        conn.execute(_INSERT_TOPICS, [{**topic, "article_id": article_id} for topic in rows.topics])
    if rows.raw is not None:
        conn.execute(_INSERT_RAW, {**rows.raw, "article_id": article_id})


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
    def __init__(self, engine: Engine, params: StoryParams | None = None) -> None:
        self.engine = engine
        self.params = params or StoryParams()
        self.story_seconds = 0.0  # spent placing articles in stories (for benchmarks)
        self.retries = 0  # transactions rolled back after a conflict (for benchmarks, tests)

    def find_by_url(self, keys: Iterable[str]) -> int | None:
        """The stored article any of these URL keys led to."""
        with self.engine.connect() as conn:
            found = conn.scalar(_BY_URL, {"hashes": [url_hash(key) for key in keys]})
        return None if found is None else int(found)

    def find_same_text(self, source: str, text_hash: str) -> int | None:
        """A stored article of *source* with this exact text (same page under another URL)."""
        with self.engine.connect() as conn:
            found = conn.scalar(_SAME_TEXT, {"source": source, "text_hash": text_hash})
        return None if found is None else int(found)

    def content_hash_of(self, article_id: int) -> str | None:
        with self.engine.connect() as conn:
            found = conn.scalar(_CONTENT_HASH, {"id": article_id})
        return None if found is None else str(found)

    def touch(self, article_id: int, fetched_at: datetime | None) -> None:
        """Record that an unchanged article was fetched again (no refetch until it changes)."""
        with self.engine.connect() as conn:
            conn.execute(_TOUCH, {"aid": article_id, "fetched": fetched_at or utcnow()})
            conn.commit()

    def add_aliases(self, article_id: int, keys: Iterable[str]) -> None:
        """Remember more URLs of a stored article, so later crawls skip them before fetching."""
        hashes = list(dict.fromkeys(url_hash(key) for key in keys))
        with self.engine.connect() as conn:
            try:
                _insert_ignore(conn, _URLS, "url_hash", hashes, article_id)
                conn.commit()
            except IntegrityError:  # the article is gone meanwhile
                conn.rollback()

    def store(self, item: ArticleItem) -> Saved | None:
        """Insert (or, with ``item.update_of``, update) the article and place it in a story.

        None when nothing was written: another writer stored this URL first, or an update
        turned out to carry the text already stored. A refused article raises its error.
        """
        (outcome,) = self.store_batch([item])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def store_batch(self, items: Sequence[ArticleItem]) -> list[Saved | Exception | None]:
        """Store *items* in one transaction: per item what ``store`` returns, or the error
        that made the database refuse it (the others are stored without it).

        Nothing is half-written: a refused article rolls the transaction back and the batch is
        written again without it; a conflict with another writer (a band key or URL claimed
        first) is retried as ``store`` retries it. An outage (connection lost) raises, and
        nothing of the batch is stored. On PostgreSQL the batch first takes transaction locks
        on all its band keys in sorted order, so two batches placing copies of the same
        stories wait for each other instead of deadlocking.
        """
        plans = [
            (item, item.fingerprint or fingerprint(item.text_norm, self.params), article_rows(item))
            for item in items
        ]
        outcomes: dict[int, Saved | Exception | None] = {}
        conflicts = Counter[int]()
        for attempt in range(RETRIES):
            pending = [i for i in range(len(plans)) if i not in outcomes]
            if not pending:
                break
            current: int | None = None
            written: dict[int, Saved | None] = {}
            with self.engine.connect() as conn:
                try:
                    _lock_band_keys(conn, [k for i in pending for k in plans[i][1].band_keys])
                    for current in pending:
                        item, fp, rows = plans[current]
                        if item.update_of is not None:
                            written[current] = self._update(conn, item.update_of, rows, fp)
                        else:
                            written[current] = self._insert(conn, item, rows, fp)
                    current = None
                    conn.commit()
                except (IntegrityError, _Conflict, OperationalError) as exc:
                    conn.rollback()
                    if isinstance(exc, OperationalError) and not _retryable(exc):
                        raise
                    self.retries += 1
                    if current is not None:
                        item = plans[current][0]
                        keys = (item.url_key, *item.alias_keys)
                        conflicts[current] += 1
                        if item.update_of is None and self.find_by_url(keys) is not None:
                            logger.debug("%s was stored by another writer first", item.url)
                            outcomes[current] = None
                        elif (
                            isinstance(exc, IntegrityError)
                            and not _is_claim_race(exc)
                            and conflicts[current] > _REFUSE_AFTER
                        ):
                            outcomes[current] = exc  # not a race: the database refuses it
                    logger.debug("retrying a batch of %d after a conflict: %s", len(pending), exc)
                    time.sleep(0.005 * (attempt + 1))
                    continue
                except SQLAlchemyError as exc:
                    conn.rollback()
                    if current is None or is_unreachable(exc):
                        raise
                    outcomes[current] = exc  # refused: the others are written again without it
                    continue
            outcomes.update(written)
        missing = [plans[i][0].url for i in range(len(plans)) if i not in outcomes]
        if missing:
            raise RuntimeError(f"could not store {', '.join(missing)} after {RETRIES} attempts")
        return [outcomes[i] for i in range(len(plans))]

    # ------------------------------------------------------------------ transaction bodies

    def _insert(
        self, conn: Connection, item: ArticleItem, rows: ArticleRows, fp: Fingerprint
    ) -> Saved:
        started = time.perf_counter()
        now = utcnow()
        known = self._bands(conn, fp.band_keys, now)
        story_id = self._match(conn, item.content_hash, fp, known)
        new_story = story_id is None
        story_seconds = time.perf_counter() - started

        article_id = insert_article(conn, rows, story_id)  # on SQLite: the write lock

        started = time.perf_counter()
        published, source = rows.article["published_at"], item.source
        if story_id is None:
            story_id = self._open_story(conn, article_id, source, published, now)
            conn.execute(_SET_STORY, {"aid": article_id, "sid": story_id})  # needed the id first
        else:
            self._join_story(conn, story_id, article_id, source, published, now)
        self._claim(conn, fp, known, story_id, article_id, now)
        self.story_seconds += story_seconds + time.perf_counter() - started
        return Saved(article_id, story_id, new_story)

    def _update(
        self, conn: Connection, article_id: int, rows: ArticleRows, fp: Fingerprint
    ) -> Saved | None:
        """Replace a stored article's text by a changed one, as a new version.

        The previous text goes to ``article_versions``; the article row gets the new values
        (``ArticleRows.update_values``), its topics and raw page are replaced (a page no
        longer kept is deleted: a stored page always is the one the stored text came from)
        and URLs that newly led to it are added.

        The article stays in its story (or is placed in one, when it had none) and claims the
        band keys of its new text, so that a later copy of the NEW text finds the story and is
        verified against the new text: keys nobody owns are inserted, keys its story already
        owns and stale keys of any story are re-pointed at this article and seen now. Keys a
        live story of its own owns are left to it. Band keys only the OLD text had stay where
        they are and age out with the story window: the story's other copies may carry that
        text, and a late copy of it should still find the story (its candidates are verified
        against the article's current text, so a rewrite that no longer matches opens a new
        story, as it should).
        """
        current = conn.execute(_ARTICLE_FOR_UPDATE, {"id": article_id}).one_or_none()
        if current is None:
            raise _Conflict(f"article {article_id} is gone")
        now = utcnow()
        if current.content_hash == rows.article["content_hash"]:
            conn.execute(_TOUCH, {"aid": article_id, "fetched": rows.article["fetched_at"]})
            return None
        conn.execute(
            _INSERT_VERSION,
            {
                "article_id": article_id,
                "version": current.version,
                "title": current.title,
                "text": current.text,
                "content_hash": current.content_hash,
                "published_at": current.published_at,
                "published_offset": current.published_offset,
                "fetched_at": current.fetched_at,
            },
        )
        conn.execute(
            update(_ARTICLES)
            .where(_ARTICLES.c.id == article_id)
            .values(**rows.update_values(), version=_ARTICLES.c.version + 1, updated_at=now)
        )
        conn.execute(_DELETE_TOPICS, {"id": article_id})
        conn.execute(_DELETE_RAW, {"id": article_id})
        _insert_children(conn, article_id, rows)

        known = self._bands(conn, fp.band_keys, now)
        story_id, new_story = current.story_id, False
        if story_id is None:
            content_hash = rows.article["content_hash"]
            story_id = self._match(conn, content_hash, fp, known, exclude=article_id)
            source, published = current.source, current.published_at
            if story_id is None:
                story_id = self._open_story(conn, article_id, source, published, now)
                new_story = True
            else:
                self._join_story(conn, story_id, article_id, source, published, now)
            conn.execute(_SET_STORY, {"aid": article_id, "sid": story_id})
        self._claim(conn, fp, known, story_id, article_id, now, repoint_own=True)
        return Saved(article_id, story_id, new_story, updated=True)

    # ------------------------------------------------------------------ stories

    def _bands(self, conn: Connection, keys: Iterable[int], now: datetime) -> dict[int, Band]:
        keys = list(keys)
        if not keys:
            return {}
        cutoff = now - timedelta(days=self.params.window_days)
        rows = conn.execute(_BANDS_OF, {"keys": keys, "cutoff": cutoff})
        return {row[0]: Band(row[1], row[2], bool(row[3])) for row in rows}

    def _match(
        self,
        conn: Connection,
        content_hash: str,
        fp: Fingerprint,
        known: dict[int, Band],
        exclude: int | None = None,
    ) -> int | None:
        """The story of the first verified candidate (exact copy, or shingles that agree)."""
        # an exact copy shares the exact-text key, so it is among the candidates too
        votes = Counter(row.article_id for row in known.values() if row.live)
        if exclude is not None:
            votes.pop(exclude, None)
        ranked = [a for a, _ in votes.most_common(self.params.max_candidates)]
        if not ranked:
            return None
        rows = {row[0]: row for row in conn.execute(_CANDIDATES, {"ids": ranked})}
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
        conn: Connection,
        article_id: int,
        source: str,
        published: datetime | None,
        now: datetime,
    ) -> int:
        created = conn.execute(
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
        return _inserted_id(created)

    def _join_story(
        self,
        conn: Connection,
        story_id: int,
        article_id: int,
        source: str,
        published: datetime | None,
        now: datetime,
    ) -> None:
        """Count the article in its story; the row is locked: joiners update it in turn."""
        story = conn.execute(_STORY_FOR_UPDATE, {"id": story_id}).one_or_none()
        if story is None:
            raise _Conflict(f"story {story_id} is gone")
        sources, first, canonical = story
        if source not in (sources or []):
            sources = [*(sources or []), source]
        if published is not None and (first is None or as_utc(published) < as_utc(first)):
            first, canonical = published, article_id
        conn.execute(
            _UPDATE_STORY,
            {"sid": story_id, "now": now, "srcs": sources, "first": first, "canon": canonical},
        )

    def _claim(
        self,
        conn: Connection,
        fp: Fingerprint,
        known: dict[int, Band],
        story_id: int,
        article_id: int,
        now: datetime,
        *,
        repoint_own: bool = False,
    ) -> None:
        """Claim the band keys no live story owns: new ones inserted, stale ones taken over;
        with *repoint_own* (an updated text), also the keys *story_id* owns, now pointing at
        this article.

        A key claimed meanwhile by another writer makes the insert fail (primary key) or the
        take-over miss a row: the whole transaction is retried and then sees that writer's
        story.
        """
        fresh = [key for key in fp.band_keys if key not in known]
        if fresh:
            conn.execute(
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
        taken = [
            key
            for key, band in sorted(known.items())
            if not band.live or (repoint_own and band.story_id == story_id)
        ]
        if not taken:
            return
        cutoff = now - timedelta(days=self.params.window_days)
        result = conn.execute(
            _TAKE_BANDS,
            {"keys": taken, "cutoff": cutoff, "sid": story_id, "aid": article_id, "now": now},
        )
        if result.rowcount != len(taken):
            raise _Conflict(f"band keys of {article_id} were taken over by another writer")


def band_lock_ids(keys: Iterable[int]) -> list[int]:
    """The 32-bit advisory lock ids of band keys, sorted (two keys may share one: they then
    wait for each other, which is only slower)."""
    return sorted({(key & 0xFFFFFFFF) - 2**31 for key in keys})


def _lock_band_keys(conn: Connection, keys: list[int]) -> None:
    """On PostgreSQL, lock *keys* for this transaction in sorted order (see store_batch)."""
    if conn.dialect.name == "postgresql" and keys:
        conn.execute(_LOCK_BANDS, {"space": _BAND_LOCK_SPACE, "ids": band_lock_ids(keys)})


def _insert_ignore(
    conn: Connection, table: Table, column: str, keys: list[str], article_id: int
) -> None:
    """Insert (key, article_id) rows, skipping keys already stored: one statement."""
    if not keys:
        return
    dialect = conn.dialect.name
    stmt = _IGNORING.get((dialect, table.name, column))
    if stmt is None:
        if dialect == "postgresql":
            stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=[column])
        elif dialect == "sqlite":
            stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=[column])
        else:  # pragma: no cover - the two supported databases are handled above
            taken = set(conn.scalars(select(table.c[column]).where(table.c[column].in_(keys))))
            keys = [key for key in keys if key not in taken]
            if keys:
                conn.execute(insert(table), [{column: k, "article_id": article_id} for k in keys])
            return
        _IGNORING[(dialect, table.name, column)] = stmt
    conn.execute(stmt, [{column: key, "article_id": article_id} for key in keys])


_IGNORING: dict[tuple[str, str, str], Any] = {}  # dialect, table, column: statement


def _inserted_id(result: CursorResult[Any]) -> int:
    """The primary key a single-row INSERT created."""
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - only executemany leaves it unset
        raise RuntimeError("the INSERT reported no primary key")
    return int(key[0])


def _is_claim_race(exc: IntegrityError) -> bool:
    """A unique key another writer claimed first (a band key, a URL): retried however often it
    happens, since each retry sees more of the other writers' work (a dozen writers storing
    copies of one wire at once can make one of them lose several rounds)."""
    tables = (_BANDS.name, _URLS.name)
    diag = getattr(exc.orig, "diag", None)  # PostgreSQL names the table
    table = getattr(diag, "table_name", None)
    if table:
        return table in tables
    return any(f"{name}." in str(exc.orig) for name in tables)  # SQLite: "...: table.column"


def _retryable(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40P01", "40001") or "database is locked" in str(exc.orig)
