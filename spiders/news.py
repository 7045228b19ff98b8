"""One config-driven spider: feeds, sitemaps and section pages -> article pages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler import settings as defaults
from crawler.config import Source, compile_pattern, load_config, url_in_domains
from crawler.crawl.discovery import (
    DiscoveryError,
    Link,
    SitemapLimits,
    parse_feed,
    parse_sitemap,
)
from crawler.crawl.failures import (
    DroppedResponse,
    classify,
    exc_info,
    record_failure,
    record_limit,
)
from crawler.crawl.items import FetchedPage
from crawler.crawl.middlewares import ARTICLE_META, DOMAINS_META, HINTS_META, SOURCE_META
from crawler.crawl.report import count
from crawler.crawl.run import SPIDER_NAME
from crawler.extract.core import PageHints
from crawler.text.normalize import url_key

logger = logging.getLogger(__name__)

ENTRY_META = "marsad_entry"
DEPTH_META = "marsad_section_depth"
SITEMAP_DEPTH_META = "marsad_sitemap_depth"  # index levels below the entry sitemap


class NewsSpider(scrapy.Spider):
    name = SPIDER_NAME
    # Scrapy starts CONCURRENT_ITEMS asyncio tasks for every response's output (100 by
    # default: ~220 loop callbacks per page); an article page yields one item, a sitemap
    # cheap requests, so one at a time loses nothing
    custom_settings: dict[str, Any] | None = {"CONCURRENT_ITEMS": 1}  # noqa: RUF012  # Scrapy declares it an instance variable

    def __init__(
        self,
        sources: Iterable[Source] | str | None = None,
        config: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if sources is None or isinstance(sources, str):
            loaded = load_config(config)
            keys = [key for key in (sources or "").split(",") if key]
            sources = (
                [loaded.source(key) for key in keys]
                if keys
                else [source for source in loaded.sources if source.enabled]
            )
        self.sources: dict[str, Source] = {source.key: source for source in sources}
        self._patterns = {
            key: (
                [compile_pattern(p) for p in source.article_patterns],
                [compile_pattern(p) for p in source.deny_patterns],
                [compile_pattern(p) for p in source.follow_patterns],
            )
            for key, source in self.sources.items()
        }
        self._queued_articles: set[str] = set()

    # -- discovery ---------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for source in self.sources.values():
            for url in source.feeds:
                yield self._entry(source, url, self.parse_feed, "feed")
            for url in source.sitemaps:
                if self._sitemap_admitted(source, url, 0):
                    yield self._entry(source, url, self.parse_sitemap, "sitemap")
            for url in source.sections:
                yield self._entry(source, url, self.parse_section, "section", depth=1)

    def _meta(self, source: Source, **extra: Any) -> dict[str, Any]:
        return {SOURCE_META: source.key, DOMAINS_META: source.domains, **extra}

    def _entry(
        self,
        source: Source,
        url: str,
        callback: Callable[[Response], Iterator[scrapy.Request]],
        kind: str,
        depth: int = 0,
    ) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.on_error,
            meta=self._meta(source, **{ENTRY_META: kind, DEPTH_META: depth}),
            dont_filter=True,
            priority=10,
        )

    def _source(self, response: Response) -> Source:
        return self.sources[response.meta[SOURCE_META]]

    def _entry_ok(self, response: Response) -> None:
        if response.meta.get(ENTRY_META):
            count(self.crawler.stats, response.meta[SOURCE_META], "entry_points_ok")

    def _entry_failed(self, source: str, meta: dict[str, Any], why: str) -> None:
        if meta.get(ENTRY_META):
            count(self.crawler.stats, source, "entry_points_failed")
        count(self.crawler.stats, source, f"errors/{why}")

    def _too_old(self, source: Source, date: datetime | None) -> bool:
        if source.max_age_days is None or date is None:
            return False
        return date < datetime.now(UTC) - timedelta(days=source.max_age_days)

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        source = self._source(response)
        try:
            links = parse_feed(response.body)
        except DiscoveryError as exc:
            logger.warning("%s: unreadable feed %s: %s", source.key, response.url, exc)
            self._entry_failed(source.key, response.meta, "bad_feed")
            return
        self._entry_ok(response)
        for link in links:
            if not self._too_old(source, link.date):
                yield from self._article(
                    source,
                    link,
                    PageHints(feed_date=link.date, feed_title=link.title, source_lang=source.lang),
                )

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        source = self._source(response)
        try:
            kind, links = parse_sitemap(response.body)
        except DiscoveryError as exc:
            logger.warning("%s: unreadable sitemap %s: %s", source.key, response.url, exc)
            self._entry_failed(source.key, response.meta, "bad_sitemap")
            return
        self._entry_ok(response)
        depth = response.meta.get(SITEMAP_DEPTH_META, 0) + 1
        for link in links:
            if self._too_old(source, link.date):
                continue
            if kind == "index":
                if url_in_domains(link.url, source.domains) and self._sitemap_admitted(
                    source, link.url, depth
                ):
                    yield scrapy.Request(
                        link.url,
                        callback=self.parse_sitemap,
                        errback=self.on_error,
                        meta=self._meta(source, **{SITEMAP_DEPTH_META: depth}),
                        priority=5,
                    )
            else:
                yield from self._article(
                    source, link, PageHints(sitemap_date=link.date, source_lang=source.lang)
                )

    @cached_property
    def _sitemap_limits(self) -> SitemapLimits:
        def setting(name: str) -> int:  # a crawler built without our settings gets our defaults
            return self.crawler.settings.getint(name, getattr(defaults, name))

        return SitemapLimits(
            max_depth=setting("MARSAD_SITEMAP_MAX_DEPTH"),
            max_count=setting("MARSAD_SITEMAP_MAX_COUNT"),
        )

    def _sitemap_admitted(self, source: Source, url: str, depth: int) -> bool:
        why = self._sitemap_limits.admit(source.key, depth)
        if why is not None:
            record_limit(self.crawler.stats, source.key, "sitemap_limit", url, why)
        return why is None

    def parse_section(self, response: Response) -> Iterator[scrapy.Request]:
        source = self._source(response)
        if not isinstance(response, TextResponse):
            self._entry_failed(source.key, response.meta, "not_html")
            return
        self._entry_ok(response)
        _, deny, follow = self._patterns[source.key]
        depth = response.meta.get(DEPTH_META, 1)
        extractor = LinkExtractor(unique=True)  # its deny= would match with Python's re
        for found in extractor.extract_links(response):
            url = found.url
            if any(p.search(url) for p in deny):  # not counted, as LinkExtractor's deny
                continue
            if not url_in_domains(url, source.domains):
                count(self.crawler.stats, source.key, "offsite")
                continue
            if any(p.search(url) for p in follow):
                if depth < source.depth:
                    yield scrapy.Request(
                        url,
                        callback=self.parse_section,
                        errback=self.on_error,
                        meta=self._meta(source, **{DEPTH_META: depth + 1}),
                    )
            else:
                yield from self._article(source, Link(url), PageHints(source_lang=source.lang))

    def _article(self, source: Source, link: Link, hints: PageHints) -> Iterator[scrapy.Request]:
        url = link.url
        allow, deny, _ = self._patterns[source.key]
        if any(p.search(url) for p in deny):
            count(self.crawler.stats, source.key, "denied")
            return
        if allow and not any(p.search(url) for p in allow):  # feed, sitemap and section alike
            count(self.crawler.stats, source.key, "pattern_skipped")
            return
        key = url_key(url)
        if key in self._queued_articles:
            return
        self._queued_articles.add(key)
        yield scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.on_error,
            meta=self._meta(source, **{ARTICLE_META: True, HINTS_META: hints}),
        )

    # -- articles ----------------------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterator[FetchedPage]:
        source = self._source(response)
        content_type = response.headers.get(b"Content-Type")
        yield FetchedPage(
            source=source.key,
            url=response.url,
            requested_urls=tuple(response.meta.get("redirect_urls", ())),
            body=response.body,
            content_type=content_type.decode("latin-1") if content_type else None,
            hints=replace(
                response.meta.get(HINTS_META) or PageHints(source_lang=source.lang),
                source_name=source.name,
                timezone=source.timezone,
                fetched_at=datetime.now(UTC),
            ),
            forced_encoding=source.encoding,
        )

    def on_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]  # Scrapy adds it for errbacks
        source = request.meta.get(SOURCE_META, "?")
        skipped = isinstance(failure.value, IgnoreRequest)
        if skipped and not isinstance(failure.value, HttpError | DroppedResponse):
            if "robots.txt" in str(failure.value):
                count(self.crawler.stats, source, "robots_blocked")
            return  # our own skips (offsite, already stored) are counted where they happen
        why = classify(failure.value)
        logger.info("%s: %s fetching %s", source, why, request.url)
        logger.debug("%s: %s failed", source, request.url, exc_info=exc_info(failure))
        if request.meta.get(ENTRY_META):
            count(self.crawler.stats, source, "entry_points_failed")
        record_failure(self.crawler.stats, source, why, request.url)
