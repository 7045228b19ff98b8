"""Scrapy extensions: per-source counters from signals, and a live progress display."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from crawler.crawl.drops import DuplicateArticle, RejectedPage
from crawler.crawl.failures import RedirectLoop, failure_lines, record_failure
from crawler.crawl.middlewares import SOURCE_META
from crawler.crawl.report import count, summarize

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)


def _item_source(item: Any) -> str:
    return getattr(item, "source", "?")


class CrawlCounters:
    """Counts pages, stored articles, drops by reason and pipeline errors, per source; at the
    end, one warning per source and reason that requests failed for."""

    def __init__(self, crawler: Crawler):
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlCounters:
        ext = cls(crawler)
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        crawler.signals.connect(ext.request_dropped, signal=signals.request_dropped)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(ext.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(ext.item_error, signal=signals.item_error)
        crawler.signals.connect(ext.spider_error, signal=signals.spider_error)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def response_received(self, response: Response, request: Request) -> None:
        source = request.meta.get(SOURCE_META)
        if source:
            count(self.stats, source, "pages_fetched")

    def request_dropped(self, request: Request) -> None:
        """A redirect back to a URL of its own chain is dropped by Scrapy's duplicate filter
        (not by REDIRECT_MAX_TIMES, which only stops chains of new URLs): a redirect loop."""
        source = request.meta.get(SOURCE_META)
        if source and request.url in request.meta.get("redirect_urls", ()):
            record_failure(self.stats, source, RedirectLoop.reason, request.url)

    def item_scraped(self, item: Any) -> None:
        count(self.stats, _item_source(item), "articles_stored")

    def item_dropped(self, item: Any, exception: BaseException) -> None:
        source = _item_source(item)
        if isinstance(exception, RejectedPage):
            count(self.stats, source, f"rejected/{exception.reason}")
        elif isinstance(exception, DuplicateArticle):
            count(self.stats, source, "duplicates")
        else:
            count(self.stats, source, f"errors/{type(exception).__name__}")

    def item_error(self, item: Any, failure: Failure) -> None:
        logger.error("pipeline error on %s: %s", getattr(item, "url", item), failure.value)
        count(self.stats, _item_source(item), "errors/pipeline")

    def spider_error(self, failure: Failure, response: Response) -> None:
        source = response.meta.get(SOURCE_META, "?") if response.request else "?"
        count(self.stats, source, "errors/parse")

    def spider_closed(self) -> None:
        for line in failure_lines(self.stats.get_stats()):
            logger.warning("%s", line)


class ProgressDisplay:
    """A live per-source table on stderr while the crawl runs (only when stderr is a terminal)."""

    def __init__(self, crawler: Crawler):
        from rich.console import Console
        from rich.live import Live

        self.crawler = crawler
        self.sources: list[str] = []  # set when the spider opens
        self.console = Console(stderr=True)
        self.live = Live(console=self.console, transient=True, refresh_per_second=4)
        self.loop = task.LoopingCall(self.refresh)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressDisplay:
        if not crawler.settings.getbool("MARSAD_PROGRESS") or not sys.stderr.isatty():
            raise NotConfigured
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self.sources = list(getattr(spider, "sources", {}))
        self.live.start()
        self.loop.start(0.5)

    def spider_closed(self, spider: Spider) -> None:
        if self.loop.running:
            self.loop.stop()
        self.live.stop()

    def refresh(self) -> None:
        from rich.table import Table

        stats = self.crawler.stats.get_stats()
        table = Table(title="Marsad crawl", expand=False)
        for column in ("source", "pages", "stored", "duplicates", "rejected", "errors"):
            table.add_column(column, justify="left" if column == "source" else "right")
        for summary in summarize(stats, self.sources):
            table.add_row(
                summary.source,
                str(summary.pages_fetched),
                str(summary.articles_stored),
                str(summary.duplicates),
                str(sum(summary.rejected.values())),
                str(sum(summary.errors.values())),
            )
        self.live.update(table)
