"""Stores each article in its own short transaction, placing it in a story.

A database outage does not lose the crawl's articles: ``StorageGuard`` pauses the crawl and
retries each write with backoff for ``MARSAD_STORAGE_RETRY_WINDOW`` seconds; if the database
is still gone, the crawl stops with finish reason ``storage`` (a failed crawl, exit code 1)
and the articles not stored are fetched again by the next crawl.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import SQLAlchemyError

from crawler import db
from crawler.crawl.drops import DuplicateArticle
from crawler.crawl.items import ArticleItem
from crawler.crawl.report import StatsLike, count
from crawler.store import ArticleStore
from pipelines.stories import story_params

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

T = TypeVar("T")

STORAGE_REASON = "storage"  # the finish reason of a crawl the database stopped
_FIRST_DELAY, _MAX_DELAY = 0.5, 5.0  # seconds between attempts while the database is down


class StorageUnavailable(DropItem):
    """Not stored: the database stayed unreachable for the whole retry window."""

    log_level = "DEBUG"  # logged once by the guard, URL only: Scrapy's line prints the item


class StorageError(DropItem):
    """Not stored: the database refused the article (not an outage; nothing to wait for)."""

    log_level = "DEBUG"  # as above: an error left to Scrapy would log the whole item


class CrawlEngine(Protocol):
    def pause(self) -> None: ...
    def unpause(self) -> None: ...
    async def close_spider_async(self, *, reason: str = ...) -> None: ...


class HasEngine(Protocol):
    """What the guard needs of Scrapy's Crawler."""

    @property
    def engine(self) -> CrawlEngine | None: ...


def describe(exc: BaseException) -> str:
    """The error's class and first line: SQLAlchemy appends the statement and its parameters
    (a whole raw page) to the message."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}".rstrip(": ")


class StorageGuard:
    """The crawl's writes during a database outage: paused, retried, then given up on."""

    def __init__(self, crawler: HasEngine, window: float) -> None:
        self._crawler = weakref.ref(crawler)
        self.window = window
        self.down_since: float | None = None
        self.gave_up = False

    async def run(self, item: ArticleItem, write: Callable[[], T]) -> T:
        delay = _FIRST_DELAY
        while True:
            if self.gave_up:
                raise StorageUnavailable(f"not stored, the database is unreachable: {item.url}")
            try:
                value = write()
            except SQLAlchemyError as exc:
                if not db.is_unreachable(exc):
                    logger.error("%s: not stored: %s", item.url, describe(exc))
                    raise StorageError(f"not stored: {item.url}: {describe(exc)}") from None
                if not self._down(exc):
                    logger.error(
                        "%s: not stored, the database is unreachable (%s)", item.url, describe(exc)
                    )
                    raise StorageUnavailable(
                        f"not stored, the database is unreachable: {item.url}"
                    ) from None
                logger.debug("%s: storage retry in %.1fs: %s", item.url, delay, describe(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, _MAX_DELAY)
                continue
            self._up()
            return value

    def _down(self, exc: SQLAlchemyError) -> bool:
        """Note the outage; False once it outlasted the window (the crawl is being stopped)."""
        crawler = self._crawler()
        now = time.monotonic()
        if self.down_since is None:
            self.down_since = now
            logger.warning(
                "the database is unreachable (%s); crawl paused, retrying for up to %gs",
                describe(exc),
                self.window,
            )
            if crawler is not None and crawler.engine is not None:
                crawler.engine.pause()
        if now - self.down_since < self.window:
            return True
        if not self.gave_up:
            self.gave_up = True
            logger.error(
                "the database stayed unreachable for %gs; stopping the crawl (reason %s)",
                self.window,
                STORAGE_REASON,
            )
            if crawler is not None and crawler.engine is not None:
                deferred_from_coro(crawler.engine.close_spider_async(reason=STORAGE_REASON))
        return False

    def _up(self) -> None:
        if self.down_since is None or self.gave_up:
            return
        logger.warning(
            "the database is back after %.1fs; crawl resumed", time.monotonic() - self.down_since
        )
        self.down_since = None
        crawler = self._crawler()
        if crawler is not None and crawler.engine is not None:
            crawler.engine.unpause()


_guards: weakref.WeakKeyDictionary[Crawler, StorageGuard] = weakref.WeakKeyDictionary()


def storage_guard(crawler: Crawler) -> StorageGuard:
    """The one guard of *crawler*, shared by every pipeline that writes or reads the store."""
    guard = _guards.get(crawler)
    if guard is None:
        window = crawler.settings.getfloat("MARSAD_STORAGE_RETRY_WINDOW")
        guard = _guards[crawler] = StorageGuard(crawler, window)
    return guard


class StorePipeline:
    def __init__(
        self, store: ArticleStore, stats: StatsLike | None = None, guard: StorageGuard | None = None
    ):
        self.store = store
        self.stats = stats
        self.guard = guard

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        engine = db.engine_for(crawler.settings["MARSAD_DB_URL"])
        store = ArticleStore(engine, story_params(crawler.settings))
        return cls(store, crawler.stats, storage_guard(crawler))

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        if self.guard is None:
            saved = self.store.store(item)
        else:
            saved = await self.guard.run(item, lambda: self.store.store(item))
        if saved is None:
            if item.update_of is not None:
                raise DuplicateArticle(f"fetched again, text unchanged: {item.url}")
            raise DuplicateArticle(f"stored by a concurrent crawl: {item.url}")
        item.story_id, item.new_story = saved.story_id, saved.new_story
        if saved.updated:
            count(self.stats, item.source, "articles_updated")
        elif saved.new_story:
            count(self.stats, item.source, "stories_new")
        else:
            count(self.stats, item.source, "story_copies")
        return item
