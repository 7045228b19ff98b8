"""A source's scope: a domain without a port means the default ports only, a public suffix is
not a domain, and feed and sitemap links are articles only when they match article_patterns."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler

from crawler.config import ConfigError, load_config, parse_sources, url_in_domains
from crawler.crawl.middlewares import DOMAINS_META, SOURCE_META, OutOfScope, SourceScopeMiddleware
from spiders.news import NewsSpider


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://news.example/a", True),
        ("https://news.example/a", True),
        ("http://news.example:80/a", True),
        ("https://www.news.example:443/a", True),
        ("http://news.example:8080/a", False),
        ("https://news.example:8443/a", False),
        ("http://news.example:443/a", False),
        ("ftp://news.example/a", False),
    ],
)
def test_bare_domain_means_default_ports(url: str, ok: bool) -> None:
    assert url_in_domains(url, ["news.example"]) is ok


def test_host_port_entry_is_exact() -> None:
    domains = ["news.example:8080"]
    assert url_in_domains("http://news.example:8080/a", domains)
    assert not url_in_domains("http://news.example/a", domains)
    assert not url_in_domains("http://www.news.example:8080/a", domains)


def test_scope_middleware_drops_other_ports() -> None:
    crawler = get_crawler()
    crawler.stats.open_spider()
    middleware = SourceScopeMiddleware(crawler)
    meta = {SOURCE_META: "s", DOMAINS_META: ("news.example",)}
    middleware.process_request(Request("https://news.example/a", meta=meta))
    with pytest.raises(OutOfScope):
        middleware.process_request(Request("http://news.example:8080/admin", meta=meta))
    assert crawler.stats.get_value("marsad/s/offsite") == 1


@pytest.mark.parametrize("suffix", ["com", "co.uk", "ma", "gov.ma"])
def test_public_suffix_is_refused_as_a_domain(tmp_path: Path, suffix: str) -> None:
    (tmp_path / "sources.toml").write_text(
        f'[sources.s]\nname = "S"\nlang = "fr"\ndomains = ["{suffix}"]\n'
        f'feeds = ["https://site.{suffix}/feed"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    err = info.value
    assert err.key == "sources.s.domains[0]" and "sources.toml" in err.file
    assert "public suffix" in str(err) and err.fix


@pytest.mark.parametrize("domain", ["hespress.com", "bbc.co.uk", "le360.ma", "127.0.0.1:8081"])
def test_registrable_domains_are_accepted(tmp_path: Path, domain: str) -> None:
    host = domain.partition(":")[0]
    port = domain.partition(":")[2]
    (tmp_path / "sources.toml").write_text(
        f'[sources.s]\nname = "S"\nlang = "fr"\ndomains = ["{domain}"]\n'
        f'feeds = ["http://{host}{":" + port if port else ""}/feed"]\n',
        encoding="utf-8",
    )
    (tmp_path / "topics.toml").write_text("", encoding="utf-8")
    (source,) = load_config(tmp_path).sources
    assert source.domains == (domain,)


# --------------------------------------------------------------------------- article_patterns

PATTERNED = {
    "name": "Atlas",
    "lang": "ar",
    "domains": ["atlas.example"],
    "feeds": ["https://atlas.example/feed"],
    "sitemaps": ["https://atlas.example/sitemap.xml"],
    "article_patterns": [r"/\d{4}/\d{2}/[^/]+\.html$"],
    "deny_patterns": [r"/tag/"],
}
FEED = b"""<rss version="2.0"><channel>
  <item><link>https://atlas.example/2024/05/a.html</link></item>
  <item><link>https://atlas.example/about-us</link></item>
  <item><link>https://atlas.example/live/elections</link></item>
  <item><link>https://atlas.example/tag/maroc</link></item>
</channel></rss>"""
SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://atlas.example/2024/05/b.html</loc></url>
  <url><loc>https://atlas.example/contact</loc></url>
</urlset>"""


def spider_for(table: dict[str, object]) -> NewsSpider:
    spider = NewsSpider(sources=parse_sources({"sources": {"atlas": table}}))
    spider.crawler = get_crawler(NewsSpider)
    spider.crawler.stats.open_spider()
    return spider


def fetched(url: str, body: bytes) -> TextResponse:
    meta = {SOURCE_META: "atlas", DOMAINS_META: ("atlas.example",), "marsad_entry": "x"}
    return TextResponse(url=url, body=body, encoding="utf-8", request=Request(url, meta=meta))


def stat(spider: NewsSpider, name: str) -> int:
    return int(spider.crawler.stats.get_value(f"marsad/atlas/{name}", 0))


def test_feed_and_sitemap_links_must_match_article_patterns() -> None:
    spider = spider_for(PATTERNED)
    feed = [r.url for r in spider.parse_feed(fetched("https://atlas.example/feed", FEED))]
    sitemap = spider.parse_sitemap(fetched("https://atlas.example/sitemap.xml", SITEMAP))
    assert feed == ["https://atlas.example/2024/05/a.html"]
    assert [r.url for r in sitemap] == ["https://atlas.example/2024/05/b.html"]
    assert stat(spider, "pattern_skipped") == 3  # about-us, live/elections, contact
    assert stat(spider, "denied") == 1


def test_without_article_patterns_every_link_is_kept() -> None:
    spider = spider_for({k: v for k, v in PATTERNED.items() if k != "article_patterns"})
    feed = [r.url for r in spider.parse_feed(fetched("https://atlas.example/feed", FEED))]
    assert feed == [
        "https://atlas.example/2024/05/a.html",
        "https://atlas.example/about-us",
        "https://atlas.example/live/elections",
    ]
    assert stat(spider, "pattern_skipped") == 0
