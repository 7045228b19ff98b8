"""Topic tags with their evidence, from the topics in config/topics.toml."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from crawler.config import Topic, load_config
from crawler.crawl.items import ArticleItem
from crawler.tagging import Tagger

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class TagPipeline:
    """Tags articles the extraction worker did not tag (it normally does)."""

    def __init__(self, topics: Sequence[Topic]):
        self.topics = topics
        self._tagger: Tagger | None = None

    @property
    def tagger(self) -> Tagger:
        if self._tagger is None:  # built on first use: a crawl's worker usually tags
            self._tagger = Tagger(self.topics)
        return self._tagger

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TagPipeline:
        return cls(load_config(crawler.settings.get("MARSAD_CONFIG_DIR")).topics)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleItem) and not item.prepared:  # else tagged in the worker
            item.topics = self.tagger.tag(item.title, item.text, item.extracted.language)
        return item
