"""The analysts' web page in a real headless Chromium (Debian's ``chromium``, tests/browser.py),
served by uvicorn on loopback over a generated collection (crawler/sample_site/bulk.py) whose
counts are known, and over the crawled sample site for the topic backtest.

What a person would check: an Arabic query shows the right count and its snippets read right to
left; a facet click narrows the results; the chart is drawn with one point per day; a story
page lists its outlets; markup in a crawled title and text stays text (no dialog, CSP header);
the backtest form shows added and removed articles; the Atom feed parses.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import feedparser
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler import db
from crawler.config import load_config
from crawler.db import Article, ArticleTopic, Story
from crawler.sample_site.bulk import HOSTILE_TEXT, HOSTILE_TITLE, PLANTED, BulkSpec, generate
from crawler.tagging import Tagger
from tests.browser import chromium, require_chromium
from tests.webserver import RunningWeb, running_web

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"
ARABIC_PHRASE = f'"{PLANTED["ar"]}"'
TIMEOUT_MS = 30_000  # generous: the machine is shared


@dataclass(frozen=True)
class Collection:
    db_url: str
    config_dir: str
    planted_ar: int
    hostile_id: int


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Collection:
    folder = tmp_path_factory.mktemp("bulk")
    url = f"sqlite:///{folder / 'marsad.db'}"
    engine = db.make_engine(url)
    summary = generate(engine, load_config(REPO_CONFIG), BulkSpec(articles=800, days=30))
    engine.dispose()
    assert summary.hostile_id is not None
    return Collection(url, str(REPO_CONFIG), summary.planted["ar"], summary.hostile_id)


@pytest.fixture(scope="module")
def web(collection: Collection) -> Iterator[RunningWeb]:
    with running_web(collection.db_url, collection.config_dir) as served:
        yield served


@pytest.fixture(scope="module")
def context() -> Iterator:  # type: ignore[type-arg]
    require_chromium()
    with chromium() as browser_context:
        browser_context.set_default_timeout(TIMEOUT_MS)
        yield browser_context


@pytest.fixture
def page(context):  # type: ignore[no-untyped-def]
    """A fresh tab; every JavaScript dialog is recorded (and dismissed), none may open."""
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    assert tab.dialogs == [], f"a JavaScript dialog opened: {tab.dialogs}"
    tab.close()


def search_url(web: RunningWeb, query: str, extra: str = "") -> str:
    return web.url(f"/search?q={quote(query)}{extra}")


def shown_total(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.locator("#total [data-total]").get_attribute("data-total"))


# --------------------------------------------------------------------------- search


def test_an_arabic_query_shows_the_right_count_and_rtl_snippets(page, web, collection) -> None:  # type: ignore[no-untyped-def]
    response = page.goto(search_url(web, ARABIC_PHRASE))
    assert response is not None and response.status == 200
    assert shown_total(page) == collection.planted_ar
    results = page.locator(".search-result")
    assert results.count() == min(collection.planted_ar, results.count()) > 0
    snippets = page.locator(".search-result .search-snippet[lang=ar]")
    assert snippets.count() > 0
    for i in range(snippets.count()):
        snippet = snippets.nth(i)
        direction = snippet.evaluate("el => getComputedStyle(el).direction")
        assert direction == "rtl", snippet.inner_text()
        marked = snippet.locator("mark").all_inner_texts()
        assert marked and all("مذكرة تفاهم" in m for m in marked), marked
    # the phrase marked in the first title too, and the title right-to-left
    title = page.locator(".search-result h3").first
    assert title.evaluate("el => getComputedStyle(el).direction") == "rtl"


def test_a_facet_click_narrows_the_results(page, web) -> None:  # type: ignore[no-untyped-def]
    page.goto(search_url(web, "المغرب"))
    before = shown_total(page)
    facet = page.locator('.search-facet[data-facet="source"] li a').first
    facet.wait_for()  # the facets arrive in their own request
    source = facet.get_attribute("data-value")
    count = int(facet.locator("xpath=..").locator(".muted").inner_text().replace(",", ""))
    assert 0 < count < before
    facet.click()
    page.wait_for_url(re.compile(r"[?&]source="))
    assert shown_total(page) == count
    outlets = page.locator(".search-result .search-source").all_inner_texts()
    assert outlets and set(outlets) == {source}
    assert page.locator(".search-active .search-chip").count() == 1  # the filter, removable


def test_the_attention_chart_has_one_point_per_day(page, web, collection) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(collection.db_url)
    with Session(engine) as session:
        rows = session.execute(
            select(Article.published_at, Article.published_offset).where(
                Article.text.contains(PLANTED["ar"]) | Article.title.contains(PLANTED["ar"])
            )
        ).all()
    engine.dispose()
    # days are the publisher's (every generated article has a publication time and offset)
    days = {db.publisher_time(when, offset).date() for when, offset in rows}
    first, last = min(days), max(days)
    expected = (last - first).days + 1  # every day from the first to the last, zeros included
    page.goto(search_url(web, ARABIC_PHRASE))
    chart = page.locator("#attention svg").first
    chart.wait_for()  # drawn on the server, fetched as a fragment
    articles = chart.locator("g.series").first
    assert articles.locator("polyline").count() == 1
    assert articles.locator("circle.point").count() == expected
    # the points carry the counts (hover titles "day · series: n"): they add up to the total
    titles = articles.locator("circle.point title").all_text_contents()
    assert sum(int(t.rsplit(":", 1)[1].replace(",", "")) for t in titles) == collection.planted_ar
    assert page.locator("#attention [data-days]").get_attribute("data-days") == str(expected)


# --------------------------------------------------------------------------- stories


def test_a_story_page_lists_its_outlets(page, web, collection) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(collection.db_url)
    with Session(engine) as session:
        story = session.scalars(
            select(Story).order_by(Story.article_count.desc(), Story.id).limit(1)
        ).one()
        outlets = list(story.sources)
        copies = session.scalars(select(Article.source).where(Article.story_id == story.id)).all()
    engine.dispose()
    assert len(outlets) >= 3
    page.goto(web.url(f"/stories/{story.id}"))
    listed = page.locator(".outlets .outlet").all_inner_texts()
    config = load_config(collection.config_dir)
    names = {s.key: s.name for s in config.sources}
    assert len(listed) == len(outlets)
    for key in outlets:
        assert any(key in shown or names[key] in shown for shown in listed), (key, listed)
    assert page.locator(".copies-grid .copy").count() == len(copies)
    assert sorted(page.locator(".copy .outlet").all_inner_texts()) == sorted(copies)


# --------------------------------------------------------------------------- hostile content


def test_markup_in_a_crawled_title_and_text_stays_text(page, web, collection) -> None:  # type: ignore[no-untyped-def]
    response = page.goto(web.url(f"/articles/{collection.hostile_id}"))
    assert response is not None and response.status == 200
    csp = response.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "script-src 'self'" in csp, csp
    assert response.headers.get("x-content-type-options") == "nosniff"
    title = page.locator("h1.article-title")
    assert title.inner_text().strip() == HOSTILE_TITLE
    body = page.locator(".article-text").inner_text()
    assert "<script>alert('text')</script>" in body and "onerror=alert(2)" in body
    assert HOSTILE_TEXT.split(" و ")[0] in body
    # nothing of the content became an element: no inline script, no img, no javascript: link
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0
    assert page.locator("main img").count() == 0
    assert page.locator('a[href^="javascript:"]').count() == 0
    # the same title in the search results: text as well
    page.goto(search_url(web, ARABIC_PHRASE, "&sort=date"))
    shown = page.locator(f'.search-result[data-id="{collection.hostile_id}"] h3').inner_text()
    assert shown.strip() == HOSTILE_TITLE
    assert page.locator(".search-result img").count() == 0


# --------------------------------------------------------------------------- feeds


def test_the_atom_feed_of_a_search_parses(web, collection) -> None:  # type: ignore[no-untyped-def]
    response = httpx.get(search_url(web, ARABIC_PHRASE).replace("/search?", "/feeds/search.atom?"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert len(feed.entries) == collection.planted_ar
    titles = [entry.title for entry in feed.entries]
    assert HOSTILE_TITLE in titles  # escaped in the XML, the same text once parsed
    assert all(entry.link.startswith(web.base + "/articles/") for entry in feed.entries)


# --------------------------------------------------------------------------- topics


MOROCCO_AS_DEFENSE = """[topics.defense]
label = "Defense, edited"
threshold = 1.0

[topics.defense.terms]
ar = ["المغرب"]
fr = ["Maroc"]
en = ["Morocco"]
"""


def test_the_backtest_form_shows_added_and_removed_articles(
    context, crawled_collection, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    db_url, config_dir = crawled_collection
    # what the edited definition tags, by the tagger itself, against the stored tags
    edited = tmp_path / "config"
    shutil.copytree(config_dir, edited)
    (edited / "topics.toml").write_text(MOROCCO_AS_DEFENSE, encoding="utf-8")
    tagger = Tagger(list(load_config(edited).topics))
    engine = db.make_engine(db_url)
    with Session(engine) as session:
        rows = session.execute(select(Article.id, Article.title, Article.text, Article.language))
        would = {
            r.id
            for r in rows
            if any(t.topic == "defense" for t in tagger.tag(r.title, r.text, r.language))
        }
        stored = set(
            session.scalars(select(ArticleTopic.article_id).where(ArticleTopic.topic == "defense"))
        )
    engine.dispose()
    added, removed = would - stored, stored - would
    assert added and removed, "the edit must both add and remove articles on the sample site"

    with running_web(db_url, config_dir) as served:
        page = context.new_page()
        page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
        page.goto(served.url("/topics/backtest?topic=defense"))
        assert "[topics.defense]" in page.locator("#definition").input_value()  # the current one
        page.fill("#definition", MOROCCO_AS_DEFENSE)
        page.select_option("select[name=days]", "all")
        page.click(".backtest-form button[type=submit]")
        result = page.locator('.backtest-result[data-topic="defense"]')
        result.wait_for()
        counts = result.locator(".backtest-counts").inner_text()
        assert f"+{len(added)} added" in counts and f"−{len(removed)} removed" in counts, counts
        shown_added = {
            int(i)
            for i in result.locator(".backtest-added li.change").evaluate_all(
                "items => items.map(li => li.dataset.articleId)"
            )
        }
        shown_removed = {
            int(i)
            for i in result.locator(".backtest-removed li.change").evaluate_all(
                "items => items.map(li => li.dataset.articleId)"
            )
        }
        assert shown_added and shown_added <= added
        assert shown_removed and shown_removed <= removed
        # with its evidence: the edited terms, found in the added articles
        terms = result.locator(".backtest-added .term").all_inner_texts()
        assert terms and set(terms) <= {"المغرب", "Maroc", "Morocco"}, terms
        page.close()
    # nothing was written: the stored tags are what they were
    engine = db.make_engine(db_url)
    with Session(engine) as session:
        after = set(
            session.scalars(select(ArticleTopic.article_id).where(ArticleTopic.topic == "defense"))
        )
    engine.dispose()
    assert after == stored
