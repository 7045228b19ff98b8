"""Pure parsers for discovery documents: RSS/Atom feeds and sitemaps (index, urlset, news)."""

from __future__ import annotations

import calendar
import gzip
import io
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import feedparser
from dateutil import parser as dateparser
from lxml import etree

from crawler.extract.meta import to_utc

logger = logging.getLogger(__name__)

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit for one uncompressed file


@dataclass(frozen=True)
class Link:
    url: str
    date: datetime | None = None
    title: str | None = None


class DiscoveryError(ValueError):
    """A feed or sitemap that cannot be read."""


def parse_feed(body: bytes) -> list[Link]:
    """Entries of an RSS or Atom feed, with their published (else updated) dates in UTC."""
    parsed = feedparser.parse(body)
    if not parsed.entries and not parsed.get("version"):
        why = parsed.get("bozo_exception") or "no RSS or Atom root element"
        raise DiscoveryError(f"not a feed: {why}")
    links = []
    for entry in parsed.entries:
        url = entry.get("link")
        if not url:
            continue
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        date = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else None
        links.append(Link(url.strip(), date, entry.get("title")))
    return links


def _parse_date(value: str | None) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        date = dateparser.isoparse(value.strip())
    except (ValueError, OverflowError):
        return None
    return to_utc(date)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse_sitemap(body: bytes) -> tuple[str, list[Link]]:
    """("index", child sitemaps) or ("urlset", pages); news:publication_date beats lastmod."""
    if body[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
                body = stream.read(MAX_SITEMAP_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise DiscoveryError(f"bad gzip sitemap: {exc}") from exc
        if len(body) > MAX_SITEMAP_BYTES:
            raise DiscoveryError("sitemap larger than 50 MB uncompressed")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise DiscoveryError(f"not XML: {exc}") from exc
    if root is None:
        raise DiscoveryError("empty sitemap")
    kind = _local(root.tag)
    if kind not in ("sitemapindex", "urlset"):
        raise DiscoveryError(f"not a sitemap (root element <{kind}>)")
    links = []
    for entry in root:
        fields: dict[str, str] = {}
        for child in entry.iter():
            name = _local(child.tag)
            if name and child.text and name not in fields:
                fields[name] = child.text.strip()
        if not fields.get("loc"):
            continue
        date = _parse_date(fields.get("publication_date")) or _parse_date(fields.get("lastmod"))
        links.append(Link(fields["loc"], date, fields.get("title")))
    return ("index" if kind == "sitemapindex" else "urlset"), links


@dataclass
class SitemapLimits:
    """How far sitemap indexes are followed: at most *max_depth* index levels below a source's
    entry sitemap, and at most *max_count* sitemaps per source and run, so an index that keeps
    naming new child indexes cannot make a crawl endless."""

    max_depth: int
    max_count: int
    _read: Counter[str] = field(default_factory=Counter)

    def admit(self, source: str, depth: int) -> str | None:
        """None when *source* may read one more sitemap *depth* levels below its entry sitemap
        (it is then counted), else why not."""
        if depth > self.max_depth:
            return f"index depth {depth} > MARSAD_SITEMAP_MAX_DEPTH={self.max_depth}"
        if self._read[source] >= self.max_count:
            return f"{self._read[source]} sitemaps read, MARSAD_SITEMAP_MAX_COUNT={self.max_count}"
        self._read[source] += 1
        return None
