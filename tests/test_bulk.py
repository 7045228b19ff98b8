"""The synthetic collection of crawler/sample_site/bulk.py (browser tests, web benchmark) is
consistent on SQLite and PostgreSQL: stories count their copies, tags carry evidence found in
the text, the planted phrase is found by search exactly as often as it was planted."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler import db
from crawler.config import load_config
from crawler.db import Article, ArticleTopic, ArticleVersion, CrawlRun, Story
from crawler.sample_site.bulk import HOSTILE_TITLE, PLANTED, BulkSpec, generate
from crawler.search import search
from crawler.text.tokens import TOKEN_RE

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"


def test_a_generated_collection_is_consistent_and_searchable(db_url: str) -> None:
    engine = db.make_engine(db_url)
    config = load_config(REPO_CONFIG)
    spec = BulkSpec(articles=400, days=20, version_share=0.05)
    summary = generate(engine, config, spec)
    assert summary.articles == spec.articles + 1  # and the hostile one
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Article)) == summary.articles
        assert sum(summary.per_day.values()) == summary.articles
        # every story counts its copies and lists their outlets, the canonical one among them
        for story in session.scalars(select(Story)):
            copies = session.execute(
                select(Article.id, Article.source).where(Article.story_id == story.id)
            ).all()
            assert story.article_count == len(copies) >= 2
            assert sorted(story.sources) == sorted(source for _, source in copies)
            assert story.canonical_article_id in {aid for aid, _ in copies}
        assert session.scalar(select(func.count()).select_from(Story)) == summary.stories
        # tags: known topics, evidence whose snippet is in the article's text
        known = {t.key for t in config.topics}
        tags = session.execute(
            select(ArticleTopic.topic, ArticleTopic.evidence, Article.text).join(
                Article, Article.id == ArticleTopic.article_id
            )
        ).all()
        assert tags
        for topic, evidence, text in tags:
            assert topic in known
            assert evidence and evidence[0]["snippet"] in text and evidence[0]["term"] in text
            # its position is the token index the tagger would give (the article page uses it)
            tokens = TOKEN_RE.findall(text)
            assert tokens[evidence[0]["position"]] == TOKEN_RE.findall(evidence[0]["term"])[0]
        # earlier versions, crawl runs per source and day
        versions = session.scalar(select(func.count()).select_from(ArticleVersion))
        assert versions == summary.versions > 0
        bumped = session.scalar(select(func.count()).where(Article.version == 2))
        assert bumped == summary.versions
        runs = session.scalar(select(func.count()).select_from(CrawlRun))
        assert runs == summary.runs == len(config.sources) * spec.days
        # the planted phrases: searched (Arabic-normalised index) exactly as often as planted
        found = search(session, f'"{PLANTED["ar"]}"', limit=10_000)
        assert len(found) == summary.planted["ar"] > 0
        assert summary.hostile_id in {row["id"] for row in found}
        english = search(session, f'"{PLANTED["en"]}"', limit=10_000)
        assert len(english) == summary.planted["en"]
        assert session.get(Article, summary.hostile_id).title == HOSTILE_TITLE  # type: ignore[union-attr]
    # a second batch appends after the first (ids, stories), as into a crawled database
    more = generate(engine, config, BulkSpec(articles=50, seed=8, hostile=False))
    assert more.first_id == summary.last_id + 1
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(Article))
    assert total == summary.articles + more.articles
    engine.dispose()
