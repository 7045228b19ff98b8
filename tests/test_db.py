"""Schema, migrations and idempotent storage, on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import gzip
import threading
import warnings
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from crawler import db
from crawler.crawl.items import ArticleItem
from crawler.db import Article, ArticleUrl, Base
from crawler.extract.core import Extracted
from crawler.search.index import include_object
from crawler.store import ArticleStore, Saved
from crawler.tagging import Evidence, TopicTag
from pipelines.normalize import normalize_article


def make_item(
    url: str = "https://www.example.ma/politique/article-1.html",
    text_body: str = "وقع المغرب وإسرائيل مذكرة تفاهم في مجال الدفاع.",
) -> ArticleItem:
    extracted = Extracted(
        url=url,
        title="المغرب وإسرائيل يوقعان مذكرة دفاع",
        text=text_body,
        author="هيئة التحرير",
        published=datetime(2021, 11, 24, 10, 0, tzinfo=UTC),
        date_source="page",
        language="ar",
        description=None,
        image=None,
        categories=("سياسة",),
        tags=(),
    )
    item = ArticleItem(
        source="sample",
        fetched_url=url + "?utm_source=rss",
        extracted=extracted,
        encoding="utf-8",
        raw=gzip.compress(b"<html>...</html>"),
        raw_compression="gzip",
        requested_urls=("https://example.ma/old-address",),
    )
    item = normalize_article(item)
    item.topics = [TopicTag("defense", 3.0, (Evidence("الدفاع", "text", 7, "مجال الدفاع"),))]
    return item


def test_new_database_is_created_at_head(db_url: str) -> None:
    engine = db.make_engine(db_url)
    assert db.current_revision(engine) is not None
    assert {"articles", "article_urls", "article_topics", "article_raw"} <= set(
        inspect(engine).get_table_names()
    )
    db.upgrade(engine)  # idempotent
    engine.dispose()


def test_models_and_migrations_do_not_drift(db_url: str) -> None:
    engine = db.make_engine(db_url)
    with engine.connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect the search's expression index (raw DDL, not a model): expected
        warnings.filterwarnings(
            "ignore", "Skipped unsupported reflection of expression-based index ix_articles_search"
        )
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], f"models differ from migrations; add an Alembic revision: {diff}"


def test_sqlite_uses_wal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_store_saves_once_with_aliases_topics_and_raw(db_url: str) -> None:
    engine = db.make_engine(db_url)
    store = ArticleStore(engine)
    item = make_item()
    saved = store.store(item)
    assert saved is not None
    article_id = saved.article_id
    assert store.store(make_item()) is None  # the same URL again: refused, nothing written
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 1
        article = session.get(Article, article_id)
        assert article is not None
        assert article.title == "المغرب وإسرائيل يوقعان مذكرة دفاع"  # original text kept
        assert "اسراييل" in article.title_norm  # normalised form beside it
        assert article.topics[0].evidence[0]["term"] == "الدفاع"
        assert article.raw is not None and gzip.decompress(article.raw.content).startswith(b"<html")
        assert article.published_at is not None and article.published_at.year == 2021
        assert (
            session.scalar(select(func.count()).select_from(ArticleUrl)) == 2
        )  # canonical + redirected-from (utm variant = same key)
    assert store.find_by_url([item.url_key]) == article_id
    assert store.find_by_url(["nothing"]) is None
    assert store.find_same_text("sample", item.content_hash) == article_id
    assert store.find_same_text("other", item.content_hash) is None
    engine.dispose()


def test_concurrent_writers_store_one_copy(db_url: str) -> None:
    engine = db.make_engine(db_url)
    results: list[Saved | None] = []

    def writer() -> None:
        results.append(ArticleStore(engine).store(make_item()))

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r is not None for r in results) == 1
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 1
    engine.dispose()
