"""The backtest form of /topics: an edited topic definition tried on the stored articles through
the engine of `marsad topics test` (crawler.tagging.retag.backtest), writing nothing; bad input
is a clear 400 (413 too large, 403 from another site)."""

from __future__ import annotations

import re
import tomllib
from html import unescape

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler import db
from crawler.config import load_config
from crawler.config.topics import parse_topics
from crawler.db import ArticleTopic
from crawler.tagging import Tagger
from crawler.tagging.retag import backtest
from crawler.web.pages import topics as topics_page
from crawler.web.pages.topics import topic_source
from tests.webserver import running_web

EDITED = """
[topics.israel]
label = "Israel, edited"
[topics.israel.terms]
ar = ["إسرائيل", "الرباط"]
"""


@pytest.fixture(scope="module")
def web(crawled_collection: tuple[str, str]):  # type: ignore[no-untyped-def]
    db_url, config = crawled_collection
    with running_web(db_url, config) as running:
        yield running


def _post(web, definition: str, days: str = "all", **headers: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.post(
        web.url("/topics/backtest"),
        data={"definition": definition, "days": days},
        headers=headers,
        timeout=120,
    )


def _ids(html: str, kind: str) -> list[int]:
    block = re.search(rf'<ul class="backtest-{kind}">(.*?)</ul>\n</section>', html, re.S)
    if block is None:
        return []
    return [int(i) for i in re.findall(r'<li class="change" data-article-id="(\d+)">', block[1])]


def _stored_tags(db_url: str) -> int:
    engine = db.make_engine(db_url, create=False)
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(ArticleTopic)) or 0
    engine.dispose()
    return count


def test_an_edited_topic_shows_what_it_would_add_and_remove(
    web, crawled_collection: tuple[str, str]
) -> None:  # type: ignore[no-untyped-def]
    db_url, _config = crawled_collection
    before = _stored_tags(db_url)
    response = _post(web, EDITED)
    assert response.status_code == 200, response.text
    html = response.text
    # the same engine on the same articles, called directly
    (topic,) = parse_topics(tomllib.loads(EDITED), "edited")
    engine = db.make_engine(db_url, create=False)
    expected = backtest(engine, Tagger([topic]), "israel", None, topics_page.BACKTEST_SAMPLE)
    engine.dispose()
    assert expected.added > 0 and expected.removed > 0  # «الرباط» adds, dropped terms remove
    counts = unescape(re.search(r'<p class="backtest-counts">(.*?)</p>', html, re.S)[1])  # type: ignore[index]
    assert f"+{expected.added} added" in counts and f"−{expected.removed} removed" in counts
    assert f"{expected.unchanged} unchanged" in counts
    assert _ids(html, "added") == [c.article_id for c in expected.added_sample]
    assert _ids(html, "removed") == [c.article_id for c in expected.removed_sample]
    added = html[html.index('<ul class="backtest-added">') :]
    assert '<bdi class="term">الرباط</bdi>' in added  # the new evidence
    assert f"({expected.articles} articles)" in html
    assert EDITED.strip() in unescape(html)  # the definition stays in the form
    assert _stored_tags(db_url) == before  # nothing written


def test_the_form_is_prefilled_and_an_unchanged_topic_changes_nothing(web) -> None:  # type: ignore[no-untyped-def]
    form = httpx.get(web.url("/topics/backtest?topic=israel"))
    assert form.status_code == 200
    definition = unescape(re.search(r"<textarea[^>]*>(.*?)</textarea>", form.text, re.S)[1])  # type: ignore[index]
    assert definition.startswith("[topics.israel]") and "[topics.defense" not in definition
    html = _post(web, definition).text
    counts = unescape(re.search(r'<p class="backtest-counts">(.*?)</p>', html, re.S)[1])  # type: ignore[index]
    assert "+0 added" in counts and "−0 removed" in counts


@pytest.mark.parametrize(
    ("definition", "days", "status", "message"),
    [
        ("", "all", 400, "paste a topic definition"),
        ("[topics.x\nlabel = 'x'", "all", 400, "is not valid TOML"),
        ("[topics.x]\nlabel = 'x'\nthreshold = -1\n[topics.x.terms]\nar = ['a']", "all", 400,
         "key 'topics.x.threshold' = -1"),
        ("[topics.x]\nlabel = 'x'\n[topics.x.terms]\nxx = ['a']", "all", 400, "topics.x.terms"),
        ("".join(f"[topics.t{i}]\n[topics.t{i}.terms]\nar = ['a']\n" for i in range(6)), "all",
         400, "at most 5"),
        (EDITED, "3", 400, "days='3' is not one of"),
        ("x" * (70 * 1024), "all", 413, "at most 65,536"),
    ],
)  # fmt: skip
def test_bad_input_is_a_clear_error(
    web, definition: str, days: str, status: int, message: str
) -> None:  # type: ignore[no-untyped-def]
    response = _post(web, definition, days)
    assert response.status_code == status
    shown = unescape(re.search(r'<p class="message">(.*?)</p>', response.text, re.S)[1])  # type: ignore[index]
    assert message in shown, shown
    assert "Traceback" not in response.text


def test_a_post_from_another_site_is_refused(web) -> None:  # type: ignore[no-untyped-def]
    response = _post(web, EDITED, Origin="https://evil.example")
    assert response.status_code == 403
    assert _post(web, EDITED, Origin=web.base).status_code == 200


def test_the_work_is_bounded(web, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(topics_page, "MAX_BACKTEST_WORK", 10)
    response = _post(web, EDITED)
    assert response.status_code == 400
    assert "choose fewer days" in unescape(response.text)


def test_topic_source_is_the_topic_as_written() -> None:
    toml = (
        "# header comment\n[topics.a]\nlabel = 'A'  # kept\n[topics.a.terms]\nar = ['x']\n"
        "\n# about b\n[topics.b]\nlabel = 'B'\n[topics.b.exclude]\nfr = ['y']\n"
    )
    assert (
        topic_source(toml, "a") == "[topics.a]\nlabel = 'A'  # kept\n[topics.a.terms]\nar = ['x']"
    )
    assert topic_source(toml, "b") == "[topics.b]\nlabel = 'B'\n[topics.b.exclude]\nfr = ['y']"
    assert topic_source(toml, "c") is None


def test_the_shipped_topics_round_trip_through_the_form(
    crawled_collection: tuple[str, str],
) -> None:
    config = load_config(crawled_collection[1])
    text = (config.directory / "topics.toml").read_text(encoding="utf-8")
    for topic in config.topics:
        source = topic_source(text, topic.key)
        assert source is not None
        (parsed,) = parse_topics(tomllib.loads(source), "pasted")
        assert parsed == topic


def test_one_backtest_at_a_time(web) -> None:  # type: ignore[no-untyped-def]
    assert topics_page._BACKTESTS.acquire(timeout=60)  # as if another one were running
    try:
        busy = _post(web, EDITED)
    finally:
        topics_page._BACKTESTS.release()
    assert busy.status_code == 503 and "another backtest is running" in busy.text
    assert _post(web, EDITED).status_code == 200
