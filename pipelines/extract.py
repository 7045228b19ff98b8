"""Turns a fetched page into an article, in worker processes so the reactor never stalls."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from crawler.config import Topic, load_config
from crawler.crawl.drops import ExtractionFailed, RejectedPage
from crawler.crawl.items import ArticleItem, FetchedPage
from crawler.crawl.pagework import PageJob, init_worker, work_page
from crawler.extract.core import Rejected
from crawler.extract.pool import COMPRESSIONS, PagePool, default_workers
from crawler.stories import StoryParams
from pipelines.stories import story_params

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class ExtractPipeline:
    """Extraction, clean text, tags and story fingerprint of each page, in the workers."""

    def __init__(
        self,
        workers: int,
        min_chars: int,
        compression: str,
        timeout: float,
        topics: Sequence[Topic] = (),
        stories: StoryParams | None = None,
    ):
        if compression not in COMPRESSIONS:
            raise ValueError(f"MARSAD_RAW_HTML must be one of {COMPRESSIONS}, not {compression!r}")
        job = PageJob(tuple(topics), stories or StoryParams(), compression, min_chars)
        self.pool = PagePool(workers, timeout=timeout, initializer=init_worker, initargs=(job,))
        self.min_chars = min_chars
        self.compression = compression

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        settings = crawler.settings  # defaults in crawler/settings.py
        workers = settings.getint("MARSAD_EXTRACT_WORKERS")
        return cls(
            workers=default_workers() if workers < 0 else workers,
            min_chars=settings.getint("MARSAD_MIN_CHARS"),
            compression=settings.get("MARSAD_RAW_HTML"),
            timeout=settings.getfloat("MARSAD_EXTRACT_TIMEOUT"),
            topics=load_config(settings.get("MARSAD_CONFIG_DIR")).topics,
            stories=story_params(settings),
        )

    def close_spider(self) -> None:
        self.pool.close()

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        try:
            work = await self.pool.submit(
                work_page, item.body, item.url, item.content_type, item.hints, item.forced_encoding
            )
        except Exception as exc:
            logger.warning("%s: extraction failed for %s: %r", item.source, item.url, exc)
            raise ExtractionFailed(f"extraction failed: {exc!r}", log_level="WARNING") from exc
        page = work.page
        if isinstance(page.result, Rejected):
            raise RejectedPage(page.result.reason, f"{item.url} {page.result.detail}")
        article = ArticleItem(
            source=item.source,
            fetched_url=item.url,
            extracted=page.result,
            encoding=page.encoding,
            content_type=item.content_type,
            raw=page.raw,
            raw_compression=page.raw_compression,
            requested_urls=item.requested_urls,
        )
        if work.prepared is not None:
            prepared = work.prepared
            article.title, article.text = prepared.title, prepared.text
            article.title_norm, article.text_norm = prepared.title_norm, prepared.text_norm
            article.content_hash = prepared.content_hash
            article.topics = list(work.topics)
            article.fingerprint = work.fingerprint
            article.prepared = True
        return article
