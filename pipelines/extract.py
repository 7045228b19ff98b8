"""Turns a fetched page into an article, in worker processes so the reactor never stalls."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from crawler.crawl.drops import ExtractionFailed, RejectedPage
from crawler.crawl.items import ArticleItem, FetchedPage
from crawler.extract.core import Rejected
from crawler.extract.pool import COMPRESSIONS, PagePool, default_workers

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class ExtractPipeline:
    def __init__(self, workers: int, min_chars: int, compression: str, timeout: float):
        if compression not in COMPRESSIONS:
            raise ValueError(f"MARSAD_RAW_HTML must be one of {COMPRESSIONS}, not {compression!r}")
        self.pool = PagePool(workers, timeout=timeout)
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
        )

    def close_spider(self) -> None:
        self.pool.close()

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        try:
            page = await self.pool.run(
                item.body,
                item.url,
                item.content_type,
                item.hints,
                item.forced_encoding,
                self.compression,
                self.min_chars,
            )
        except Exception as exc:
            logger.warning("%s: extraction failed for %s: %r", item.source, item.url, exc)
            raise ExtractionFailed(f"extraction failed: {exc!r}", log_level="WARNING") from exc
        if isinstance(page.result, Rejected):
            raise RejectedPage(page.result.reason, f"{item.url} {page.result.detail}")
        return ArticleItem(
            source=item.source,
            fetched_url=item.url,
            extracted=page.result,
            encoding=page.encoding,
            content_type=item.content_type,
            raw=page.raw,
            raw_compression=page.raw_compression,
            requested_urls=item.requested_urls,
        )
