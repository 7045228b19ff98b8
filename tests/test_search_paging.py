"""Deep pages (crawler.search.paging.results_page) are exactly search(offset=...)'s pages, on
SQLite and PostgreSQL: same rows, same order, ties in score and date included."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from crawler import db
from crawler.search import Filters, search
from crawler.search.paging import DEEP_OFFSET, results_page
from crawler.text.normalize import normalize_text

START = datetime(2026, 1, 1, tzinfo=UTC)
WORDS = [
    "إسرائيل",
    "وإسرائيل",
    "المغرب",
    "للمغرب",
    "الحكومة",
    "وزير الخارجية",
    "ووزير الخارجية",
    "غزة",
    "مصر",
]


def _corpus(db_url: str, n: int = 600) -> None:
    rng = random.Random(14)
    engine = db.make_engine(db_url)
    rows = []
    for i in range(n):
        # a few repeated texts and dates: equal scores and equal dates must keep their order
        body = " ".join(rng.choices(WORDS, k=rng.choice([4, 8, 8, 12])))
        title = rng.choice(["خبر", "تقرير", "عاجل"]) + " " + rng.choice(WORDS)
        when = START + timedelta(hours=rng.randrange(0, 200))
        url = f"https://paging.example/{i}"
        rows.append(
            {
                "source": f"outlet{i % 3}",
                "url": url,
                "url_key": url[8:],
                "url_hash": db.url_hash(url),
                "title": title,
                "text": body,
                "title_norm": normalize_text(title),
                "text_norm": normalize_text(body),
                "published_at": when if i % 7 else None,
                "fetched_at": when,
                "language": "ar",
                "content_hash": db.url_hash(body + str(i)),
                "categories": [],
                "tags": [],
                "version": 1,
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(db.Article.__table__), rows)
    engine.dispose()


@pytest.mark.parametrize("query", ["اسرائيل", "المغرب OR غزة", '"وزير الخارجية"', "الحكومة -غزة"])
def test_deep_pages_equal_search_pages(db_url: str, query: str) -> None:
    _corpus(db_url)
    engine = db.make_engine(db_url)
    with Session(engine) as session:
        for sort in ("relevance", "date"):
            everything = search(session, query, limit=1000, sort=sort)
            assert len(everything) > DEEP_OFFSET + 20, "the corpus reaches deep pages"
            for offset in (DEEP_OFFSET, DEEP_OFFSET + 7, len(everything) - 5, len(everything) + 3):
                expected = search(session, query, limit=20, offset=offset, sort=sort)
                got = results_page(session, query, limit=20, offset=offset, sort=sort)
                assert got == expected, (sort, offset)
                assert [r["id"] for r in got] == [r["id"] for r in everything[offset : offset + 20]]
        filtered = Filters(sources=("outlet1",))
        assert results_page(session, query, filtered, offset=DEEP_OFFSET // 3) == search(
            session, query, filtered, offset=DEEP_OFFSET // 3
        )
    engine.dispose()
