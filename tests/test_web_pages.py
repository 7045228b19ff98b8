"""The stories, article, topics and sources pages over a real server (tests/webserver.py) on the
crawled sample collection; hostile content and extra history go into a COPY of it, written
through the normal store and run-recording functions."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from html import unescape
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler import db
from crawler.config import load_config
from crawler.db import Article, ArticleTopic, Story
from crawler.schedule import runs
from crawler.store import ArticleStore
from crawler.tagging import Evidence, TopicTag
from crawler.web.pages.articles import highlight, web_url, word_diff
from crawler.web.security import CONTENT_SECURITY_POLICY
from tests.stored_articles import make_item, store_article
from tests.webserver import running_web

HOSTILE_TITLE = '<script>alert("title")</script> وفد إسرائيلي <img src=x onerror=alert(1)>'
HOSTILE_TEXT = (
    "زار وفد من إسرائيل الرباط اليوم. <script>alert('text')</script>\n"
    '<img src=x onerror="alert(2)"> وقال المتحدث إن الزيارة تأتي في إطار التعاون.'
)
CORRECTED_TEXT = HOSTILE_TEXT.replace("اليوم", "أمس الثلاثاء") + "\nتحديث: أضيفت تفاصيل جديدة."
HOSTILE_RAW = "<html><body><script>alert('raw')</script><p>page</p></body></html>"


def _copy(db_url: str, folder: Path) -> str:
    source = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    target = sqlite3.connect(folder / "marsad.db")
    source.backup(target)
    source.close()
    target.close()
    return f"sqlite:///{folder / 'marsad.db'}"


@pytest.fixture(scope="module")
def hostile(crawled_collection: tuple[str, str], tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """(web, article id, database URL): the collection plus a hostile article in two versions, and a source
    with two failed runs, one of them blocked by HTTP 403 answers."""
    db_url, config = crawled_collection
    url = _copy(db_url, tmp_path_factory.mktemp("hostile"))
    engine = db.make_engine(url, create=False)
    store = ArticleStore(engine)
    topics = load_config(config).topics
    published = datetime(2024, 5, 21, 23, 30, tzinfo=timezone(timedelta(hours=1)))
    link = "https://hostile.example/ar/visit.html"
    first = store_article(
        store,
        make_item(HOSTILE_TEXT, link, "sahil-ar", title=HOSTILE_TITLE, published=published,
                  raw_html=HOSTILE_RAW),
        topics,
    )  # fmt: skip
    second = store_article(
        store,
        make_item(CORRECTED_TEXT, link, "sahil-ar", title=HOSTILE_TITLE, published=published,
                  raw_html=HOSTILE_RAW),
        topics,
    )  # fmt: skip
    assert second.updated and second.article_id == first.article_id
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        # after the crawl's own runs (started before this fixture): the two latest
        for seconds, errors in ((2, {"http_403": 7}), (1, {"http_403": 5})):
            run = runs.start_run(
                session, "gazette-fr", trigger="scheduled", scheduled_for=None,
                scheduler=None, host="web-test", started_at=now - timedelta(seconds=seconds),
            )  # fmt: skip
            verdict = runs.RunVerdict(runs.FAILED, errors=errors, error_summary="403 wall")
            runs.finish_run(session, run, verdict, exit_code=1, finished_at=run.started_at)
    engine.dispose()
    with running_web(url, config) as web:
        yield web, first.article_id, url


@pytest.fixture(scope="module")
def web(crawled_collection: tuple[str, str]):  # type: ignore[no-untyped-def]
    db_url, config = crawled_collection
    with running_web(db_url, config) as running:
        yield running


def _main(html: str) -> str:
    return html[html.index("<main>") : html.index("</main>")]


def _text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


# --------------------------------------------------------------------------- stories


def _multi_outlet_story(crawled_collection: tuple[str, str]) -> dict:  # type: ignore[type-arg]
    engine = db.make_engine(crawled_collection[0], create=False)
    with Session(engine) as session:
        story_id = session.scalar(
            select(Story.id).where(Story.article_count > 1).order_by(Story.id).limit(1)
        )
        assert story_id is not None, "the sample site has syndicated stories"
        copies = session.execute(
            select(Article.id, Article.source)
            .where(Article.story_id == story_id)
            .order_by(func.coalesce(Article.published_at, Article.fetched_at), Article.id)
        ).all()
    engine.dispose()
    return {"id": story_id, "copies": [c.id for c in copies],
            "outlets": list(dict.fromkeys(c.source for c in copies))}  # fmt: skip


def test_stories_list_the_largest_and_fastest_with_outlets_in_order(
    web, crawled_collection: tuple[str, str]
) -> None:  # type: ignore[no-untyped-def]
    expected = _multi_outlet_story(crawled_collection)
    response = httpx.get(web.url("/stories"))
    assert response.status_code == 200
    html = _main(response.text)
    for section in ("largest", "fastest"):
        block = html[html.index(f'<section class="{section}"') :]
        block = block[: block.index("</section>")]
        story = block[block.index(f'<li class="story" data-story-id="{expected["id"]}">') :]
        story = story[: story.index("</ol>")]
        outlets = re.findall(r'<li class="outlet" data-source="([^"]+)">', story)
        assert outlets == expected["outlets"], section
    fastest = html[html.index('<section class="fastest"') :]
    for shown in re.findall(r'<span class="outlet-count">(\d+) outlets?</span>', fastest):
        assert int(shown) >= 2  # a story carried by one outlet is not spreading
    later = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    empty = _main(httpx.get(web.url(f"/stories?since={later}")).text)
    assert "data-story-id" not in empty and "No story first seen since" in empty


def test_a_story_page_lists_its_copies_side_by_side_in_order(
    web, crawled_collection: tuple[str, str]
) -> None:  # type: ignore[no-untyped-def]
    expected = _multi_outlet_story(crawled_collection)
    html = _main(httpx.get(web.url(f"/stories/{expected['id']}")).text)
    ids = [
        int(i) for i in re.findall(r'<article class="copy[^"]*"[^>]*data-article-id="(\d+)"', html)
    ]
    assert ids == expected["copies"]
    cards = re.findall(r'<article class="copy[^"]*" lang="(\w*)" dir="(rtl|ltr)"', html)
    assert cards and all(direction == "rtl" for lang, direction in cards if lang == "ar")
    outlets = re.findall(r'<span class="outlet" dir="ltr">([^<]+)</span>', html)
    assert list(dict.fromkeys(outlets)) == expected["outlets"]
    assert re.search(r'<time class="published" dir="ltr" datetime="[^"]+[+-]\d\d:\d\d"', html)


# --------------------------------------------------------------------------- articles


def test_a_hostile_article_is_text_never_markup(hostile) -> None:  # type: ignore[no-untyped-def]
    web, article_id, _db = hostile
    response = httpx.get(web.url(f"/articles/{article_id}"))
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    html = _main(response.text)
    assert "<script" not in html and "<img" not in html
    assert re.search(r"<[^>]*onerror", html) is None  # no element carries it: text only
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in html
    title = re.search(r'<h1 class="article-title" lang="ar" dir="rtl">(.*?)</h1>', html, re.S)
    assert title is not None and _text(title.group(1)) == HOSTILE_TITLE
    # the evidence of the israel topic is marked where it is, in the title and in the text
    assert re.search(r'<mark class="evidence" title="israel: [^"]+">إسرائيلي</mark>', html)
    body = re.search(r'<div class="article-text" lang="ar" dir="rtl">(.*?)</div>', html, re.S)
    assert body is not None and '<mark class="evidence"' in body.group(1)
    assert _text(body.group(1)) == " ".join(CORRECTED_TEXT.split())
    assert "re-tagging" not in html  # stored positions fit the stored text


def test_an_article_with_two_versions_shows_the_diff(hostile) -> None:  # type: ignore[no-untyped-def]
    web, article_id, _db = hostile
    html = _main(httpx.get(web.url(f"/articles/{article_id}")).text)
    diff = html[html.index('<div class="diff" data-from="1" data-to="2">') :]
    assert "<del>اليوم.</del>" in diff and "<ins>أمس الثلاثاء.</ins>" in diff
    assert "<ins>" in diff and "تحديث: أضيفت تفاصيل جديدة." in _text(diff)
    assert "&lt;script&gt;" in diff and "<script" not in diff


def test_the_raw_page_is_plain_text(hostile) -> None:  # type: ignore[no-untyped-def]
    web, article_id, _db = hostile
    html = httpx.get(web.url(f"/articles/{article_id}")).text
    assert f'href="/articles/{article_id}/raw"' in html
    assert 'href="https://hostile.example/ar/visit.html" rel="noopener noreferrer nofollow"' in html
    raw = httpx.get(web.url(f"/articles/{article_id}/raw"))
    assert raw.status_code == 200
    assert raw.headers["content-type"] == "text/plain; charset=utf-8"
    assert raw.headers["content-disposition"].startswith("inline")
    assert raw.headers["x-content-type-options"] == "nosniff"
    assert raw.text == HOSTILE_RAW


def test_unknown_and_malformed_ids(web) -> None:  # type: ignore[no-untyped-def]
    for path, status in (
        ("/articles/abc", 400), ("/articles/12abc", 400), ("/articles/-1", 400),
        ("/articles/99999999999999999999", 400), ("/articles/0", 404),
        ("/articles/999999/raw", 404), ("/stories/x", 400), ("/stories/0", 404),
        ("/topics/no-such-topic", 404), ("/stories?since=soon", 400),
    ):  # fmt: skip
        response = httpx.get(web.url(path))
        assert response.status_code == status, path
        assert "Traceback" not in response.text and 'class="message"' in response.text, path


def test_only_web_urls_become_links() -> None:
    assert web_url("https://example.com/a?b=1") == "https://example.com/a?b=1"
    assert web_url("HTTP://example.com/") == "HTTP://example.com/"
    for bad in ("javascript:alert(1)", "data:text/html,<b>x</b>", "//example.com/", "ftp://x/",
                "http://", "", None, "http://[::1"):  # fmt: skip
        assert web_url(bad) is None, bad


def test_stored_evidence_that_no_longer_fits_is_found_again_and_labelled() -> None:
    text = "كلمة أولى ثم إسرائيل في النص"
    stale = [{"topic": "israel", "evidence": [
        {"term": "إسرائيل", "field": "text", "position": 0, "snippet": "وفد إسرائيل"},
    ]}]  # fmt: skip

    fresh = TopicTag("israel", 1.0, (Evidence("إسرائيل", "text", 3, "ثم إسرائيل في"),))
    marked = highlight("عنوان", text, stale, lambda: [fresh])
    assert marked.retagged and marked.unplaced == 0
    assert [(s.text, s.labels) for s in marked.text if s.labels] == [
        ("إسرائيل", ("israel: إسرائيل",))
    ]
    assert highlight("عنوان", text, stale).unplaced == 1  # no re-tagging offered: not placed


def test_word_diff_keeps_spaces_and_shortens_long_unchanged_runs() -> None:
    old = "كلمة " * 300 + "قديمة في الآخر"
    new = "كلمة " * 300 + "جديدة في الآخر"
    changes = word_diff(old, new)
    assert [(c.op, c.text) for c in changes if c.op in "+-"] == [("-", "قديمة"), ("+", "جديدة")]
    assert any(c.op == "~" for c in changes)
    assert "".join(c.text for c in changes if c.op in "=+") != new  # shortened
    short = word_diff("a b c", "a x c")
    assert "".join(c.text for c in short if c.op != "-") == "a x c"


# --------------------------------------------------------------------------- topics, sources


def test_topics_show_terms_as_written_trend_and_search_link(web, crawled_collection) -> None:  # type: ignore[no-untyped-def]
    config = load_config(crawled_collection[1])
    html = _main(httpx.get(web.url("/topics")).text)
    for topic in config.topics:
        section = html[html.index(f'<section class="topic" id="topic-{topic.key}"') :]
        section = section[: section.index("</details>")]
        assert f'href="/search?topic={topic.key}"' in section
        assert section.count('<circle class="point"') == 30  # one point per day
        named = {
            sense.name
            for options in topic.term_options.values()
            for entry in options.values()
            for sense in entry.senses
        }
        for name in named:  # the sense rules the terms name are shown with them
            assert f'<dt class="sense">{name}</dt>' in section
        for lang, phrases in topic.terms.items():
            assert f'data-lang="{lang}"' in section
            shown = re.findall(r'<span class="phrase">([^<]*)</span>', section)
            assert set(map(unescape, shown)) >= set(phrases)
    defense = html[html.index('id="topic-defense"') :]
    assert '<span class="option-name">not_near</span>' in defense  # options as written
    assert '<span class="option-name">weight</span>=<bdi>0.5</bdi>' in defense


def test_a_topic_page_draws_attention_over_time(web) -> None:  # type: ignore[no-untyped-def]
    response = httpx.get(web.url("/topics/israel"))
    assert response.status_code == 200
    html = _main(response.text)
    days = int(re.search(r'data-days="(\d+)"', html).group(1))  # type: ignore[union-attr]
    assert days > 0
    assert html.count('<circle class="point"') >= 2 * days  # articles and stories per day
    assert 'name="definition"' in html and "[topics.israel]" in html  # the form, prefilled


def test_sources_page_shows_the_status_flags_runs_and_yield(hostile) -> None:  # type: ignore[no-untyped-def]
    web, _article, _db = hostile
    html = _main(httpx.get(web.url("/sources")).text)
    row = html[html.index('<tr class="source flagged" data-source="gazette-fr">') :]
    row = row[: row.index("</tr>")]
    assert '<span class="flag flag-failing">failing</span>' in row
    assert '<span class="flag flag-blocked">blocked</span>' in row
    assert "2 failed runs in a row" in unescape(row)
    assert '<tr class="source" data-source="atlas-ar">' in html  # healthy: not flagged
    runs_table = html[html.index('<table class="runs-table">') :]
    assert 'class="run outcome-failed"' in runs_table and "web-test" in runs_table
    assert "http_403 ×5" in runs_table
    chart = html[html.index('<figure class="yield-chart" data-source="atlas-ar">') :]
    chart = chart[: chart.index("</figure>")]
    assert chart.count('<circle class="point"') == 30
    assert "No alert digest has run yet" in html


def test_the_pages_write_nothing(hostile) -> None:  # type: ignore[no-untyped-def]
    web, article_id, db_url = hostile

    def counts() -> dict[str, int]:
        engine = db.make_engine(db_url, create=False)
        with Session(engine) as session:
            found = {
                table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
                for table in (Article, ArticleTopic, Story, db.CrawlRun, db.ArticleVersion)
            }
        engine.dispose()
        return found

    before = counts()
    paths = ("/stories", f"/stories/{1}", f"/articles/{article_id}", f"/articles/{article_id}/raw",
             "/topics", "/topics/israel", "/topics/backtest", "/sources")  # fmt: skip
    for path in paths:
        assert httpx.get(web.url(path)).status_code in (200, 404), path
    assert counts() == before


# --------------------------------------------------------------------------- the library, both backends


def test_versions_raw_page_and_yield_on_both_backends(db_url: str) -> None:
    from crawler.schedule.yields import daily_yield
    from crawler.search.detail import article_versions, raw_page

    engine = db.make_engine(db_url)
    store = ArticleStore(engine)
    published = datetime(2024, 5, 21, 23, 30, tzinfo=timezone(timedelta(hours=1)))
    link = "https://hostile.example/ar/visit.html"
    first = store_article(store, make_item(HOSTILE_TEXT, link, "sahil-ar", published=published,
                                           raw_html=HOSTILE_RAW))  # fmt: skip
    store_article(store, make_item(CORRECTED_TEXT, link, "sahil-ar", published=published,
                                   raw_html=HOSTILE_RAW))  # fmt: skip
    bare = store_article(store, make_item("نص آخر قصير", "https://x.example/2", "atlas-ar"))
    now = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        for day, stored in ((0, 5), (0, 2), (2, 7), (40, 9)):
            run = runs.start_run(
                session, "atlas-ar", trigger="scheduled", scheduled_for=None, scheduler=None,
                host="h", started_at=now - timedelta(days=day, hours=1),
            )  # fmt: skip
            runs.finish_run(session, run, runs.RunVerdict(runs.OK, articles_stored=stored),
                            exit_code=0, finished_at=run.started_at)  # fmt: skip
    with Session(engine) as session:
        versions = article_versions(session, first.article_id)
        assert [(v["version"], v["current"]) for v in versions] == [(1, False), (2, True)]
        assert versions[0]["text"] == HOSTILE_TEXT and versions[1]["text"] == CORRECTED_TEXT
        assert versions[0]["published_at"] == "2024-05-21T23:30:00+01:00"  # publisher's offset
        assert article_versions(session, 10**9) == []
        assert [v["version"] for v in article_versions(session, bare.article_id)] == [1]
        raw = raw_page(session, first.article_id)
        assert raw is not None and raw.text == HOSTILE_RAW and not raw.truncated
        cut = raw_page(session, first.article_id, max_bytes=10)
        assert cut is not None and cut.truncated and cut.text == HOSTILE_RAW[:10]
        assert raw_page(session, bare.article_id) is None
        days, stored = daily_yield(session, ["atlas-ar", "ledger-en"], 30, now)
    assert len(days) == 30 and days[-1] == "2026-03-12" and days[0] == "2026-02-11"
    assert stored["atlas-ar"][-1] == 7 and stored["atlas-ar"][-3] == 7  # 40 days ago: outside
    assert sum(stored["atlas-ar"]) == 14 and stored["ledger-en"] == [0] * 30
    engine.dispose()


def test_every_page_answers_on_both_backends(
    db_url: str, crawled_collection: tuple[str, str]
) -> None:
    """The pages over a fresh database of each backend (read-only sessions there too)."""
    from story_texts import copies

    config = crawled_collection[1]
    engine = db.make_engine(db_url)
    store = ArticleStore(engine)
    topics = load_config(config).topics
    day = datetime(2026, 3, 12, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    wire = copies("ar")
    saved = [
        store_article(store, make_item(wire[kind], f"https://{s}.example/w", s, published=day
                                       + timedelta(hours=n), title="وفد إسرائيلي"), topics)
        for n, (kind, s) in enumerate((("original", "atlas-ar"), ("dateline", "sahil-ar")))
    ]  # fmt: skip
    story_id = saved[0].story_id
    assert story_id is not None and saved[1].story_id == story_id
    engine.dispose()
    edited = "[topics.israel]\nlabel = 'x'\n[topics.israel.terms]\nar = ['كلمة لا ترد']\n"
    with running_web(db_url, config) as web:
        listed = _main(httpx.get(web.url("/stories?since=3650d")).text)
        assert f'data-story-id="{story_id}"' in listed
        page = _main(httpx.get(web.url(f"/stories/{story_id}")).text)
        assert re.findall(r'<span class="outlet" dir="ltr">([^<]+)</span>', page) == [
            "atlas-ar", "sahil-ar",
        ]  # fmt: skip
        article = _main(httpx.get(web.url(f"/articles/{saved[0].article_id}")).text)
        assert '<mark class="evidence" title="israel:' in article
        for path in ("/topics", "/topics/israel", "/sources", "/topics/backtest?topic=israel"):
            assert httpx.get(web.url(path)).status_code == 200, path
        tried = httpx.post(web.url("/topics/backtest"), data={"definition": edited, "days": "all"})
        counts = re.search(r'<p class="backtest-counts">(.*?)</p>', tried.text, re.S)
        assert counts is not None, _main(tried.text)
        assert "−2 removed" in unescape(counts.group(1)), counts.group(1)
