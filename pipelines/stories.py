"""Story fingerprints (shingles, LSH band keys); the store assigns stories in its transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crawler.crawl.items import ArticleItem
from crawler.stories import StoryParams, fingerprint

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings


def story_params(settings: BaseSettings) -> StoryParams:
    """The MARSAD_STORY_* settings, validated (a bad value stops the crawl at start-up)."""
    return StoryParams(
        threshold=settings.getfloat("MARSAD_STORY_THRESHOLD"),
        window_days=settings.getfloat("MARSAD_STORY_WINDOW_DAYS"),
    )


class StoryFingerprintPipeline:
    def __init__(self, params: StoryParams):
        self.params = params

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoryFingerprintPipeline:
        return cls(story_params(crawler.settings))

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleItem) and item.fingerprint is None:  # else from the worker
            item.fingerprint = fingerprint(item.text_norm, self.params)
        return item
