"""Stores each article in its own short transaction, placing it in a story."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crawler import db
from crawler.crawl.drops import DuplicateArticle
from crawler.crawl.items import ArticleItem
from crawler.crawl.report import StatsLike, count
from crawler.store import ArticleStore
from pipelines.stories import story_params

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class StorePipeline:
    def __init__(self, store: ArticleStore, stats: StatsLike | None = None):
        self.store = store
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        engine = db.engine_for(crawler.settings["MARSAD_DB_URL"])
        return cls(ArticleStore(engine, story_params(crawler.settings)), crawler.stats)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        saved = self.store.store(item)
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
