"""Downloader middlewares: keep sources in their domains, skip stored articles, keep to each
source's page budget, back off, count robots.txt files that cannot be read, and name the
responses Scrapy drops for their size or their redirects (so they are counted as failures)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as ScrapyMetaRefresh
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware as ScrapyRedirect
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxt
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.httpobj import urlparse_cached
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet.defer import Deferred

from crawler import db
from crawler.config import url_in_domains
from crawler.crawl.failures import (
    ROBOTS,
    DroppedResponse,
    GzipBomb,
    RedirectLoop,
    classify,
    record_failure,
    record_limit,
)
from crawler.crawl.report import count
from crawler.text.normalize import url_key

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.robotstxt import RobotParser
    from scrapy.settings import BaseSettings
    from sqlalchemy.engine import Engine

    from crawler.extract.core import PageHints

logger = logging.getLogger(__name__)

SOURCE_META = "marsad_source"
DOMAINS_META = "marsad_domains"
ARTICLE_META = "marsad_article"
HINTS_META = "marsad_hints"  # PageHints the spider found in the feed or sitemap

redirect_settled = object()
"""Signal ``(target, chain)``: an article request redirected from the URLs *chain* to *target*
goes no further in this crawl (*target* is a stored article, or already requested in this
crawl), so no page carries *chain* to the pipelines; whoever stores articles remembers *chain*
as URLs of the article at *target*, so the next crawl skips them before fetching."""


def redirect_chain(request: Request) -> tuple[str, ...]:
    """The URLs *request* was redirected from; none when it leads back into them (a loop)."""
    chain = tuple(request.meta.get("redirect_urls", ()))
    return () if request.url in chain else chain


class OutOfScope(IgnoreRequest):
    """A request (or a redirect) that leaves its source's allowed domains."""


class KnownArticle(IgnoreRequest):
    """An article URL that is already stored and, as far as its feed or sitemap says, unchanged."""


class SourceScopeMiddleware:
    """Drops any request, redirects included, whose host is outside its source's domains."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SourceScopeMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        domains = request.meta.get(DOMAINS_META)
        if domains is None or url_in_domains(request.url, domains):
            return
        source = request.meta.get(SOURCE_META, "?")
        count(self.crawler.stats, source, "offsite")
        logger.debug("%s: not following %s (outside %s)", source, request.url, domains)
        raise OutOfScope(f"{request.url} is outside {source}'s domains")


class SkipKnownArticlesMiddleware:
    """Article URLs already in the database are not fetched again (any URL that led to one),
    unless the feed or sitemap that linked them dates them after our last fetch (an update);
    dates in the future do not count, so a wrong clock cannot make us refetch every crawl."""

    def __init__(self, engine: Engine, crawler: Crawler):
        self.engine = engine
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SkipKnownArticlesMiddleware:
        url = crawler.settings.get("MARSAD_DB_URL")
        if not url:
            raise NotConfigured("MARSAD_DB_URL is not set")
        return cls(db.engine_for(url), crawler)

    def process_request(self, request: Request) -> None:
        if not request.meta.get(ARTICLE_META):
            return
        try:
            with self.engine.connect() as conn:
                known = db.stored_article_fetched(conn, url_key(request.url))
        except SQLAlchemyError as exc:
            if not db.is_unreachable(exc):
                raise
            # the database is away: fetch anyway; dedupe and store wait for it to come back
            logger.debug("%s: known-article check skipped (database unreachable)", request.url)
            return
        if known is None:
            return
        article_id, fetched_at = known
        if _changed_since(request.meta.get(HINTS_META), fetched_at):
            count(self.crawler.stats, request.meta.get(SOURCE_META, "?"), "refetched")
            return
        count(self.crawler.stats, request.meta.get(SOURCE_META, "?"), "known_skipped")
        chain = redirect_chain(request)
        if chain:
            self.crawler.signals.send_catch_log(redirect_settled, target=request.url, chain=chain)
        raise KnownArticle(f"already stored as article {article_id}")


def _changed_since(hints: PageHints | None, fetched_at: datetime) -> bool:
    """Whether a feed or sitemap date is after *fetched_at* (and not in the future)."""
    if hints is None:
        return False
    now = datetime.now(UTC)
    for value in (hints.feed_date, hints.sitemap_date):
        if value is None:
            continue
        when = db.as_utc(value)
        if fetched_at < when <= now:
            return True
    return False


class OverBudget(IgnoreRequest):
    """An article request beyond its source's page budget for this run."""


class PageBudgetMiddleware:
    """At most MARSAD_MAX_PAGES_PER_SOURCE article pages go to the network per source and run;
    further article requests are dropped and counted (``errors/budget_cut``). It runs after
    the scope, known-article and robots.txt checks, so skipped pages do not spend the budget,
    and retries and redirects of a page already counted are not counted again."""

    def __init__(self, crawler: Crawler, budget: int):
        self.crawler = crawler
        self.budget = budget
        self.spent: Counter[str] = Counter()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageBudgetMiddleware:
        return cls(crawler, crawler.settings.getint("MARSAD_MAX_PAGES_PER_SOURCE"))

    def process_request(self, request: Request) -> None:
        meta = request.meta
        if not meta.get(ARTICLE_META) or "retry_times" in meta or "redirect_times" in meta:
            return
        source = meta.get(SOURCE_META, "?")
        if self.spent[source] < self.budget:
            self.spent[source] += 1
            return
        why = f"{self.budget} article pages, MARSAD_MAX_PAGES_PER_SOURCE={self.budget}"
        record_limit(self.crawler.stats, source, "budget_cut", request.url, why)
        raise OverBudget(f"{source}'s page budget is spent")


RETRY_DELAY_META = "marsad_retry_delay"  # seconds to wait before sending this retry
RETRY_AFTER_STATUSES = frozenset({429, 503})  # the answers whose Retry-After we honour


def retry_after(value: bytes | None, now: datetime) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds from *now* (delta-seconds or an
    HTTP date; a date in the past is 0); None when absent or unreadable."""
    text = (value or b"").decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries (RETRY_TIMES, RETRY_HTTP_CODES), each one delayed exponentially
    (base * 2**attempt, capped), or for as long as a 429 or 503 answer's Retry-After asks when
    that is longer (capped by MARSAD_RETRY_AFTER_MAX). The wait is a non-blocking sleep before
    the retry is sent, so the retry still happens, only later."""

    def __init__(self, settings: BaseSettings):
        super().__init__(settings)
        self.base = settings.getfloat("MARSAD_RETRY_BACKOFF_BASE")
        self.cap = settings.getfloat("MARSAD_RETRY_BACKOFF_MAX")
        self.retry_after_cap = settings.getfloat("MARSAD_RETRY_AFTER_MAX")

    def _retry(self, request: Request, reason: str | Exception | type[Exception]) -> Request | None:
        retry = super()._retry(request, reason)
        if retry is not None:
            attempt = retry.meta.get("retry_times", 1)
            retry.meta[RETRY_DELAY_META] = min(self.cap, self.base * 2 ** (attempt - 1))
        return retry

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        result = super().process_response(request, response)
        if isinstance(result, Request) and response.status in RETRY_AFTER_STATUSES:
            asked = retry_after(response.headers.get(b"Retry-After"), datetime.now(UTC))
            if asked is not None:
                wait = min(self.retry_after_cap, asked)
                result.meta[RETRY_DELAY_META] = max(result.meta.get(RETRY_DELAY_META, 0), wait)
        return result

    async def process_request(self, request: Request) -> None:
        delay = request.meta.pop(RETRY_DELAY_META, 0)
        if delay:
            await asyncio.sleep(delay)


class DecompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's decompression; a body over DOWNLOAD_MAXSIZE once decompressed is a GzipBomb."""

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:  # the only one it raises: the size limit
            raise GzipBomb(str(exc)) from exc


class RedirectMiddleware(ScrapyRedirect):
    """Scrapy's redirects; a chain longer than REDIRECT_MAX_TIMES is a RedirectLoop."""

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:  # the only one it raises: too many redirects
            raise RedirectLoop(f"{exc}: {request.url}") from exc


class MetaRefreshMiddleware(ScrapyMetaRefresh):
    """Scrapy's meta refresh redirects; too many of them is a RedirectLoop."""

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:  # the only one it raises: too many redirects
            raise RedirectLoop(f"{exc}: {request.url}") from exc


# A robots.txt answered with one of these means "there is none": everything is allowed.
ROBOTS_ABSENT = frozenset({404, 410})


class RobotsTxtMiddleware(ScrapyRobotsTxt):
    """Scrapy's robots.txt handling (a robots.txt that cannot be read allows everything), with
    each failure counted for the source whose request needed it (``errors/robots_<reason>``)
    and summarised at the end of the crawl, instead of logged with a traceback each time."""

    async def robot_parser(self, request: Request) -> RobotParser | None:
        netloc = urlparse_cached(request).netloc
        if netloc in self._parsers:  # fetched, or being fetched for an earlier request
            return await super().robot_parser(request)
        self._parsers[netloc] = Deferred()
        robots_url = f"{urlparse_cached(request).scheme}://{netloc}/robots.txt"
        robots_request = Request(
            robots_url,
            priority=self.DOWNLOAD_PRIORITY,
            meta={"dont_obey_robotstxt": True},
            callback=NO_CALLBACK,
        )
        source = request.meta.get(SOURCE_META, "?")
        try:
            response = await self.crawler.engine.download_async(robots_request)
            if response.status >= 400 and response.status not in ROBOTS_ABSENT:
                self._failed(source, f"http_{response.status}", robots_url, None)
            await self._parse_robots(response, netloc, request)
        except Exception as exc:  # as Scrapy does: a robots.txt that cannot be read allows all
            if not isinstance(exc, IgnoreRequest) or isinstance(exc, DroppedResponse):
                self._failed(source, classify(exc), robots_url, exc)
            self._robots_error(exc, netloc)
        self._stats.inc_value("robotstxt/request_count")
        return await super().robot_parser(request)

    def _failed(self, source: str, reason: str, url: str, exc: Exception | None) -> None:
        record_failure(self._stats, source, f"{ROBOTS}{reason}", url)
        logger.info("%s: %s fetching %s (read as allowing everything)", source, reason, url)
        if exc is not None:
            logger.debug("%s: robots.txt %s failed", source, url, exc_info=exc)
