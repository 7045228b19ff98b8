"""Canonical URL, clean display text and the Arabic-normalised matching form."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from crawler.config import url_in_domains
from crawler.crawl.items import ArticleItem
from crawler.crawl.pagework import prepare
from crawler.crawl.report import count
from crawler.text.normalize import canonical_url, url_key

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

CANONICAL_OFFSITE = "errors/canonical_offsite"


def article_url(claimed: str | None, fetched: str, domains: Sequence[str] | None) -> str:
    """The URL an article is stored under: the page's own canonical/og:url claim when it stays
    inside the source's *domains* (None: no scope to check), else the URL it was fetched from.

    A page cannot name another source's article, or an outside host, as itself."""
    fetched = canonical_url(fetched)
    if not claimed:
        return fetched
    claimed = canonical_url(claimed)
    if domains is None or url_key(claimed) == url_key(fetched):
        return claimed
    return claimed if url_in_domains(claimed, domains) else fetched


def normalize_article(
    item: ArticleItem, now: datetime | None = None, domains: Sequence[str] | None = None
) -> ArticleItem:
    extracted = item.extracted
    item.url = article_url(extracted.url, item.fetched_url, domains)
    item.url_key = url_key(item.url)
    seen = {item.url_key}
    aliases = []
    for url in (item.fetched_url, *item.requested_urls):
        key = url_key(url)
        if key not in seen:
            seen.add(key)
            aliases.append(key)
    item.alias_keys = tuple(aliases)
    if not item.prepared:  # the extraction worker normally did it
        prepared = prepare(extracted)
        item.title, item.text = prepared.title, prepared.text
        item.title_norm, item.text_norm = prepared.title_norm, prepared.text_norm
        item.content_hash = prepared.content_hash
    item.fetched_at = now or datetime.now(UTC)
    return item


class NormalizePipeline:
    def __init__(self, crawler: Crawler | None = None):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizePipeline:
        return cls(crawler)

    def _domains(self, source: str) -> Sequence[str] | None:
        """The source's domains, as the spider was configured with them."""
        spider = self.crawler.spider if self.crawler is not None else None
        known = getattr(spider, "sources", None) or {}
        found = known.get(source)
        return tuple(found.domains) if found is not None else None

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        domains = self._domains(item.source)
        normalize_article(item, domains=domains)
        claimed = item.extracted.url
        if claimed and url_key(item.url) != url_key(canonical_url(claimed)):
            stats = self.crawler.stats if self.crawler is not None else None
            count(stats, item.source, CANONICAL_OFFSITE)
            logger.info(
                "%s: %s names %s as its URL, outside %s; stored under the fetched URL",
                item.source,
                item.fetched_url,
                claimed,
                list(domains or ()),
            )
        return item
