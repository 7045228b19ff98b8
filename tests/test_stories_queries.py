"""The stories read queries of the web page and the API: recent stories by first seen, largest
and fastest spreading, outlets in the order they carried a story, first-to-last copy, and one
story's copies in order -- on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session
from story_texts import OTHERS, copies, text

from crawler import db
from crawler.db import Story
from crawler.store import ArticleStore
from crawler.stories import queries
from tests.stored_articles import make_item, store_article

NOW = datetime(2026, 3, 12, 18, 0, tzinfo=UTC)
RABAT = timezone(timedelta(hours=1))
DAY = datetime(2026, 3, 12, 9, 0, tzinfo=RABAT)


def _seen(engine, story_id: int, at: datetime) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as session, session.begin():
        session.execute(
            update(Story).where(Story.id == story_id).values(created_at=at, updated_at=at)
        )


@pytest.fixture
def stories(db_url: str):  # type: ignore[no-untyped-def]
    """wire: 4 copies by 3 outlets over 2 h, first seen 10 h ago; flash: 2 outlets in the last
    half hour; single: one copy; old: a 2-outlet story first seen a month ago."""
    engine = db.make_engine(db_url)
    store = ArticleStore(engine)
    ar = copies("ar")
    wire = [
        store_article(store, make_item(ar["dateline"], "https://c.example/1", "outlet-c",
                                       published=DAY)),
        store_article(store, make_item(ar["original"], "https://a.example/1", "outlet-a",
                                       published=DAY + timedelta(minutes=30))),
        store_article(store, make_item(ar["boilerplate"], "https://b.example/1", "outlet-b",
                                       published=DAY + timedelta(hours=2))),
        store_article(store, make_item(ar["dropped_paragraph"], "https://a.example/2",
                                       "outlet-a", published=DAY + timedelta(hours=1))),
    ]  # fmt: skip
    fr = copies("fr")
    flash = [
        store_article(store, make_item(fr["original"], f"https://{s}.example/fr", s, lang="fr",
                                       published=DAY)) for s in ("outlet-b", "outlet-c")
    ]  # fmt: skip
    single = store_article(store, make_item(text(OTHERS["en"]), "https://a.example/en",
                                            "outlet-a", lang="en", published=DAY))  # fmt: skip
    en = copies("en")
    old = [
        store_article(store, make_item(en[kind], f"https://{s}.example/old", s, lang="en",
                                       published=DAY - timedelta(days=30)))
        for kind, s in (("original", "outlet-a"), ("dateline", "outlet-b"))
    ]  # fmt: skip
    ids = {
        "wire": wire[0].story_id,
        "flash": flash[0].story_id,
        "single": single.story_id,
        "old": old[0].story_id,
    }
    assert len(set(ids.values())) == 4
    assert {s.story_id for s in wire} == {ids["wire"]} and flash[1].story_id == ids["flash"]
    _seen(engine, ids["wire"], NOW - timedelta(hours=10))
    _seen(engine, ids["flash"], NOW - timedelta(minutes=30))
    _seen(engine, ids["single"], NOW - timedelta(hours=1))
    _seen(engine, ids["old"], NOW - timedelta(days=30))
    yield engine, ids
    engine.dispose()


def test_largest_recent_stories_by_first_seen_with_outlets_in_order(stories) -> None:  # type: ignore[no-untyped-def]
    engine, ids = stories
    with Session(engine) as session:
        rows = queries.recent_stories(session, NOW - timedelta(days=7), now=NOW)
    assert [r["id"] for r in rows] == [ids["wire"], ids["flash"], ids["single"]]  # not "old"
    wire = rows[0]
    assert wire["copies"] == 4
    assert wire["outlets"] == ["outlet-c", "outlet-a", "outlet-b"]  # first publication first
    assert wire["spread_seconds"] == 2 * 3600  # 09:00 to 11:00, publisher's time
    assert wire["first_copy_at"] == "2026-03-12T08:00:00+00:00"
    assert wire["first_seen_at"] == (NOW - timedelta(hours=10)).isoformat()
    assert wire["outlets_per_hour"] == pytest.approx(3 / 10, abs=1e-3)
    assert wire["canonical"]["source"] == "outlet-c"
    assert wire["canonical"]["published_at"] == "2026-03-12T09:00:00+01:00"  # publisher's offset


def test_fastest_spreading_is_outlets_per_hour_since_first_seen(stories) -> None:  # type: ignore[no-untyped-def]
    engine, ids = stories
    with Session(engine) as session:
        rows = queries.recent_stories(session, NOW - timedelta(days=7), order="fastest", now=NOW)
        month = queries.recent_stories(session, NOW - timedelta(days=40), order="fastest", now=NOW)
    # flash: 2 outlets, seen 30 min ago (counted as the 1 h minimum) = 2/h; wire: 3 in 10 h
    assert [r["id"] for r in rows] == [ids["flash"], ids["wire"]]  # one outlet is not spreading
    assert rows[0]["outlets_per_hour"] == pytest.approx(2.0)
    assert [r["id"] for r in month] == [ids["flash"], ids["wire"], ids["old"]]
    with pytest.raises(ValueError, match="order must be one of"):
        queries.recent_stories(Session(engine), NOW, order="biggest")


def test_story_detail_lists_the_copies_in_publication_order(stories) -> None:  # type: ignore[no-untyped-def]
    engine, ids = stories
    with Session(engine) as session:
        story = queries.story_detail(session, ids["wire"], lead_chars=120, now=NOW)
        assert queries.story_detail(session, 10**9) is None
    assert story is not None
    assert [c["source"] for c in story["articles"]] == [
        "outlet-c", "outlet-a", "outlet-a", "outlet-b",
    ]  # fmt: skip
    assert [c["published_at"][11:16] for c in story["articles"]] == [
        "09:00", "09:30", "10:00", "11:00",
    ]  # fmt: skip
    first = story["articles"][0]
    assert first["canonical"] and not any(c["canonical"] for c in story["articles"][1:])
    assert first["truncated"] and len(first["lead"]) <= 120
    assert copies("ar")["dateline"].startswith(first["lead"])
    assert story["outlets"] == ["outlet-c", "outlet-a", "outlet-b"]
    assert story["copies_shown"] == story["copies"] == 4
