"""Batched writes on SQLite and the real PostgreSQL: several articles per transaction, a refused
article alone dropped, concurrent batches of copies without deadlock, and a crawl killed with
SIGKILL that loses at most its uncommitted batch (the next crawl stores every article once)."""

from __future__ import annotations

import gzip
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from story_texts import OTHERS, WIRES, copies, text

from crawler import db
from crawler.crawl.items import ArticleItem
from crawler.db import Article, ArticleRaw, ArticleTopic, ArticleUrl, Story
from crawler.extract.core import Extracted
from crawler.sample_site import SampleSite
from crawler.store import ArticleStore, Saved, band_lock_ids
from crawler.tagging import Evidence, TopicTag
from pipelines.normalize import normalize_article
from pipelines.store import BATCH_SIZE
from tests.waiting import wait_until

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"


def make_item(
    body: str, url: str, source: str = "lematin", topic: str = "migration"
) -> ArticleItem:
    extracted = Extracted(
        url=url,
        title="Maroc-Espagne : accord migratoire",
        text=body,
        author=None,
        published=datetime(2026, 3, 10, 8, 0, tzinfo=UTC),
        date_source="page",
        language="fr",
        description=None,
        image=None,
        categories=(),
        tags=(),
    )
    item = ArticleItem(
        source=source,
        fetched_url=url,
        extracted=extracted,
        encoding="utf-8",
        raw=gzip.compress(b"<html>page</html>"),
        raw_compression="gzip",
    )
    item = normalize_article(item)
    item.topics = [TopicTag(topic, 2.0, (Evidence("accord", "text", 3, "un accord"),))]
    return item


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Article, ArticleTopic, ArticleRaw, ArticleUrl, Story)
        }


def distinct_texts() -> list[str]:
    """Five unrelated article texts (each its own story)."""
    return [text(WIRES[lang]) for lang in ("fr", "en", "ar")] + [
        text(OTHERS[lang]) for lang in ("fr", "en")
    ]


def test_a_batch_is_one_transaction_and_places_copies_in_one_story(db_url: str) -> None:
    engine = db.make_engine(db_url)
    store = ArticleStore(engine)
    variants = list(copies("fr").values())
    items = [
        make_item(body, f"https://outlet{i}.example/a", f"outlet{i}")
        for i, body in enumerate(variants)
    ]
    outcomes = store.store_batch(items)
    assert all(isinstance(outcome, Saved) for outcome in outcomes), outcomes
    stories = {outcome.story_id for outcome in outcomes if isinstance(outcome, Saved)}
    assert len(stories) == 1  # the copies met inside the batch's transaction
    assert [isinstance(o, Saved) and o.new_story for o in outcomes] == [True] + [False] * (
        len(items) - 1
    )
    assert counts(engine)["articles"] == len(items)
    with Session(engine) as session:
        assert session.scalar(select(Story.article_count)) == len(items)
    engine.dispose()


@pytest.mark.parametrize("fault", ["duplicate topic", "topic too long"])
def test_a_batch_with_one_refused_article_stores_the_others(db_url: str, fault: str) -> None:
    engine = db.make_engine(db_url)
    if fault == "topic too long" and engine.dialect.name == "sqlite":
        engine.dispose()
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    store = ArticleStore(engine)
    items = [
        make_item(body, f"https://lematin.example/{i}.html")
        for i, body in enumerate(distinct_texts())
    ]
    bad = items[2]
    tag = bad.topics[0]
    if fault == "duplicate topic":  # (article_id, topic) is the primary key of article_topics
        bad.topics = [tag, tag]
    else:  # article_topics.topic is VARCHAR(64)
        bad.topics = [TopicTag("x" * 200, tag.score, tag.evidence)]

    outcomes = store.store_batch(items)

    assert isinstance(outcomes[2], SQLAlchemyError), outcomes[2]
    assert all(isinstance(o, Saved) for i, o in enumerate(outcomes) if i != 2), outcomes
    # four whole articles, nothing of the refused one (no half-written article)
    assert counts(engine) == {
        "articles": 4,
        "article_topics": 4,
        "article_raw": 4,
        "article_urls": 4,
        "stories": 4,
    }
    with Session(engine) as session:
        urls = set(session.scalars(select(Article.url)))
    assert bad.url not in urls and len(urls) == 4
    engine.dispose()


def test_a_url_stored_meanwhile_is_reported_not_written_again(db_url: str) -> None:
    engine = db.make_engine(db_url)
    store = ArticleStore(engine)
    texts = distinct_texts()
    first = store.store(make_item(texts[0], "https://lematin.example/0.html"))
    assert first is not None
    # a concurrent crawl's copy of the same URL arrives in a later batch
    batch = [make_item(body, f"https://lematin.example/{i}.html") for i, body in enumerate(texts)]
    outcomes = store.store_batch(batch)
    assert outcomes[0] is None
    assert all(isinstance(o, Saved) for o in outcomes[1:])
    assert counts(engine)["articles"] == len(texts)
    engine.dispose()


def test_band_lock_ids_are_sorted_and_32_bit() -> None:
    keys = [2**63 - 1, -(2**63), 0, 5, -5, 2**40 + 7]
    ids = band_lock_ids(keys)
    assert ids == sorted(ids) and all(-(2**31) <= i < 2**31 for i in ids)


def test_concurrent_batches_of_the_same_stories_in_opposite_orders(db_url: str) -> None:
    """Two writers store copies of the same two stories, in opposite orders, at once: nobody
    deadlocks or fails, and each story ends with every copy."""
    engine = db.make_engine(db_url)
    fr, en = copies("fr"), copies("en")
    kinds = ["original", "dateline", "boilerplate", "reordered"]

    def batch(writer: str) -> list[ArticleItem]:
        items = [
            make_item(body[kind], f"https://{writer}.example/{lang}/{kind}", writer)
            for lang, body in (("fr", fr), ("en", en))
            for kind in kinds
        ]
        return items if writer == "a" else items[::-1]

    results: dict[str, list[Saved | Exception | None]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)
    stores = {writer: ArticleStore(engine) for writer in ("a", "b")}

    def write(writer: str) -> None:
        try:
            items = batch(writer)
            start.wait()
            results[writer] = stores[writer].store_batch(items)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert all(isinstance(o, Saved) for outcomes in results.values() for o in outcomes), results
    with Session(engine) as session:
        rows = session.execute(select(Story.article_count)).scalars().all()
    assert sorted(rows) == [2 * len(kinds), 2 * len(kinds)]
    if engine.dialect.name == "postgresql":  # the batches' band locks: one waits, no conflict
        assert stores["a"].retries == stores["b"].retries == 0
    engine.dispose()


# -------------------------------------------------------------------------- kill -9 mid-crawl


def stored_count(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    try:
        with closing(sqlite3.connect(db_path, timeout=30)) as conn:
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def whole_articles(db_url: str) -> tuple[list[str], int]:
    """Stored article URLs, and how many of them lack a part (raw page, URL row, story)."""
    engine = db.make_engine(db_url)
    with Session(engine) as session:
        urls = list(session.scalars(select(Article.url)))
        raw = set(session.scalars(select(ArticleRaw.article_id)))
        keyed = set(session.scalars(select(ArticleUrl.article_id)))
        placed = session.execute(select(Article.id, Article.story_id)).all()
    engine.dispose()
    broken = sum(1 for aid, story in placed if story is None or aid not in raw or aid not in keyed)
    return urls, broken


@pytest.mark.slow
def test_kill_9_mid_crawl_loses_at_most_one_batch_and_the_recrawl_stores_each_once(
    site: SampleSite, tmp_path: Path
) -> None:
    site.write_config(tmp_path / "config", topics_from=REPO_CONFIG)
    db_path = tmp_path / "killed.db"
    db_url = f"sqlite:///{db_path}"
    base = [
        sys.executable,
        "-m",
        "crawler",
        "--config",
        str(tmp_path / "config"),
        "--db",
        db_url,
        "-vv",
        "crawl",
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
        "-s",
        "MARSAD_RETRY_BACKOFF_BASE=0.05",
    ]
    # one page at a time, slowly: batches commit on age while the crawl goes on
    slow = [*base, "-s", "DOWNLOAD_DELAY=0.2", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]
    env = {k: v for k, v in os.environ.items() if k != "MARSAD_DB_URL"}
    expected = set().union(*site.article_urls().values())
    log = tmp_path / "killed.log"
    with log.open("w") as stderr, subprocess.Popen(slow, stderr=stderr, env=env) as proc:
        try:
            wait_until(
                "the crawl committed a batch",
                lambda: stored_count(db_path) > 0,
                timeout=180,
                alive=[proc],
                output=log.read_text,
                poll=0.05,
            )
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
    urls, broken = whole_articles(db_url)
    assert broken == 0  # no article half-written
    assert 0 < len(urls) < len(expected), "the kill should land mid-crawl"
    # pages extracted (the pipelines had them) but not committed when the process died: the
    # batch being filled, at most BATCH_SIZE, plus the page in the worker
    crawled = {
        line.split("<GET ", 1)[1].split(">", 1)[0]
        for line in log.read_text().splitlines()
        if "Crawled (200)" in line and "<GET " in line
    }
    lost = len((crawled & expected) - set(urls))
    assert lost <= BATCH_SIZE + 1, lost

    done = subprocess.run(
        [*base, "-s", "DOWNLOAD_DELAY=0"], capture_output=True, text=True, timeout=240, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    urls, broken = whole_articles(db_url)
    assert broken == 0
    assert len(urls) == len(set(urls)) and set(urls) == expected
