"""Drops articles already stored or seen in this crawl (same URL, or same source and text).

A stored URL fetched again (its feed or sitemap date moved past our fetch) goes on to the
store as a new version when its text changed; unchanged, it is dropped as a duplicate.
Under Scrapy the database checks go through the crawl's ``StorageGuard`` (an outage pauses
and retries them); built directly, the pipeline answers synchronously.

A redirect whose target was already requested in this crawl (Scrapy's duplicate filter drops
the redirected request) or is already stored never reaches the pipelines as a page; its URLs
are remembered as aliases of the target's article when the crawl closes, once every page of
the crawl is stored.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from sqlalchemy.exc import SQLAlchemyError

from crawler import db
from crawler.crawl.drops import DuplicateArticle
from crawler.crawl.items import ArticleItem
from crawler.crawl.middlewares import ARTICLE_META, redirect_chain, redirect_settled
from crawler.store import ArticleStore
from crawler.text.normalize import url_key
from pipelines.store import StorageGuard, storage_guard

if TYPE_CHECKING:
    from collections.abc import Iterable

    from scrapy.crawler import Crawler
    from scrapy.http import Request

logger = logging.getLogger(__name__)


class DedupePipeline:
    def __init__(self, store: ArticleStore, guard: StorageGuard | None = None):
        self.store = store
        self.guard = guard
        self.seen_keys: set[str] = set()
        self.seen_texts: set[tuple[str, str]] = set()
        self.redirected: dict[str, set[str]] = {}  # target URL key -> keys that redirected there

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        store = ArticleStore(db.engine_for(crawler.settings["MARSAD_DB_URL"]))
        pipeline = cls(store, storage_guard(crawler))
        crawler.signals.connect(pipeline.request_dropped, signal=signals.request_dropped)
        crawler.signals.connect(pipeline.remember_redirect, signal=redirect_settled)
        return pipeline

    def request_dropped(self, request: Request) -> None:
        """An article redirect dropped by Scrapy's duplicate filter: its target is requested."""
        chain = redirect_chain(request)
        if request.meta.get(ARTICLE_META) and chain:
            self.remember_redirect(request.url, chain)

    def remember_redirect(self, target: str, chain: Iterable[str]) -> None:
        """*chain* redirected to *target*: aliases of its article, if it is stored by the end."""
        target_key = url_key(target)
        keys = {url_key(url) for url in chain} - {target_key}
        if keys:
            self.redirected.setdefault(target_key, set()).update(keys)

    def close_spider(self) -> None:
        """Every page of the crawl is stored now: remember the redirects to stored articles."""
        for target_key, keys in self.redirected.items():
            try:
                article = self.store.find_by_url([target_key])
                if article is not None:
                    self.store.add_aliases(article, keys)
            except SQLAlchemyError as exc:
                if not db.is_unreachable(exc):
                    raise
                logger.warning("redirects to %s not remembered (database unreachable)", target_key)
                return
        self.redirected.clear()

    def process_item(self, item: Any) -> Any:
        """The item (or a coroutine of it, with a guard); DuplicateArticle when it is one."""
        if not isinstance(item, ArticleItem):
            return item
        self._check_crawl(item)
        if self.guard is None:
            return self._check_database(item)
        return self.guard.run(item, lambda: self._check_database(item))

    def _check_crawl(self, item: ArticleItem) -> None:
        keys = (item.url_key, *item.alias_keys)
        text_key = (item.source, item.content_hash)
        if text_key in self.seen_texts or any(key in self.seen_keys for key in keys):
            raise DuplicateArticle(f"seen earlier in this crawl: {item.url}")
        self.seen_keys.update(keys)
        self.seen_texts.add(text_key)

    def _check_database(self, item: ArticleItem) -> ArticleItem:
        keys = (item.url_key, *item.alias_keys)
        same_url = self.store.find_by_url(keys)
        if same_url is not None:
            if self.store.content_hash_of(same_url) != item.content_hash:
                item.update_of = same_url
                return item
            self.store.touch(same_url, item.fetched_at)
            self.store.add_aliases(same_url, keys)
            raise DuplicateArticle(f"fetched again, unchanged, article {same_url}: {item.url}")
        existing = self.store.find_same_text(item.source, item.content_hash)
        if existing is not None:
            self.store.add_aliases(existing, keys)
            raise DuplicateArticle(f"already stored as article {existing}: {item.url}")
        return item
