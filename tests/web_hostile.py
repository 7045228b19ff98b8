"""A small collection written through the real schema for the feed, export and API tests: Arabic,
French and English articles, two copies of one story, and an article whose title and text
carry markup, an event handler and spreadsheet formulas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from crawler import db
from crawler.db import Article, ArticleTopic, Story
from crawler.text.normalize import normalize_text

CONFIG = str(Path(__file__).resolve().parents[1] / "config")
DAY = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
HOSTILE_TITLE = (
    '<script>alert("x")</script> =HYPERLINK("http://evil") & <img src=x onerror=alert(1)> إسرائيل'
)
HOSTILE_TEXT = "<b onmouseover=alert(2)>bold</b> تقارب بين المغرب وإسرائيل \x07 ]]> &amp; done"

# (key, source, language, day offset, title, text, topics, story)
ARTICLES = [
    ("hostile", "hespress-ar", "ar", 0, HOSTILE_TITLE, HOSTILE_TEXT, ["israel"], None),
    ("wire1", "hespress-ar", "ar", 1, "المغرب وإسرائيل يوقعان مذكرة تفاهم", "وقع المغرب وإسرائيل مذكرة تفاهم دفاعية في الرباط.", ["israel", "defense"], 1),
    ("wire2", "le360-ar", "ar", 1, "توقيع مذكرة تفاهم بين المغرب وإسرائيل", "وقع المغرب وإسرائيل مذكرة تفاهم دفاعية في الرباط اليوم.", ["israel", "defense"], 1),
    ("fr", "le360-fr", "fr", 2, "Le Maroc et Israël signent un accord", "L'armée marocaine et Israël renforcent leur coopération.", ["israel"], None),
    ("en", "hespress-en", "en", 3, "Morocco weather", "Rain in Rabat.", [], None),
]  # fmt: skip


def build(db_url: str) -> dict[str, int]:
    """Write the collection into a new database at *db_url*; its article ids by key."""
    engine = db.make_engine(db_url)
    ids: dict[str, int] = {}
    try:
        with Session(engine) as session:
            story = Story(article_count=2, sources=["hespress-ar", "le360-ar"])
            session.add(story)
            session.flush()
            for key, source, lang, days, title, body, topics, in_story in ARTICLES:
                url = f"https://{source}.example/{key}"
                when = DAY + timedelta(days=days)
                article = Article(
                    source=source,
                    url=url,
                    url_key=url[8:],
                    url_hash=db.url_hash(url),
                    title=title,
                    text=body,
                    title_norm=normalize_text(title),
                    text_norm=normalize_text(body),
                    published_at=when,
                    fetched_at=when + timedelta(hours=1),
                    language=lang,
                    description="@description" if key == "hostile" else None,
                    content_hash=db.url_hash(body),
                    categories=[],
                    tags=[],
                    story_id=story.id if in_story else None,
                )
                article.topics = [ArticleTopic(topic=t, score=2.0, evidence=[]) for t in topics]
                session.add(article)
                session.flush()
                ids[key] = article.id
            story.canonical_article_id = ids["wire1"]
            session.commit()
    finally:
        engine.dispose()
    return ids
