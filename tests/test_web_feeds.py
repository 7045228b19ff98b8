"""Atom feeds of a topic and of a search: valid (feedparser), newest first, stable entry ids,
hostile titles escaped, the access token accepted in the feed URL."""

from __future__ import annotations

from collections.abc import Iterator
from html import unescape
from pathlib import Path

import feedparser
import httpx
import pytest
from sqlalchemy.orm import Session

from crawler import db
from crawler.search import Filters
from crawler.search.facets import count
from tests.web_hostile import CONFIG, HOSTILE_TITLE, build
from tests.webserver import RunningWeb, running_web

TOKEN = "feed-reader-token-0123456789abcdef"


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, int]]:
    path: Path = tmp_path_factory.mktemp("feeds") / "marsad.db"
    url = f"sqlite:///{path}"
    return url, build(url)


@pytest.fixture(scope="module")
def web(collection: tuple[str, dict[str, int]]) -> Iterator[RunningWeb]:
    with running_web(collection[0], CONFIG) as running:
        yield running


def _parse(response: httpx.Response) -> feedparser.FeedParserDict:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def test_a_topic_feed_lists_its_newest_articles(
    web: RunningWeb, collection: tuple[str, dict[str, int]]
) -> None:
    _url, ids = collection
    feed = _parse(httpx.get(web.url("/feeds/topic/israel.atom")))
    got = [e.link for e in feed.entries]
    # newest first, no age cut (the articles are from March 2026)
    expected = [ids[k] for k in ("fr", "wire2", "wire1", "hostile")]
    assert got == [web.url(f"/articles/{i}") for i in expected]
    assert len({e.id for e in feed.entries}) == len(feed.entries)
    assert all(e.id.startswith("tag:127.0.0.1,2024:marsad/article/") for e in feed.entries)
    assert all(e.updated_parsed and e.published_parsed for e in feed.entries)
    assert feed.entries[0].links[1]["href"] == "https://le360-fr.example/fr"  # the original
    assert feed.feed.title == "Marsad: topic israel"
    again = _parse(httpx.get(web.url("/feeds/topic/israel.atom")))
    assert [e.id for e in again.entries] == [e.id for e in feed.entries]  # stable ids


def test_hostile_titles_are_escaped_in_the_feed(web: RunningWeb) -> None:
    response = httpx.get(web.url("/feeds/search.atom"), params={"q": "اسرائيل"})
    feed = _parse(response)
    assert b"<script>" not in response.content and b"<img src=x" not in response.content
    titles = [e.title for e in feed.entries]
    assert HOSTILE_TITLE in titles  # the reader shows the text as it was written
    hostile = next(e for e in feed.entries if e.title == HOSTILE_TITLE)
    assert hostile.summary == "@description"  # no formula business in XML: as written
    content = hostile.content[0]
    assert content.type == "text/plain" and "<b onmouseover=alert(2)>bold</b>" in content.value
    assert "\x07" not in content.value and "]]> &amp; done" in content.value
    assert hostile.title_detail.type == "text/plain"


def test_a_search_feed_has_the_search_matches_newest_first(
    web: RunningWeb, collection: tuple[str, dict[str, int]]
) -> None:
    db_url, ids = collection
    engine = db.open_existing(db_url)
    with Session(engine) as session:
        expected = count(session, '"مذكرة تفاهم"', Filters(sources=("le360-ar",)))
    engine.dispose()
    feed = _parse(
        httpx.get(
            web.url("/feeds/search.atom"), params={"q": '"مذكرة تفاهم"', "source": "le360-ar"}
        )
    )
    assert len(feed.entries) == expected == 1
    assert feed.entries[0].link == web.url(f"/articles/{ids['wire2']}")
    assert feed.entries[0].author == "le360-ar"
    limited = _parse(httpx.get(web.url("/feeds/search.atom"), params={"limit": "2"}))
    assert len(limited.entries) == 2


def test_unknown_topic_and_bad_search_are_clear(web: RunningWeb) -> None:
    missing = httpx.get(web.url("/feeds/topic/nope.atom"))
    assert missing.status_code == 404 and "no topic 'nope'" in unescape(missing.text)
    assert "israel" in missing.text and "Traceback" not in missing.text
    bad = httpx.get(web.url("/feeds/search.atom"), params={"q": '"unclosed'})
    assert bad.status_code == 400 and "unclosed quote" in unescape(bad.text)
    assert httpx.get(web.url("/feeds/search.atom?limit=100000")).status_code == 400


def test_a_feed_reader_passes_the_token_in_the_url(collection: tuple[str, dict[str, int]]) -> None:
    with running_web(collection[0], CONFIG, token=TOKEN) as web:
        assert httpx.get(web.url("/feeds/topic/israel.atom")).status_code == 401
        feed = _parse(httpx.get(web.url(f"/feeds/topic/israel.atom?token={TOKEN}")))
        assert len(feed.entries) == 4
