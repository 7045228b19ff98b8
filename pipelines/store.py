"""Stores articles in batches (one transaction per batch), placing each in a story.

Articles wait in a batch until it holds ``BATCH_SIZE`` of them, its first one waited
``BATCH_AGE`` seconds, or the crawl closes; the batch is then written in one transaction in a
thread (the reactor stays free), one batch at a time. An article counts as stored (its item
goes on; counters, ``item_scraped``) only once its batch committed, so a crawl killed with
``kill -9`` loses at most the batch being written, and the next crawl fetches those pages
again (they are not known). An article the database refuses is dropped alone: the rest of its
batch is stored.

A database outage does not lose the crawl's articles: ``StorageGuard`` pauses the crawl and
retries each write (a whole batch) with backoff for ``MARSAD_STORAGE_RETRY_WINDOW`` seconds;
if the database is still gone, the crawl stops with finish reason ``storage`` (a failed
crawl, exit code 1) and the articles not stored are fetched again by the next crawl.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import SQLAlchemyError

from crawler import db
from crawler.crawl.drops import DuplicateArticle
from crawler.crawl.items import ArticleItem
from crawler.crawl.report import StatsLike, count
from crawler.store import ArticleStore, Saved
from pipelines.stories import story_params

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

T = TypeVar("T")

STORAGE_REASON = "storage"  # the finish reason of a crawl the database stopped
_FIRST_DELAY, _MAX_DELAY = 0.5, 5.0  # seconds between attempts while the database is down


BATCH_SIZE = 20  # articles per transaction
BATCH_AGE = 2.0  # seconds the first article of a batch waits at most


class StorageUnavailable(DropItem):
    """Not stored: the database stayed unreachable for the whole retry window."""

    log_level = "DEBUG"  # logged once by the guard, URL only: Scrapy's line prints the item

    def for_url(self, url: str) -> StorageUnavailable:
        return StorageUnavailable(f"not stored, the database is unreachable: {url}")


class StorageError(DropItem):
    """Not stored: the database refused the article (not an outage; nothing to wait for)."""

    log_level = "DEBUG"  # as above: an error left to Scrapy would log the whole item

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason

    def for_url(self, url: str) -> StorageError:
        return StorageError(f"not stored: {url}: {self.reason}", self.reason)


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
        """*write()* for *item*, retried through an outage (in this thread)."""
        return await self.attempt([item.url], write)

    async def attempt(
        self, urls: Sequence[str], write: Callable[[], T], *, in_thread: bool = False
    ) -> T:
        """*write()* for the articles at *urls*, retried through an outage; with *in_thread*,
        each attempt runs in a thread. Raises StorageUnavailable or StorageError (one log line
        per URL), naming the first URL."""
        delay = _FIRST_DELAY
        first = urls[0] if urls else "(nothing)"
        while True:
            if self.gave_up:
                raise StorageUnavailable(f"not stored, the database is unreachable: {first}")
            try:
                value = await asyncio.to_thread(write) if in_thread else write()
            except SQLAlchemyError as exc:
                if not db.is_unreachable(exc):
                    for url in urls:
                        logger.error("%s: not stored: %s", url, describe(exc))
                    raise StorageError(
                        f"not stored: {first}: {describe(exc)}", describe(exc)
                    ) from None
                if not self._down(exc):
                    for url in urls:
                        logger.error(
                            "%s: not stored, the database is unreachable (%s)", url, describe(exc)
                        )
                    raise StorageUnavailable(
                        f"not stored, the database is unreachable: {first}"
                    ) from None
                logger.debug("%s: storage retry in %.1fs: %s", first, delay, describe(exc))
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


Outcome = Saved | Exception | None  # what storing one article of a batch gave


class StorePipeline:
    def __init__(
        self,
        store: ArticleStore,
        stats: StatsLike | None = None,
        guard: StorageGuard | None = None,
        batch_size: int = BATCH_SIZE,
        batch_age: float = BATCH_AGE,
    ):
        self.store = store
        self.stats = stats
        self.guard = guard
        self.batch_size = batch_size
        self.batch_age = batch_age
        self._batch: list[tuple[ArticleItem, asyncio.Future[Outcome]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writing: asyncio.Lock | None = None  # one batch written at a time, in order
        self._flushes: set[asyncio.Task[None]] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        engine = db.engine_for(crawler.settings["MARSAD_DB_URL"])
        store = ArticleStore(engine, story_params(crawler.settings))
        return cls(store, crawler.stats, storage_guard(crawler))

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        if self.guard is not None and self.guard.gave_up:
            raise StorageUnavailable(f"not stored, the database is unreachable: {item.url}")
        outcome = await self._queued(item)
        if isinstance(outcome, Exception):
            logger.error("%s: not stored: %s", item.url, describe(outcome))
            raise StorageError(f"not stored: {item.url}: {describe(outcome)}", describe(outcome))
        if outcome is None:
            if item.update_of is not None:
                raise DuplicateArticle(f"fetched again, text unchanged: {item.url}")
            raise DuplicateArticle(f"stored by a concurrent crawl: {item.url}")
        item.story_id, item.new_story = outcome.story_id, outcome.new_story
        if outcome.updated:
            count(self.stats, item.source, "articles_updated")
        elif outcome.new_story:
            count(self.stats, item.source, "stories_new")
        else:
            count(self.stats, item.source, "story_copies")
        return item

    async def close_spider(self) -> None:
        """Write the last batch; wait for the batches being written."""
        self._flush()
        while self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)

    def _queued(self, item: ArticleItem) -> asyncio.Future[Outcome]:
        """Put *item* in the current batch; its outcome once the batch is written."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Outcome] = loop.create_future()
        self._batch.append((item, done))
        if len(self._batch) >= self.batch_size:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.batch_age, self._flush)
        return done

    def _flush(self) -> None:
        """Start writing the current batch (it waits for the one being written, if any)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._batch:
            return
        batch, self._batch = self._batch, []
        task = asyncio.ensure_future(self._write(batch))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _write(self, batch: list[tuple[ArticleItem, asyncio.Future[Outcome]]]) -> None:
        if self._writing is None:
            self._writing = asyncio.Lock()
        items = [item for item, _ in batch]
        async with self._writing:
            try:
                if self.guard is None:
                    outcomes = await asyncio.to_thread(self.store.store_batch, items)
                else:
                    outcomes = await self.guard.attempt(
                        [item.url for item in items],
                        lambda: self.store.store_batch(items),
                        in_thread=True,
                    )
            except (StorageUnavailable, StorageError) as exc:
                for item, done in batch:
                    if not done.done():  # (cancelled: the crawl is being torn down)
                        done.set_exception(exc.for_url(item.url))
                return
            except Exception as exc:  # a bug: every article of the batch fails with it
                logger.error("a batch of %d articles was not stored: %r", len(batch), exc)
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                return
        for (_, done), outcome in zip(batch, outcomes, strict=True):
            if not done.done():
                done.set_result(outcome)
