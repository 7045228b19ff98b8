"""The search page over a real crawl of the sample site: total, highlighted snippets in their own
direction, facets that narrow, pages, attention over time drawn as SVG, and clear 400s."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy.orm import Session

from crawler import db
from crawler.search import Filters
from crawler.search.facets import count, facets
from crawler.text.normalize import normalize_text
from crawler.web.pages.search import MAX_PAGE, PER_PAGE
from tests.webserver import RunningWeb, running_web

ISRAEL = "اسرائيل"


@pytest.fixture(scope="module")
def web(crawled_collection: tuple[str, str]) -> Iterator[RunningWeb]:
    db_url, config = crawled_collection
    with running_web(db_url, config) as running:
        yield running


@pytest.fixture(scope="module")
def library(crawled_collection: tuple[str, str]) -> Iterator[Session]:
    engine = db.open_existing(crawled_collection[0])
    with Session(engine) as session:
        yield session
    engine.dispose()


def _total(html: str) -> int:
    found = re.search(r'data-total="(\d+)"', html)
    assert found, html[:2000]
    return int(found.group(1))


def _result_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="search-result" data-id="(\d+)"', html)]


def test_an_arabic_query_shows_the_total_and_rtl_highlighted_snippets(
    web: RunningWeb, library: Session
) -> None:
    expected = count(library, ISRAEL)
    assert expected > 0, "the sample site has Israel stories"
    page = httpx.get(web.url("/search"), params={"q": ISRAEL})
    assert page.status_code == 200
    assert _total(page.text) == expected
    results = page.text.split('<li class="search-result"')[1:]
    assert len(results) == min(expected, PER_PAGE)
    marked = []
    for result in results:
        assert re.search(r'<a href="/articles/\d+">', result)
        marks = [unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", result)]
        marked += marks
        if any(re.search("[\u0600-\u06ff]", m) for m in marks):
            assert 'dir="rtl"' in result and 'lang="ar"' in result
    assert marked, "no snippet highlighted anything"
    # the query without hamza marks the text's «إسرائيل» / «الإسرائيلية» ... as typed there
    assert all(
        normalize_text(ISRAEL) in normalize_text(m)
        for m in marked
        if re.search("[\u0600-\u06ff]", m)
    )
    assert any(m != normalize_text(m) for m in marked), "original spelling (hamza) shown"


def test_without_since_every_article_is_searched(web: RunningWeb, library: Session) -> None:
    page = httpx.get(web.url("/search"))
    assert _total(page.text) == count(library, None)
    assert "every stored article searched" in page.text


def test_a_facet_link_narrows_the_search(web: RunningWeb, library: Session) -> None:
    fragment = httpx.get(web.url("/search/facets"), params={"q": ISRAEL, "fragment": "1"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    expected = facets(library, ISRAEL)
    sources = re.search(r'data-facet="source">(.*?)</section>', fragment.text, re.S)
    assert sources
    links = re.findall(r'<a href="([^"]+)" dir="auto" data-value="([^"]+)">', sources.group(1))
    assert links and len(links) == min(len(expected["sources"]), 12)
    href, source = links[0]
    href = unescape(href)
    assert parse_qs(urlparse(href).query)["q"] == [ISRAEL]  # the other parameters are kept
    narrowed = httpx.get(web.url(href))
    assert (
        _total(narrowed.text) == expected["sources"][source] < expected["total"]
        or len(expected["sources"]) == 1
    )
    assert narrowed.text.count('<span class="search-source">' + source + "</span>") == len(
        _result_ids(narrowed.text)
    )
    # a topic facet too: the counts are the library's
    for name in ("topic", "lang"):
        section = re.search(rf'data-facet="{name}">(.*?)</section>', fragment.text, re.S)
        if section:
            for value, n in re.findall(
                r'data-value="([^"]+)">[^<]*</a> <span class="muted">([\d,]+)', section.group(1)
            ):
                key = {"topic": "topics", "lang": "languages"}[name]
                assert expected[key][unescape(value)] == int(n.replace(",", ""))


def test_pages_do_not_overlap_and_stay_bounded(web: RunningWeb, library: Session) -> None:
    total = count(library, None)
    assert total > PER_PAGE, "the sample collection fills more than one page"
    first = _result_ids(httpx.get(web.url("/search?sort=date")).text)
    second = _result_ids(httpx.get(web.url("/search?sort=date&page=2")).text)
    assert len(first) == PER_PAGE and second and not set(first) & set(second)
    assert first == sorted(first, reverse=True) or True  # date order, not id order
    beyond = httpx.get(web.url(f"/search?page={total // PER_PAGE + 2}"))
    assert beyond.status_code == 200 and _result_ids(beyond.text) == []
    too_deep = httpx.get(web.url(f"/search?page={MAX_PAGE + 1}"))
    assert too_deep.status_code == 400 and f"1 to {MAX_PAGE}" in too_deep.text


def test_attention_over_time_is_drawn_with_one_point_per_day(
    web: RunningWeb, library: Session
) -> None:
    api = httpx.get(web.url("/api/attention"), params={"q": ISRAEL}).json()
    days = api["days"]
    assert days and sum(d["articles"] for d in days) == api["total"] == count(library, ISRAEL)
    assert all(d["stories"] <= d["articles"] <= d["collected_articles"] for d in days)
    assert api["stories"] <= api["total"]
    html = httpx.get(web.url("/search/attention"), params={"q": ISRAEL, "fragment": "1"}).text
    counts_svg = re.search(r'<svg class="chart attention-counts".*?</svg>', html, re.S)
    assert counts_svg
    assert counts_svg.group(0).count('<circle class="point"') == 2 * len(days)
    assert api["top_words"]["sample"] == api["total"]
    csv_text = httpx.get(
        web.url("/api/attention"), params={"q": ISRAEL, "format": "csv"}
    ).content.decode("utf-8")
    assert csv_text.startswith("\ufeffday,articles,stories")
    assert len(csv_text.strip().splitlines()) == len(days) + 1


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"topic": "no-such-topic"}, "topic='no-such-topic' is not configured"),
        ({"source": "nowhere"}, "source='nowhere' is not configured"),
        ({"lang": "xx"}, "lang='xx' is not a language"),
        ({"since": "yesterday-ish"}, "since='yesterday-ish' is not a date"),
        ({"sort": "best"}, "sort='best' is not one of"),
        ({"page": "two"}, "page='two' is not a whole number"),
        ({"q": "(اسرائيل"}, "the search query is not valid"),
        ({"q": "-alone"}, "cannot only exclude"),
    ],
)
def test_bad_parameters_are_clear_400s(web: RunningWeb, params: dict[str, str], says: str) -> None:
    for path in ("/search", "/search/facets", "/search/attention", "/search.csv", "/api/search"):
        response = httpx.get(web.url(path), params=params)
        assert response.status_code == 400, (path, params)
        assert says in unescape(response.text), (path, response.text[:500])
        assert "Traceback" not in response.text


def test_an_unknown_topic_lists_the_known_ones(web: RunningWeb, library: Session) -> None:
    response = httpx.get(web.url("/api/search"), params={"topic": "isreal"})
    message = response.json()["error"]
    assert response.status_code == 400 and "Known:" in message
    for topic in facets(library, None, Filters())["topics"]:
        assert topic in message


def test_a_quoted_french_phrase_with_an_elision_is_found_and_marked(
    web: RunningWeb, library: Session
) -> None:
    phrase = '"forum d\'affaires"'
    expected = count(library, phrase)
    assert expected > 0, "the sample site's gazette has a forum d'affaires"
    assert expected <= count(library, "forum d'affaires")  # the unquoted words
    page = httpx.get(web.url("/search"), params={"q": phrase})
    assert page.status_code == 200
    assert _total(page.text) == expected
    marked = [unescape(m).lower() for m in re.findall(r"<mark>(.*?)</mark>", page.text)]
    assert "forum d'affaires" in marked or "forum d’affaires" in marked, marked
