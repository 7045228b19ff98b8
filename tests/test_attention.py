"""Attention over time, facets and snippets as library functions, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crawler import db
from crawler.db import Article
from crawler.search import Filters, search
from crawler.search.attention import attention, top_words
from crawler.search.facets import count, facets
from crawler.search.snippets import highlighter
from crawler.text.normalize import normalize_text
from tests.web_hostile import DAY, build

ISRAEL = "اسرائيل"


def _add(engine: Engine, key: str, source: str, title: str, body: str, days: int) -> None:
    with Session(engine) as session:
        url = f"https://{source}.example/{key}"
        session.add(
            Article(
                source=source,
                url=url,
                url_key=url[8:],
                url_hash=db.url_hash(url),
                title=title,
                text=body,
                title_norm=normalize_text(title),
                text_norm=normalize_text(body),
                published_at=DAY + timedelta(days=days),
                language="ar",
                content_hash=db.url_hash(body),
                categories=[],
                tags=[],
            )
        )
        session.commit()


def test_attention_counts_articles_stories_shares_and_sources(db_url: str) -> None:
    build(db_url)
    engine = db.make_engine(db_url)
    with Session(engine) as session:
        result = attention(session, ISRAEL)
        assert result["total"] == count(session, ISRAEL) == 3
        assert result["stories"] == 2  # wire1 and wire2 are one story
        assert [(d["day"], d["articles"], d["stories"]) for d in result["days"]] == [
            ("2026-03-10", 1, 1),
            ("2026-03-11", 2, 1),
        ]
        first = result["sources"][0]
        assert first["source"] == "hespress-ar" and first["first_seen"].startswith("2026-03-10T08")
        # the share is of the same outlets: le360-ar wrote one article on the 11th, and it matched
        scoped = attention(session, ISRAEL, Filters(sources=("le360-ar",)))
        assert [
            (d["day"], d["collected_articles"], d["article_share"]) for d in scoped["days"]
        ] == [("2026-03-11", 1, 1.0)]
        # a topic does not shrink the denominator: the share is of everything collected that day
        tagged = attention(session, None, Filters(topics=("defense",)))
        assert [(d["articles"], d["collected_articles"]) for d in tagged["days"]] == [(2, 2)]
        everything = attention(session, None)
        assert [d["collected_articles"] for d in everything["days"]] == [1, 2, 1, 1]
    # a new article on the 10th: the cached denominators are not reused
    _add(engine, "late", "le360-ar", "خبر عن الطقس", "أمطار في الرباط.", 0)
    with Session(engine) as session:
        again = attention(session, ISRAEL)
        assert again["days"][0]["collected_articles"] == 2
        assert again["days"][0]["article_share"] == 0.5
        assert attention(session, "nothingmatchesthis") == {
            "total": 0, "stories": 0, "days": [], "truncated": False, "sources": [],
            "top_words": {"sample": 0, "words": []},
        }  # fmt: skip
    engine.dispose()


def test_top_words_are_normalised_without_stop_words(db_url: str) -> None:
    build(db_url)
    engine = db.make_engine(db_url)
    with Session(engine) as session:
        result = top_words(session, None)
        keys = {w["key"]: w for w in result["words"]}
        assert result["sample"] == 5
        # «المغرب» in three articles: counted once each, under its key without «ال»
        assert keys["مغرب"]["count"] == 3 and keys["مغرب"]["word"] == "مغرب"
        assert keys[normalize_text("تفاهم")]["count"] == 2
        # «وإسرائيل» counts as «إسرائيل» (the bare word is in the sample), written with hamza
        israel = keys[normalize_text("إسرائيل")]
        assert israel["count"] == 3 and israel["word"] == "إسرائيل"
        assert normalize_text("وإسرائيل") not in keys
        for stop in ("في", "بين", "et", "the", "le", "leur"):
            assert normalize_text(stop) not in keys
        capped = top_words(session, None, sample=2)
        assert capped["sample"] == 2
    engine.dispose()


def test_facets_agree_with_the_search_results(db_url: str) -> None:
    build(db_url)
    engine = db.make_engine(db_url)
    with Session(engine) as session:
        counted = facets(session, ISRAEL)
        rows = search(session, ISRAEL, limit=100)
        assert counted["total"] == len(rows) == 3
        for source, n in counted["sources"].items():
            assert n == sum(1 for r in rows if r["source"] == source)
        assert counted["topics"] == {"israel": 3, "defense": 2}
        narrowed = facets(session, ISRAEL, Filters(topics=("defense",)))
        assert narrowed["total"] == 2 and narrowed["sources"] == {"hespress-ar": 1, "le360-ar": 1}
        assert count(session, ISRAEL, Filters(languages=("fr",))) == 0
        assert count(session, "israel") == 1 and count(session, None) == 5
    engine.dispose()


def _marked(segments: list[tuple[str, bool]]) -> list[str]:
    return [text for text, hit in segments if hit]


def test_snippets_mark_what_the_index_matched() -> None:
    marker = highlighter(ISRAEL)
    text = "وقّع المغرب وإسرائيل اتفاقا، وقالت الحكومة الإسرائيلية إن إسرائيـل ترحب."
    assert _marked(marker.segments(text)) == ["وإسرائيل", "الإسرائيلية", "إسرائيـل"]
    assert "".join(t for t, _ in marker.segments(text)) == text  # nothing lost or added
    # a phrase is marked whole, and only in order; NOT words are not marked
    phrase = highlighter('"وزير الخارجية" -الطقس')
    assert _marked(phrase.segments("قال ووزير الخارجية إن الخارجية وزير الطقس")) == [
        "ووزير الخارجية"
    ]
    french = highlighter("armée OR crise*")
    assert _marked(french.segments("L'armée et les armées face aux crises.")) == [
        "L'armée",
        "armées",
        "crises",
    ]


def test_a_snippet_is_cut_around_the_first_match() -> None:
    body = "كلمة " * 200 + "ثم زار الوفد إسرائيل الأسبوع الماضي " + "نص " * 200
    snippet = highlighter(ISRAEL).snippet(body)
    assert snippet[0] == ("…", False) and snippet[-1] == ("…", False)
    assert _marked(snippet) == ["إسرائيل"]
    assert 150 < sum(len(t) for t, _ in snippet) < 300
    plain = highlighter(ISRAEL).snippet("لا شيء هنا")
    assert plain == [("لا شيء هنا", False)]
    assert highlighter("").snippet("a  b\n c") == [("a b c", False)]


def test_days_are_the_publishers_days(db_url: str) -> None:
    """An article published at 01:30 in Rabat's winter (+01:00) or Riyadh (+03:00) belongs to its
    publisher's day, although in UTC it is the evening before; one without an offset stays UTC."""
    engine = db.make_engine(db_url)
    late = datetime(2026, 1, 14, 22, 30, tzinfo=UTC)  # 15 Jan 01:30 in Riyadh
    rows = [("riyadh", late, 180), ("rabat", late + timedelta(hours=1), 60), ("utc", late, None)]
    with Session(engine) as session:
        for key, published, offset in rows:
            url = f"https://{key}.example/a"
            session.add(
                Article(
                    source=key,
                    url=url,
                    url_key=url[8:],
                    url_hash=db.url_hash(url),
                    title="مرصد الأيام",
                    text="خبر عن المرصد",
                    title_norm=normalize_text("مرصد الأيام"),
                    text_norm=normalize_text("خبر عن المرصد"),
                    published_at=published,
                    published_offset=offset,
                    language="ar",
                    content_hash=db.url_hash(key),
                    categories=[],
                    tags=[],
                )
            )
        session.commit()
        days = {d["day"]: d["articles"] for d in attention(session, "مرصد")["days"]}
        assert days == {"2026-01-14": 1, "2026-01-15": 2}
        per_day = facets(session, "مرصد")["days"]
    engine.dispose()
    assert per_day == {"2026-01-14": 1, "2026-01-15": 2}
