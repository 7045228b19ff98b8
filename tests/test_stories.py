"""Story clusters: matching (pure), assignment in the store, races, restarts, updates, CLI."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from story_texts import OTHERS, copies, follow_up, heavy_copies, text

from crawler import db
from crawler.cli import cli
from crawler.crawl.drops import DuplicateArticle
from crawler.crawl.items import ArticleItem
from crawler.crawl.middlewares import _changed_since
from crawler.db import Article, ArticleVersion, Story, StoryBand
from crawler.extract.core import Extracted, PageHints
from crawler.store import ArticleStore
from crawler.stories import StoryParams, fingerprint, shingles, verify
from crawler.text.normalize import normalize_text
from pipelines.dedupe import DedupePipeline
from pipelines.normalize import normalize_article

LANGS = ["ar", "fr", "en"]
EDITS = ["dateline", "dropped_paragraph", "boilerplate", "reordered", "everything"]
DAY = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def make_item(
    body: str,
    url: str,
    source: str = "outlet",
    title: str = "headline",
    published: datetime | None = DAY,
    lang: str = "ar",
) -> ArticleItem:
    extracted = Extracted(
        url=url,
        title=title,
        text=body,
        author=None,
        published=published,
        date_source="page",
        language=lang,
        description=None,
        image=None,
        categories=(),
        tags=(),
    )
    return normalize_article(ArticleItem(source=source, fetched_url=url, extracted=extracted))


def story_of(engine, url: str) -> int | None:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return session.scalar(select(Article.story_id).where(Article.url == url))


# --------------------------------------------------------------------------- pure matching


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("edit", EDITS)
def test_edited_copies_share_band_keys_and_verify(lang: str, edit: str) -> None:
    original = fingerprint(normalize_text(copies(lang)["original"]))
    copy = fingerprint(normalize_text(copies(lang)[edit]))
    assert set(original.band_keys) & set(copy.band_keys)
    assert verify(original.shingles, copy.shingles)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    "edit",
    ["trimmed", "two_paragraphs_dropped", "rewritten_lead", "local_paragraph", "trimmed_rewritten"],
)
def test_heavily_edited_copies_still_match(lang: str, edit: str) -> None:
    original = fingerprint(normalize_text(copies(lang)["original"]))
    copy = fingerprint(normalize_text(heavy_copies(lang)[edit]))
    assert set(original.band_keys) & set(copy.band_keys)
    assert verify(original.shingles, copy.shingles)


@pytest.mark.parametrize("lang", LANGS)
def test_a_follow_up_repeating_background_is_another_story(lang: str) -> None:
    # a new development that repeats two background paragraphs is a different story
    original = fingerprint(normalize_text(copies(lang)["original"]))
    later = fingerprint(normalize_text(follow_up(lang)))
    assert not verify(original.shingles, later.shingles)


@pytest.mark.parametrize("lang", LANGS)
def test_other_story_on_the_same_topic_does_not_match(lang: str) -> None:
    original = fingerprint(normalize_text(copies(lang)["original"]))
    other = fingerprint(normalize_text(text(OTHERS[lang])))
    assert not set(original.band_keys) & set(other.band_keys)
    assert not verify(original.shingles, other.shingles)


def test_arabic_spelling_variants_give_the_same_shingles() -> None:
    plain = "وقع المغرب وإسرائيل اتفاقية للتعاون في مجال تحلية المياه"
    variant = "وَقَّعَ المغربُ واسرائيل اتفاقيـــة للتعاون في مجال تحليه المياه"
    assert shingles(normalize_text(plain)) == shingles(normalize_text(variant))


def test_short_texts_only_match_exactly() -> None:
    short = fingerprint(normalize_text("عاجل: زلزال بقوة خمس درجات"))
    assert len(short.band_keys) == 1  # the exact-text key only
    assert not verify(short.shingles, short.shingles)


def test_params_are_validated() -> None:
    with pytest.raises(ValueError, match="threshold"):
        StoryParams(threshold=1.5)
    with pytest.raises(ValueError, match="window"):
        StoryParams(window_days=0)
    assert StoryParams(threshold=0.5).bands != StoryParams(threshold=0.3).bands


# --------------------------------------------------------------------------- the store


@pytest.mark.parametrize("lang", LANGS)
def test_copies_join_one_story_and_other_stories_stay_apart(db_url: str, lang: str) -> None:
    engine = db.make_engine(db_url)
    store = ArticleStore(engine)
    versions = copies(lang)
    saved = []
    for n, (edit, body) in enumerate(versions.items()):
        # the wire itself is published last: the canonical article is the earliest copy
        published = DAY + timedelta(hours=1 if edit == "original" else 0, minutes=n)
        item = make_item(
            body, f"https://o{n}.example/{lang}/{edit}", f"outlet-{n}", published=published
        )
        saved.append(store.store(item))
    other = store.store(make_item(text(OTHERS[lang]), f"https://x.example/{lang}", "outlet-0"))
    assert all(s is not None for s in saved) and other is not None
    assert len({s.story_id for s in saved if s}) == 1
    assert [s.new_story for s in saved if s] == [True] + [False] * (len(saved) - 1)
    assert other.new_story and other.story_id != saved[0].story_id  # type: ignore[union-attr]
    with Session(engine) as session:
        story = session.get(Story, saved[0].story_id)  # type: ignore[union-attr]
        assert story is not None
        assert story.article_count == len(versions)
        assert story.sources == [f"outlet-{n}" for n in range(len(versions))]
        canonical = session.get(Article, story.canonical_article_id)
        assert canonical is not None and canonical.url.endswith("/dateline")  # minute 1
    engine.dispose()


def test_exact_copies_of_a_short_text_join_one_story(db_url: str) -> None:
    engine = db.make_engine(db_url)
    store = ArticleStore(engine)
    a = store.store(make_item("عاجل: زلزال بقوة خمس درجات", "https://a.example/1", "a"))
    b = store.store(make_item("عاجل:  زلزال بقوة خمس درجات", "https://b.example/1", "b"))
    assert a is not None and b is not None and a.story_id == b.story_id and not b.new_story
    engine.dispose()


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_concurrent_writers_storing_copies_end_with_one_story(db_url: str, lang: str) -> None:
    engine = db.make_engine(db_url)
    versions = list(copies(lang).values()) * 2  # 12 outlets at once
    barrier = threading.Barrier(len(versions))
    errors: list[BaseException] = []

    def writer(n: int, body: str) -> None:
        store = ArticleStore(engine)
        item = make_item(body, f"https://o{n}.example/wire", f"outlet-{n}", lang=lang)
        item.fingerprint = fingerprint(item.text_norm)  # all CPU work before the race
        barrier.wait()
        try:
            store.store(item)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n, b)) for n, b in enumerate(versions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Session(engine) as session:
        stories = session.scalars(select(Article.story_id).distinct()).all()
        assert session.scalar(select(func.count()).select_from(Article)) == len(versions)
        assert len(stories) == 1, stories
        story = session.get(Story, stories[0])
        assert story is not None and story.article_count == len(versions)
        assert len(story.sources) == len(versions)
    engine.dispose()


def test_a_new_engine_joins_yesterdays_story(db_url: str) -> None:
    first = db.make_engine(db_url)
    yesterday = ArticleStore(first).store(
        make_item(copies("ar")["original"], "https://a.example/wire", "a")
    )
    assert yesterday is not None
    with Session(first) as session:  # as if stored a day ago
        session.execute(update(StoryBand).values(seen_at=datetime.now(UTC) - timedelta(days=1)))
        session.execute(update(Article).values(fetched_at=datetime.now(UTC) - timedelta(days=1)))
        session.commit()
    first.dispose()

    restarted = db.make_engine(db_url)  # nothing in memory survives: the index is the database
    today = ArticleStore(restarted).store(
        make_item(copies("ar")["everything"], "https://b.example/wire", "b")
    )
    assert today is not None and today.story_id == yesterday.story_id and not today.new_story
    restarted.dispose()


def test_a_copy_after_the_window_opens_a_new_story(db_url: str) -> None:
    engine = db.make_engine(db_url)
    store = ArticleStore(engine, StoryParams(window_days=14))
    old = store.store(make_item(copies("fr")["original"], "https://a.example/w", "a", lang="fr"))
    assert old is not None
    long_ago = datetime.now(UTC) - timedelta(days=20)
    with Session(engine) as session:
        session.execute(update(StoryBand).values(seen_at=long_ago))
        session.execute(update(Article).values(fetched_at=long_ago))
        session.commit()
    new = store.store(make_item(copies("fr")["dateline"], "https://b.example/w", "b", lang="fr"))
    assert new is not None and new.new_story and new.story_id != old.story_id
    with Session(engine) as session:  # the stale band keys now belong to the new story
        owners = set(session.scalars(select(StoryBand.story_id)))
        assert new.story_id in owners
    engine.dispose()


# --------------------------------------------------------------------------- updates


def test_changed_text_keeps_versions_and_marks_the_article_updated(db_url: str) -> None:
    engine = db.make_engine(db_url)
    store = ArticleStore(engine)
    url = "https://lematin.example/maroc-espagne.html"
    first = store.store(make_item(copies("fr")["original"], url, "lematin", lang="fr"))
    assert first is not None

    dedupe = DedupePipeline(store)
    same = make_item(copies("fr")["original"], url, "lematin", lang="fr")
    with pytest.raises(DuplicateArticle):
        dedupe.process_item(same)  # fetched again, unchanged: dropped

    corrected_text = copies("fr")["original"].replace("soixante-dix mille", "quatre-vingt mille")
    corrected = DedupePipeline(store).process_item(
        make_item(corrected_text, url, "lematin", lang="fr")
    )
    assert corrected.update_of == first.article_id
    saved = store.store(corrected)
    assert saved is not None and saved.updated and saved.story_id == first.story_id
    assert store.store(corrected) is None  # the same correction again: nothing to do
    with Session(engine) as session:
        article = session.get(Article, first.article_id)
        assert article is not None
        assert article.version == 2 and article.updated_at is not None
        assert "quatre-vingt mille" in article.text
        (old,) = session.scalars(select(ArticleVersion)).all()
        assert old.version == 1 and "soixante-dix mille" in old.text
        assert session.scalar(select(func.count()).select_from(Article)) == 1
    engine.dispose()


def test_refetch_only_when_the_feed_or_sitemap_date_is_newer() -> None:
    fetched = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
    assert _changed_since(PageHints(feed_date=fetched + timedelta(hours=2)), fetched)
    assert _changed_since(PageHints(sitemap_date=fetched + timedelta(minutes=5)), fetched)
    assert not _changed_since(PageHints(feed_date=fetched - timedelta(hours=2)), fetched)
    assert not _changed_since(PageHints(), fetched)
    assert not _changed_since(None, fetched)
    future = datetime.now(UTC) + timedelta(days=2)  # a wrong clock must not refetch forever
    assert not _changed_since(PageHints(feed_date=future), fetched)


# --------------------------------------------------------------------------- CLI


def test_stories_command_lists_the_largest_story_with_its_outlets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 's.db'}"
    engine = db.make_engine(url)
    store = ArticleStore(engine)
    for n, body in enumerate(copies("en").values()):
        store.store(make_item(body, f"https://o{n}.example/grid", f"outlet-{n}", lang="en"))
    store.store(make_item(text(OTHERS["en"]), "https://x.example/gas", "outlet-0", lang="en"))
    engine.dispose()
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", url, "stories", "--since", "1d", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [row["articles"] for row in rows] == [6, 1]
    assert rows[0]["sources"][:2] == ["outlet-0", "outlet-1"]
    table = runner.invoke(cli, ["--db", url, "stories", "--limit", "1"])
    assert table.exit_code == 0 and "outlet-5" in table.output
    bad = runner.invoke(cli, ["--db", url, "stories", "--since", "soon"])
    assert bad.exit_code == 2
