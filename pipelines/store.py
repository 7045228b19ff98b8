"""Stores each article in its own short transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crawler import db
from crawler.items import ArticleItem
from crawler.store import ArticleStore
from pipelines.drops import DuplicateArticle

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class StorePipeline:
    def __init__(self, store: ArticleStore):
        self.store = store

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(ArticleStore(db.engine_for(crawler.settings["MARSAD_DB_URL"])))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        if self.store.save(item) is None:
            raise DuplicateArticle(f"stored by a concurrent crawl: {item.url}")
        return item
