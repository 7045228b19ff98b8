"""The bundled sample site: content, discovery files, traps and encodings, fetched over HTTP."""

from __future__ import annotations

import gzip
import html
import re
import socket
import tomllib
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from email.message import Message
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin
from urllib.robotparser import RobotFileParser

import pytest

from crawler.sample_site import SampleSite, serve_sample_site

SEED_TITLE = "المغرب وإسرائيل يوقعان مذكرة دفاع تاريخية"
SEED_PARAGRAPH = (
    "ووقع المذكرة عن الجانب المغربي الوزير المنتدب المكلف بإدارة الدفاع الوطني عبد اللطيف لوديي."
)
NS = {
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
    "atom": "http://www.w3.org/2005/Atom",
}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_plain = urllib.request.build_opener(_NoRedirect)


def fetch(url: str) -> tuple[int, Message, bytes]:
    """GET without following redirects; HTTP errors are returned, not raised."""
    try:
        with _plain.open(url, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers, err.read()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.canonical: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
        if tag == "link" and a.get("rel") == "canonical":
            self.canonical = a.get("href")


def parse_html(text: str) -> _Links:
    parser = _Links()
    parser.feed(text)
    return parser


@pytest.fixture(scope="module")
def site() -> Iterator[SampleSite]:
    with serve_sample_site() as running:
        yield running


def _feed_entries(site: SampleSite, key: str) -> dict[str, str]:
    """url -> date string from the outlet's configured feeds (RSS or Atom)."""
    out = {}
    for feed in site.sources()["sources"][key]["feeds"]:
        status, _, body = fetch(feed)
        assert status == 200
        root = ET.fromstring(body)
        for item in root.iter("item"):
            out[item.findtext("link")] = item.findtext("pubDate")
        for entry in root.iter(f"{{{NS['atom']}}}entry"):
            link = entry.find("atom:link", NS).get("href")
            out[link] = entry.findtext("atom:published", namespaces=NS)
    return out


def _sitemap_entries(site: SampleSite, key: str) -> dict[str, str]:
    """url -> lastmod/publication_date, following sitemap indexes (and .gz children)."""
    out: dict[str, str] = {}
    todo = list(site.sources()["sources"][key]["sitemaps"])
    while todo:
        status, _, body = fetch(todo.pop())
        assert status == 200
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        root = ET.fromstring(body)
        todo += [loc.text for loc in root.findall("sm:sitemap/sm:loc", NS)]
        for url in root.findall("sm:url", NS):
            date = url.findtext("sm:lastmod", namespaces=NS) or url.findtext(
                "news:news/news:publication_date", namespaces=NS
            )
            assert date, "every sitemap entry carries a date"
            out[url.findtext("sm:loc", namespaces=NS)] = date
    return out


def _section_links(site: SampleSite, key: str) -> set[str]:
    """Links found on section pages, following pagination as the config describes."""
    cfg = site.sources()["sources"][key]
    follow = [re.compile(p) for p in cfg["follow_patterns"]]
    seen, todo, links = set(), [(u, 1) for u in cfg["sections"]], set()
    while todo:
        url, depth = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        status, headers, body = fetch(url)
        assert status == 200, url
        charset = headers.get_content_charset() or "utf-8"
        for href in parse_html(body.decode(charset)).links:
            absolute = urljoin(url, href)
            links.add(absolute)
            if depth < cfg["depth"] and any(p.search(absolute) for p in follow):
                todo.append((absolute, depth + 1))
    return links


def _decode(expected, headers: Message, body: bytes) -> str:
    if expected.encoding == "iso-8859-6":
        return body.decode("iso-8859-6")
    if expected.encoding in ("header", "meta", "none"):
        return body.decode("cp1256")
    return body.decode("utf-8")


# ------------------------------------------------------------------------------ content
def test_at_least_60_articles_in_four_outlets(site: SampleSite) -> None:
    urls = site.article_urls()
    assert set(urls) == {"atlas-ar", "sahil-ar", "gazette-fr", "ledger-en"}
    assert sum(len(u) for u in urls.values()) >= 60
    assert all(len(u) >= 8 for u in urls.values())
    assert len(site.expected) == sum(len(u) for u in urls.values())
    assert {e.lang for e in site.expected} == {"ar", "fr", "en"}


def test_article_lengths(site: SampleSite) -> None:
    for e in site.expected:
        assert 120 <= e.words <= 400, (e.outlet, e.id, e.words)


def test_seed_article_present(site: SampleSite) -> None:
    seed = [e for e in site.expected if e.title == SEED_TITLE]
    assert len(seed) == 1 and seed[0].outlet == "atlas-ar"
    assert seed[0].date.date().isoformat() == "2021-11-24"
    status, _, body = fetch(seed[0].url)
    text = body.decode("utf-8")
    assert status == 200
    assert f"<title>{SEED_TITLE} - أخبار الأطلس</title>" in text
    assert SEED_PARAGRAPH in text
    assert "المصدر: دو نورد افريكا بوست" in text


def test_wire_story_syndicated_with_same_body(site: SampleSite) -> None:
    groups: dict[str, list] = {}
    for e in site.expected:
        if e.group:
            groups.setdefault(e.group, []).append(e)
    assert groups
    for members in groups.values():
        assert len({m.outlet for m in members}) >= 2
        assert any(m.encoding != "utf-8" for m in members)
        assert len({m.title for m in members}) == len(members)
        articles = [site.outlets[m.outlet].article(m.id) for m in members]
        bodies = [set(a.paragraphs[1:-1]) for a in articles]
        assert bodies[0] and all(b == bodies[0] for b in bodies)


def test_mix_of_confusers_and_undated_pages(site: SampleSite) -> None:
    everything = " ".join(" ".join(a.paragraphs) for o in site.outlets.values() for a in o.articles)
    for phrase in ("خط الدفاع", "المدافع", "صلاة المغرب", "هيئة الدفاع", "la défense", "defender"):
        assert phrase in everything, phrase
    undated = [e for e in site.expected if not e.has_page_date]
    assert len(undated) >= 5
    assert {e.outlet for e in undated} >= {"atlas-ar", "sahil-ar", "gazette-fr"}


# ------------------------------------------------------------------------------ robots
def test_robots_disallow_private(site: SampleSite) -> None:
    for key, base in site.bases.items():
        status, _, body = fetch(base + "/robots.txt")
        assert status == 200
        robots = RobotFileParser()
        robots.parse(body.decode("utf-8").splitlines())
        assert not robots.can_fetch("Marsad", base + "/private/x-100996.html")
        for url in site.article_urls()[key]:
            assert robots.can_fetch("Marsad", url)
        assert (robots.site_maps() or []) == site.sources()["sources"][key]["sitemaps"]
    private = [t for t in site.traps if t.kind == "private"]
    assert private and all("/private/" in t.url for t in private)


# ------------------------------------------------------------------------------ discovery
def test_feeds_and_sitemaps_parse_with_dates(site: SampleSite) -> None:
    for e in site.expected:
        feed = _feed_entries(site, e.outlet) if "feed" in e.via else {}
        smap = _sitemap_entries(site, e.outlet) if "sitemap" in e.via else {}
        if "feed" in e.via:
            redirected = {t.target_url: t.url for t in site.traps if t.kind == "redirect"}
            assert redirected.get(e.url, e.url) in feed, e.url
        if "sitemap" in e.via:
            assert e.url in smap, e.url
            assert smap[e.url].startswith(e.date.date().isoformat())


def test_windows_1256_feed(site: SampleSite) -> None:
    status, _, body = fetch(site.sources()["sources"]["sahil-ar"]["feeds"][0])
    assert status == 200 and body.startswith(b'<?xml version="1.0" encoding="windows-1256"?>')
    titles = [t.text for t in ET.fromstring(body).iter("title")]
    assert "انطلاق مناورات الأسد الإفريقي في عدة مناطق بالمملكة" in titles


def test_every_article_reachable_and_only_via_paths_exist(site: SampleSite) -> None:
    redirects = {t.url: t.target_url for t in site.traps if t.kind == "redirect"}
    found: dict[str, set[str]] = {}
    for key in site.bases:
        cfg = site.sources()["sources"][key]
        paths = {
            "feed": set(_feed_entries(site, key)) if cfg["feeds"] else set(),
            "sitemap": set(_sitemap_entries(site, key)) if cfg["sitemaps"] else set(),
            "section": _section_links(site, key),
        }
        for name, urls in paths.items():
            for url in urls:
                found.setdefault(redirects.get(url, url), set()).add(name)
    for e in site.expected:
        assert e.via <= found.get(e.url, set()), (e.url, e.via)
    only = {frozenset([p]) for e in site.expected for p in e.via if len(e.via) == 1}
    assert only == {frozenset(["feed"]), frozenset(["sitemap"]), frozenset(["section"])}


def test_section_pages_paginate_and_link_tags(site: SampleSite) -> None:
    for key in site.bases:
        cfg = site.sources()["sources"][key]
        links = _section_links(site, key)
        follow = [re.compile(p) for p in cfg["follow_patterns"]]
        assert any(p.search(u) for p in follow for u in links), key
        deny = [re.compile(p) for p in cfg["deny_patterns"]]
        assert any(p.search(u) for p in deny for u in links), key


# ------------------------------------------------------------------------------ pages
def test_every_article_page_served_and_decodes(site: SampleSite) -> None:
    for e in site.expected:
        status, headers, body = fetch(e.url)
        assert status == 200, e.url
        text = html.unescape(_decode(e, headers, body))
        assert f"<title>{e.title} - {site.outlets[e.outlet].name}</title>" in text
        assert "<h1" in text and e.title in text
        page = parse_html(text)
        assert page.canonical == e.url
        assert 'property="og:image"' in text and 'name="description"' in text
        if e.has_page_date:
            assert e.date.isoformat() in text
        else:
            assert "published_time" not in text and "datetime=" not in text
            assert "datePublished" not in text
            assert not re.search(r"\d{4}-\d{2}-\d{2}", text), e.url


def test_windows_1256_charset_declarations(site: SampleSite) -> None:
    modes = {e.encoding for e in site.expected if e.outlet == "sahil-ar"}
    assert modes == {"header", "meta", "none", "iso-8859-6"}
    for e in (e for e in site.expected if e.outlet == "sahil-ar"):
        _, headers, body = fetch(e.url)
        declared = headers.get_content_charset()
        meta = b"charset=windows-1256" in body
        assert {
            "header": ("windows-1256", False),
            "meta": (None, True),
            "none": (None, False),
            "iso-8859-6": ("iso-8859-6", False),
        }[e.encoding] == (declared, meta), e.url
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        assert e.title in _decode(e, headers, body)


def test_redirect_404_500_and_garbage(site: SampleSite) -> None:
    kinds = {t.kind: t for t in site.traps}
    status, headers, _ = fetch(kinds["redirect"].url)
    assert status == 301 and headers["Location"] == kinds["redirect"].target_url
    with urllib.request.urlopen(kinds["redirect"].url, timeout=10) as resp:
        assert resp.url == kinds["redirect"].target_url and resp.status == 200
    for t in site.traps:
        if t.kind == "not_found":
            assert fetch(t.url)[0] == 404
        elif t.kind == "server_error":
            assert fetch(t.url)[0] == 500
        elif t.kind == "garbage":
            status, _, body = fetch(t.url)
            assert status == 200 and b"\x00" in body and not body.rstrip().endswith(b"</html>")


def test_traps_that_look_like_articles(site: SampleSite) -> None:
    kinds = {t.kind for t in site.traps}
    assert kinds >= {
        "redirect",
        "server_error",
        "garbage",
        "not_found",
        "listing",
        "tag_page",
        "too_short",
        "private",
        "utm_variant",
        "amp_variant",
        "offsite",
    }
    for t in site.traps:
        cfg = site.sources()["sources"][t.outlet]
        if t.kind in ("listing", "tag_page", "too_short", "private", "garbage"):
            assert any(re.search(p, t.url) for p in cfg["article_patterns"]), t.url
            assert not any(re.search(p, t.url) for p in cfg["deny_patterns"]), t.url
            assert t.url not in site.article_urls()[t.outlet]
        if t.kind in ("listing", "tag_page"):
            status, _, body = fetch(t.url)
            assert status == 200 and body.count(b"<a href") > 15
        if t.kind == "too_short":
            status, _, body = fetch(t.url)
            assert status == 200
        if t.kind in ("utm_variant", "amp_variant"):
            status, headers, body = fetch(t.url)
            assert status == 200
            target = next(e for e in site.expected if e.url == t.target_url)
            assert parse_html(_decode(target, headers, body)).canonical == t.target_url
        if t.kind == "offsite":
            assert not t.url.startswith(site.bases[t.outlet])


# ------------------------------------------------------------------------------ config
def test_sources_shape_and_write_config(site: SampleSite, tmp_path) -> None:
    topics = tmp_path / "src" / "topics.toml"
    topics.parent.mkdir()
    topics.write_text('[topics.x]\nlabel = "X"\n', encoding="utf-8")
    path = site.write_config(tmp_path / "cfg", topics_from=topics.parent)
    data = tomllib.loads(path.read_text("utf-8"))
    assert data == site.sources()
    assert (tmp_path / "cfg" / "topics.toml").read_text("utf-8") == topics.read_text("utf-8")
    for key, src in data["sources"].items():
        host = site.bases[key].removeprefix("http://")
        assert src["domains"] == [host]
        for url in src["feeds"] + src["sitemaps"] + src["sections"]:
            assert url.startswith(site.bases[key] + "/")
        for url in site.article_urls()[key]:
            assert any(re.search(p, url) for p in src["article_patterns"]), url
            assert not any(re.search(p, url) for p in src["deny_patterns"]), url
    try:
        from crawler.config import parse_sources
    except ImportError:
        return
    sources = parse_sources(data)
    assert {s.key for s in sources} == set(site.bases)


def test_quiet_and_shut_down(capfd) -> None:
    with serve_sample_site() as running:
        base = running.bases["ledger-en"]
        assert fetch(base + "/")[0] == 200
        assert fetch(base + "/no-such-page")[0] == 404
        assert running.requests("ledger-en") == ["/", "/no-such-page"]
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
    port = int(base.rsplit(":", 1)[1])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
