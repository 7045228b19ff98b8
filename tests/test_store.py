"""The store on SQLite and the real PostgreSQL: one article->row mapping for insert and update,
and an update of a changed text that replaces topics, raw page and story fingerprint."""

from __future__ import annotations

import asyncio
import gzip
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.orm import Session
from story_texts import copies, text

from crawler import db
from crawler.crawl.items import ArticleItem
from crawler.db import Article, ArticleRaw, ArticleTopic, ArticleVersion, Story, StoryBand
from crawler.extract.core import Extracted
from crawler.store import ArticleStore, article_rows
from crawler.stories import StoryParams, fingerprint
from crawler.tagging import Evidence, TopicTag
from pipelines.dedupe import DedupePipeline
from pipelines.normalize import normalize_article
from pipelines.store import StorageError, StorageGuard, StorageUnavailable

URL = "https://lematin.example/maroc-espagne.html"
OLD_TEXT = copies("fr")["original"]
# a rewritten dispatch under the same URL: most of the text changed
NEW_TEXT = text(
    [
        "Le Maroc et l'Espagne ont finalement reporté mardi la signature de leur accord migratoire, "
        "faute de consensus sur le financement du centre conjoint de coordination prévu à Tanger.",
        "Les ministres de l'Intérieur des deux pays se retrouveront à Rabat le mois prochain pour "
        "tenter de rapprocher leurs positions, selon une source diplomatique citée par la presse.",
        "Madrid souhaite que l'Union européenne prenne en charge une partie des patrouilles "
        "maritimes, tandis que Rabat réclame un engagement pluriannuel sur la migration légale.",
        "Les syndicats agricoles andalous ont de leur côté appelé à ne pas retarder les programmes "
        "de recrutement saisonnier, dont dépendent des milliers d'exploitations de la région.",
    ]
)


def make_item(
    body: str,
    *,
    url: str = URL,
    source: str = "lematin",
    topic: str = "old",
    page: bytes = b"<html>old</html>",
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
        raw=gzip.compress(page),
        raw_compression="gzip",
    )
    item = normalize_article(item)
    item.topics = [TopicTag(topic, 2.0, (Evidence("accord", "text", 3, "un accord"),))]
    return item


def changed(store: ArticleStore, item: ArticleItem) -> ArticleItem:
    """The item as the pipelines hand it to the store: dedupe found the URL with another text."""
    out = DedupePipeline(store).process_item(item)
    assert isinstance(out, ArticleItem) and out.update_of is not None
    return out


def story_of(engine: Engine, article_id: int) -> int | None:
    with Session(engine) as session:
        return session.scalar(select(Article.story_id).where(Article.id == article_id))


def test_a_changed_text_replaces_topics_raw_page_and_story_fingerprint(db_url: str) -> None:
    engine = db.make_engine(db_url)
    store = ArticleStore(engine)
    first = store.store(make_item(OLD_TEXT))
    assert first is not None and first.story_id is not None

    update_item = changed(store, make_item(NEW_TEXT, topic="new", page=b"<html>new</html>"))
    assert update_item.update_of == first.article_id
    saved = store.store(update_item)
    assert saved is not None and saved.updated and saved.story_id == first.story_id

    with Session(engine) as session:
        article = session.get(Article, first.article_id)
        assert article is not None
        assert article.version == 2 and article.updated_at is not None
        assert article.text == update_item.text and article.text_norm == update_item.text_norm
        topics = session.scalars(
            select(ArticleTopic.topic).where(ArticleTopic.article_id == article.id)
        ).all()
        assert topics == ["new"]
        raw = session.get(ArticleRaw, article.id)
        assert raw is not None and gzip.decompress(raw.content) == b"<html>new</html>"
        (old,) = session.scalars(select(ArticleVersion)).all()
        assert old.version == 1 and old.text == make_item(OLD_TEXT).text
        owners = dict(session.execute(select(StoryBand.band_key, StoryBand.article_id)).all())
    new_keys = fingerprint(update_item.text_norm).band_keys
    assert all(owners[key] == first.article_id for key in new_keys)

    # another outlet publishes the NEW text: it joins the article's story
    copy = store.store(make_item(NEW_TEXT, url="https://other.example/a", source="other"))
    assert copy is not None and not copy.new_story and copy.story_id == first.story_id
    with Session(engine) as session:
        story = session.get(Story, first.story_id)
        assert story is not None and story.article_count == 2
        assert story.sources == ["lematin", "other"]
    engine.dispose()


def test_an_update_after_the_window_claims_the_keys_of_its_new_text(db_url: str) -> None:
    engine = db.make_engine(db_url)
    store = ArticleStore(engine, StoryParams(window_days=14))
    first = store.store(make_item(OLD_TEXT))
    assert first is not None
    long_ago = datetime.now(UTC) - timedelta(days=20)
    with Session(engine) as session:  # stored three weeks ago: its band keys are stale
        session.execute(update(StoryBand).values(seen_at=long_ago))
        session.execute(update(Article).values(fetched_at=long_ago))
        session.commit()

    corrected = OLD_TEXT.replace("soixante-dix mille", "quatre-vingt mille")
    saved = store.store(changed(store, make_item(corrected, topic="new")))
    assert saved is not None and saved.story_id == first.story_id

    keys = fingerprint(make_item(corrected).text_norm).band_keys
    with Session(engine) as session:
        bands = session.scalars(select(StoryBand).where(StoryBand.band_key.in_(keys))).all()
    assert len(bands) == len(keys)
    assert {(band.story_id, band.article_id) for band in bands} == {
        (first.story_id, first.article_id)
    }
    assert all(db.as_utc(band.seen_at) > long_ago + timedelta(days=1) for band in bands)

    # a copy of the corrected text from another outlet joins the (updated) story
    copy_text = copies("fr")["dateline"].replace("soixante-dix mille", "quatre-vingt mille")
    copy = store.store(make_item(copy_text, url="https://other.example/b", source="other"))
    assert copy is not None and copy.story_id == first.story_id
    engine.dispose()


def test_an_update_keeps_identity_and_fills_only_what_the_new_page_has(db_url: str) -> None:
    engine = db.make_engine(db_url)
    store = ArticleStore(engine)
    original = make_item(OLD_TEXT)
    original.extracted = replace(original.extracted, author="Rédaction", categories=("Maroc",))
    first = store.store(original)
    assert first is not None
    refetch = make_item(NEW_TEXT)
    refetch.raw = None  # the new page is not kept: the old one no longer matches the text
    saved = store.store(changed(store, refetch))
    assert saved is not None
    with Session(engine) as session:
        article = session.get(Article, first.article_id)
        assert article is not None
        assert article.author == "Rédaction" and article.categories == ["Maroc"]
        assert article.url == URL and article.source == "lematin"
        assert session.get(ArticleRaw, first.article_id) is None
    engine.dispose()


def test_insert_and_update_write_the_columns_of_one_mapping() -> None:
    rows = article_rows(make_item(NEW_TEXT))
    assert {c.name for c in Article.__table__.columns} - set(rows.article) == {
        "id",
        "story_id",
        "version",
        "updated_at",
    }
    assert {"source", "url", "url_hash", "published_at"}.isdisjoint(rows.update_values())
    assert {"title", "text", "text_norm", "content_hash", "fetched_at"} <= set(rows.update_values())
    assert rows.topics[0]["topic"] == "old" and rows.raw is not None


class FakeEngine:
    """The part of Scrapy's engine the storage guard drives."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause(self) -> None:
        self.calls.append("pause")

    def unpause(self) -> None:
        self.calls.append("unpause")

    async def close_spider_async(self, *, reason: str = "cancelled") -> None:
        self.calls.append(f"close:{reason}")


class FakeCrawler:
    def __init__(self) -> None:
        self.engine = FakeEngine()


def _db_error(kind: type[DBAPIError], body: str) -> DBAPIError:
    """A driver error as SQLAlchemy raises it: the statement and parameters in its message."""
    return kind("INSERT INTO article_raw VALUES (?)", (body,), Exception("server closed\nmore"))


def test_storage_guard_waits_out_an_outage_and_never_logs_the_page(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crawler = FakeCrawler()
    guard = StorageGuard(crawler, window=60)
    item = make_item(OLD_TEXT)
    answers: list[Exception | str] = [_db_error(OperationalError, "BODYMARK") for _ in range(2)]
    answers.append("stored")

    def write() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with caplog.at_level(logging.DEBUG, logger="pipelines.store"):
        assert asyncio.run(guard.run(item, write)) == "stored"
    assert crawler.engine.calls == ["pause", "unpause"]
    assert "paused" in caplog.text and "resumed" in caplog.text
    assert "BODYMARK" not in caplog.text


def test_storage_guard_gives_up_after_its_window_and_drops_refused_articles(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crawler = FakeCrawler()
    guard = StorageGuard(crawler, window=0)
    item = make_item(OLD_TEXT)

    def down() -> None:
        raise _db_error(OperationalError, "BODYMARK")

    def refused() -> None:
        raise _db_error(DataError, "BODYMARK")

    with caplog.at_level(logging.DEBUG, logger="pipelines.store"):
        with pytest.raises(StorageUnavailable):
            asyncio.run(guard.run(item, down))
        with pytest.raises(StorageUnavailable):  # the crawl is closing: no more attempts
            asyncio.run(guard.run(item, lambda: "stored"))
        with pytest.raises(StorageError):
            asyncio.run(StorageGuard(FakeCrawler(), window=60).run(item, refused))
    assert crawler.engine.calls == ["pause", "close:storage"]
    assert "BODYMARK" not in caplog.text
    assert caplog.text.count(URL) == 2, caplog.text  # one line per unstored article


def test_item_reprs_never_carry_the_page_or_its_text() -> None:
    """Scrapy logs the items it drops; a page body must never reach a log."""
    item = make_item("نص المقال الكامل " * 50, page=b"<html>raw page marker</html>")
    shown = repr(item)
    assert URL in shown
    assert "نص المقال" not in shown and "raw page marker" not in shown
