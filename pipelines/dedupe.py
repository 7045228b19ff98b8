"""Drops articles already stored or seen in this crawl (same URL, or same source and text).

A stored URL fetched again (its feed or sitemap date moved past our fetch) goes on to the
store as a new version when its text changed; unchanged, it is dropped as a duplicate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crawler import db
from crawler.crawl.drops import DuplicateArticle
from crawler.crawl.items import ArticleItem
from crawler.store import ArticleStore

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class DedupePipeline:
    def __init__(self, store: ArticleStore):
        self.store = store
        self.seen_keys: set[str] = set()
        self.seen_texts: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        return cls(ArticleStore(db.engine_for(crawler.settings["MARSAD_DB_URL"])))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        keys = (item.url_key, *item.alias_keys)
        text_key = (item.source, item.content_hash)
        if text_key in self.seen_texts or any(key in self.seen_keys for key in keys):
            raise DuplicateArticle(f"seen earlier in this crawl: {item.url}")
        self.seen_keys.update(keys)
        self.seen_texts.add(text_key)
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
