"""Drops articles already stored or seen in this crawl (same URL, or same source and text).

A stored URL fetched again (its feed or sitemap date moved past our fetch) goes on to the
store as a new version when its text changed; unchanged, it is dropped as a duplicate.
Under Scrapy the database checks go through the crawl's ``StorageGuard`` (an outage pauses
and retries them); built directly, the pipeline answers synchronously.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crawler import db
from crawler.crawl.drops import DuplicateArticle
from crawler.crawl.items import ArticleItem
from crawler.store import ArticleStore
from pipelines.store import StorageGuard, storage_guard

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class DedupePipeline:
    def __init__(self, store: ArticleStore, guard: StorageGuard | None = None):
        self.store = store
        self.guard = guard
        self.seen_keys: set[str] = set()
        self.seen_texts: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        store = ArticleStore(db.engine_for(crawler.settings["MARSAD_DB_URL"]))
        return cls(store, storage_guard(crawler))

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
