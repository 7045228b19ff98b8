"""Spider callbacks on hand-built responses: discovery, scope, patterns, dates, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler

from crawler.config import parse_sources
from crawler.crawl.items import FetchedPage
from crawler.crawl.middlewares import ARTICLE_META, DOMAINS_META, SOURCE_META
from spiders.news import HINTS_META, NewsSpider

SOURCES = parse_sources(
    {
        "sources": {
            "atlas": {
                "name": "Atlas",
                "lang": "ar",
                "domains": ["atlas.example"],
                "feeds": ["https://atlas.example/feed"],
                "sitemaps": ["https://atlas.example/sitemap.xml"],
                "sections": ["https://atlas.example/politique"],
                "article_patterns": [r"/\d{4}/\d{2}/[^/]+\.html$"],
                "deny_patterns": [r"/tag/"],
                "follow_patterns": [r"/politique\?page=\d+$"],
                "depth": 2,
                "max_age_days": 30,
            }
        }
    }
)


@pytest.fixture
def spider() -> NewsSpider:
    crawler = get_crawler(NewsSpider)
    spider = NewsSpider(sources=SOURCES)
    spider.crawler = crawler
    crawler.stats.open_spider()
    return spider


def response(
    url: str,
    body: bytes,
    meta_extra: dict[str, Any] | None = None,
    cls: type[TextResponse] = TextResponse,
) -> TextResponse:
    meta = {
        SOURCE_META: "atlas",
        DOMAINS_META: ("atlas.example",),
        "marsad_entry": "x",
        "marsad_section_depth": 1,
        **(meta_extra or {}),
    }
    return cls(url=url, body=body, encoding="utf-8", request=Request(url, meta=meta))


def stat(spider: NewsSpider, name: str) -> int:
    return int(spider.crawler.stats.get_value(f"marsad/atlas/{name}", 0))


def test_feed_entries_become_article_requests_with_feed_dates(spider: NewsSpider) -> None:
    recent = datetime.now(UTC) - timedelta(days=1)
    old = datetime.now(UTC) - timedelta(days=90)
    rss = f"""<rss version="2.0"><channel>
      <item><link>https://atlas.example/2024/05/a.html</link><pubDate>{recent:%a, %d %b %Y %H:%M:%S +0000}</pubDate></item>
      <item><link>https://atlas.example/2024/05/a.html?utm_source=rss</link></item>
      <item><link>https://atlas.example/tag/maroc</link></item>
      <item><link>https://atlas.example/2020/01/old.html</link><pubDate>{old:%a, %d %b %Y %H:%M:%S +0000}</pubDate></item>
    </channel></rss>""".encode()
    requests = list(spider.parse_feed(response("https://atlas.example/feed", rss)))
    assert [r.url for r in requests] == ["https://atlas.example/2024/05/a.html"]
    request = requests[0]
    assert request.meta[ARTICLE_META] is True
    assert request.meta[HINTS_META].feed_date.date() == recent.date()
    assert stat(spider, "denied") == 1
    assert stat(spider, "entry_points_ok") == 1


def test_sitemap_index_follows_only_in_domain_children(spider: NewsSpider) -> None:
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://atlas.example/s1.xml</loc></sitemap>
      <sitemap><loc>https://evil.example/s2.xml</loc></sitemap></sitemapindex>"""
    requests = list(spider.parse_sitemap(response("https://atlas.example/sitemap.xml", index)))
    assert [r.url for r in requests] == ["https://atlas.example/s1.xml"]


def test_section_page_articles_pagination_depth_and_patterns(spider: NewsSpider) -> None:
    html = b"""<html><body><nav><a href="/contact">Contact</a></nav>
      <a href="/2024/05/b.html">B</a> <a href="/2024/05/c.html">C</a>
      <a href="/tag/x/2024/05/t.html">tag</a> <a href="/politique?page=2">2</a>
      <a href="https://other.example/2024/05/z.html">offsite</a></body></html>"""
    out = list(
        spider.parse_section(response("https://atlas.example/politique", html, cls=HtmlResponse))
    )
    urls = sorted(r.url for r in out)
    assert "https://atlas.example/2024/05/b.html" in urls
    assert "https://atlas.example/politique?page=2" in urls
    assert not any("/tag/" in u or "contact" in u for u in urls)
    # offsite article links are requested but the scope middleware drops them (tested end to end)
    page2 = response(
        "https://atlas.example/politique?page=2",
        html,
        {"marsad_section_depth": 2},
        cls=HtmlResponse,
    )
    deeper = [r.url for r in spider.parse_section(page2)]
    assert "https://atlas.example/politique?page=2" not in deeper  # depth limit 2 reached


def test_bad_feed_is_counted_not_fatal(spider: NewsSpider) -> None:
    assert list(spider.parse_feed(response("https://atlas.example/feed", b"<html>oops"))) == []
    assert stat(spider, "entry_points_failed") == 1
    assert stat(spider, "errors/bad_feed") == 1


def test_article_page_is_passed_on_unparsed(spider: NewsSpider) -> None:
    body = "<html><body>مرحبا</body></html>".encode("cp1256")
    resp = HtmlResponse(
        url="https://atlas.example/2024/05/new.html",
        body=body,
        headers={"Content-Type": "text/html; charset=windows-1256"},
        request=Request(
            "https://atlas.example/2024/05/new.html",
            meta={SOURCE_META: "atlas", "redirect_urls": ["https://atlas.example/old"]},
        ),
    )
    (page,) = spider.parse_article(resp)
    assert isinstance(page, FetchedPage)
    assert page.body == body and page.content_type == "text/html; charset=windows-1256"
    assert page.requested_urls == ("https://atlas.example/old",)


def test_child_sitemaps_carry_their_depth_and_stop_at_the_limit(spider: NewsSpider) -> None:
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://atlas.example/deeper.xml</loc></sitemap></sitemapindex>"""
    url = "https://atlas.example/s.xml"
    (child,) = spider.parse_sitemap(response(url, index, {"marsad_sitemap_depth": 4}))
    assert child.meta["marsad_sitemap_depth"] == 5  # MARSAD_SITEMAP_MAX_DEPTH's default
    assert list(spider.parse_sitemap(response(url, index, {"marsad_sitemap_depth": 5}))) == []
    assert stat(spider, "errors/sitemap_limit") == 1
