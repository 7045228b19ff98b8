"""Feed and sitemap parsing, on the project's own small documents."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from crawler.crawl.discovery import DiscoveryError, parse_feed, parse_sitemap

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>صوت الأطلس</title>
<item><title>المغرب وإسرائيل</title><link>https://news.example.ma/a/1</link>
<pubDate>Wed, 24 Nov 2021 10:30:00 +0100</pubDate></item>
<item><title>بدون تاريخ</title><link>https://news.example.ma/a/2</link></item>
<item><title>no link</title></item>
</channel></rss>""".encode()

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Courrier</title>
<entry><title>Le Maroc</title><link href="https://fr.example.ma/x"/>
<updated>2024-03-01T08:00:00Z</updated></entry></feed>"""

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://news.example.ma/sitemap-1.xml</loc><lastmod>2024-01-02</lastmod></sitemap>
</sitemapindex>"""

NEWS = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://news.example.ma/a/3</loc><lastmod>2024-05-05T12:00:00+00:00</lastmod>
<news:news><news:publication><news:name>X</news:name><news:language>ar</news:language></news:publication>
<news:publication_date>2024-05-01T09:00:00+01:00</news:publication_date><news:title>T</news:title></news:news></url>
<url><loc>https://news.example.ma/a/4</loc><lastmod>2024-05-06</lastmod></url>
</urlset>"""


def test_rss_entries_dates_in_utc() -> None:
    links = parse_feed(RSS)
    assert [link.url for link in links] == [
        "https://news.example.ma/a/1",
        "https://news.example.ma/a/2",
    ]
    assert links[0].date == datetime(2021, 11, 24, 9, 30, tzinfo=UTC)
    assert links[0].title == "المغرب وإسرائيل"
    assert links[1].date is None


def test_atom_uses_updated_when_no_published() -> None:
    (link,) = parse_feed(ATOM)
    assert link.url == "https://fr.example.ma/x"
    assert link.date == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def test_sitemap_index_and_news_sitemap() -> None:
    kind, links = parse_sitemap(INDEX)
    assert kind == "index" and links[0].url.endswith("sitemap-1.xml")
    kind, links = parse_sitemap(gzip.compress(NEWS))
    assert kind == "urlset"
    assert links[0].date == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)  # publication date beats lastmod
    assert links[1].date == datetime(2024, 5, 6, tzinfo=UTC)


@pytest.mark.parametrize("body", [b"", b"<html><body>not a feed</body></html>", b"\x1f\x8bbroken"])
def test_unreadable_documents_raise_discovery_error(body: bytes) -> None:
    with pytest.raises(DiscoveryError):
        parse_sitemap(body)
    with pytest.raises(DiscoveryError):
        parse_feed(body)


def test_sitemap_entities_are_not_expanded() -> None:
    evil = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://a.ma/&e;</loc></url></urlset>"""
    _, links = parse_sitemap(evil)
    assert all("root:" not in link.url for link in links)
