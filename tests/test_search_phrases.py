"""Quoted phrases match the words the index holds (French elisions, English 's, Arabic clitics),
and relevance ranks its window once (ties included), on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import crawler.search as search_module
import crawler.search.paging as paging
from crawler import db
from crawler.search import Filters, search
from crawler.search.facets import count
from crawler.search.index import IndexQuery
from crawler.search.paging import DEEP_OFFSET, results_page
from crawler.search.query import indexed_tokens, search_tokens
from crawler.search.snippets import highlighter
from crawler.text.normalize import normalize_text

START = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)

# key: (language, title, text)
CORPUS = {
    "protocole": ("fr", "Rabat et Tel-Aviv signent un protocole d'accord", "La défense en tête."),
    "protocole_curly": ("fr", "Sécurité", "Le protocole d’accord porte sur la formation."),
    "accord_apart": ("fr", "L'accord sur le protocole sanitaire", "Un accord, un protocole."),
    "armee": ("fr", "Manœuvres de l'armée marocaine", "Exercices au sud."),
    "armee_une": ("fr", "Une armée marocaine moderne", "Budget en hausse."),
    "armee_alg": ("fr", "L'armée algérienne en alerte", "Frontière fermée."),
    "aujourdhui": ("fr", "Le point", "Aujourd’hui, la réunion du conseil."),
    "israels": ("en", "Israel's army on alert", "Troops moved north."),
    "israel_army": ("en", "Israel army drill", "Troops moved south."),
    "wal": ("ar", "اتفاق", "وقعت فرنسا والمغرب اتفاقا للتعاون."),
    "al": ("ar", "المغرب يستقبل وفدا", "زيارة رسمية."),
    "mou_waw": ("ar", "تعاون", "وقع البلدان ومذكرة تفاهم أخرى في مجال الدفاع."),
    "mou_plain": ("ar", "مذكرة تفاهم بين البلدين", "في مجال الطاقة."),
    "mou_apart": ("ar", "مذكرة", "تفاهم كامل حول القضايا."),
}

# phrase query -> keys it finds; its unquoted form finds at least as many
PHRASES: list[tuple[str, set[str]]] = [
    ('"protocole d\'accord"', {"protocole", "protocole_curly"}),
    ('"Protocole d’Accord"', {"protocole", "protocole_curly"}),  # curly apostrophe, case
    ('"accord protocole"', set()),
    ('"l\'armée marocaine"', {"armee", "armee_une"}),  # the leading elision is not required
    ('"armée marocaine"', {"armee", "armee_une"}),
    ('"de l\'armée marocaine"', {"armee"}),  # inside the phrase, l' is a word of its own
    ('"aujourd\'hui"', {"aujourdhui"}),
    ('"Israel\'s army"', {"israels"}),
    ('"والمغرب"', {"wal"}),  # the clitic is part of the quoted word
    ('"المغرب"', {"wal", "al"}),
    ('"فرنسا والمغرب"', {"wal"}),
    ('"مذكرة تفاهم"', {"mou_waw", "mou_plain"}),  # و on the first word
    ('"ومذكرة تفاهم"', {"mou_waw"}),
]


def _load(engine: Engine) -> dict[str, int]:
    ids = {}
    with Session(engine) as session:
        for n, (key, (lang, title, body)) in enumerate(CORPUS.items()):
            url = f"https://phrases.example/{key}"
            article = db.Article(
                source="gazette",
                url=url,
                url_key=url[8:],
                url_hash=db.url_hash(url),
                title=title,
                text=body,
                title_norm=normalize_text(title),
                text_norm=normalize_text(body),
                published_at=START + timedelta(hours=n),
                language=lang,
                content_hash=db.url_hash(body + key),
                categories=[],
                tags=[],
            )
            session.add(article)
            session.flush()
            ids[key] = article.id
        session.commit()
    return ids


@pytest.fixture
def corpus(db_url: str):  # type: ignore[no-untyped-def]
    engine = db.make_engine(db_url)
    yield engine, _load(engine)
    engine.dispose()


def test_indexed_tokens_keep_inner_elisions() -> None:
    assert indexed_tokens("protocole d'accord") == ["protocole", "d", "accord"]
    assert indexed_tokens("L’Armée marocaine") == ["armee", "marocaine"]
    assert indexed_tokens("Israel's army") == ["israel", "s", "army"]
    # unquoted words (and the highlighter) still drop the elision
    assert search_tokens("protocole d'accord") == ["protocole", "accord"]


def test_phrases_find_the_indexed_words(corpus) -> None:  # type: ignore[no-untyped-def]
    engine, ids = corpus
    names = {v: k for k, v in ids.items()}
    with Session(engine) as session:
        for query, expected in PHRASES:
            found = {names[r["id"]] for r in search(session, query, limit=50)}
            assert found == expected, query
            assert count(session, query) == len(expected), query
            dated = {names[r["id"]] for r in search(session, query, limit=50, sort="date")}
            assert dated == expected, query
            unquoted = {names[r["id"]] for r in search(session, query.strip('"'), limit=50)}
            assert expected <= unquoted, query
        assert len(search(session, "protocole d'accord", limit=50)) == 3  # accord_apart too


def test_phrase_with_elision_is_highlighted(corpus) -> None:  # type: ignore[no-untyped-def]
    marked = highlighter('"protocole d\'accord"').segments("un protocole d’accord signé")
    assert [text for text, hit in marked if hit] == ["protocole d’accord"]


# ------------------------------------------------------------------ one ranking pass


def _ties(db_url: str, n: int = 300) -> Engine:
    """Many articles with equal scores (a handful of texts) and equal dates."""
    engine = db.make_engine(db_url)
    texts = ["غزة", "إسرائيل غزة", "غزة غزة مصر", "إسرائيل", "مصر غزة"]
    rows = []
    for i in range(n):
        body, url = texts[i % len(texts)], f"https://ties.example/{i}"
        rows.append(
            {
                "source": f"outlet{i % 3}",
                "url": url,
                "url_key": url[8:],
                "url_hash": db.url_hash(url),
                "title": "خبر",
                "text": body,
                "title_norm": normalize_text("خبر"),
                "text_norm": normalize_text(body),
                "published_at": START + timedelta(hours=(i * 7) % 11) if i % 4 else None,
                "fetched_at": START + timedelta(hours=i % 13),
                "language": "ar" if i % 2 else "ar-MA",
                "content_hash": db.url_hash(body + str(i)),
                "categories": [],
                "tags": [],
                "version": 1,
            }
        )
    with Session(engine) as session:
        session.execute(insert(db.Article), rows)
        session.commit()
    return engine


def test_relevance_ranks_once_with_ties(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _ties(db_url)
    passes: list[tuple[int | None, int | None]] = []

    def counting(cls: type[IndexQuery]) -> None:
        original = cls.ranked

        def ranked(self: IndexQuery, limit: int | None, window: int | None) -> Any:
            passes.append((limit, window))
            return original(self, limit, window)

        monkeypatch.setattr(cls, "ranked", ranked)

    for cls in IndexQuery.__subclasses__():
        counting(cls)
    with Session(engine) as session:
        for query in ("إسرائيل OR غزة", "غزة", "مصر"):
            for filters in (Filters(), Filters(languages=("ar",))):
                passes.clear()
                windowed = search(session, query, filters, limit=7)
                assert len(passes) == 1, (query, filters, passes)  # no rerun on ties
                for offset in (0, 3, DEEP_OFFSET + 1):
                    passes.clear()
                    page = results_page(session, query, filters, limit=7, offset=offset)
                    assert len(passes) == 1, (query, filters, offset, passes)
                    # the reference: every match ranked, ties widened in rounds
                    monkeypatch.setattr(search_module, "RELEVANCE_WINDOW", None)
                    monkeypatch.setattr(paging, "RELEVANCE_WINDOW", None)
                    reference = search(session, query, filters, limit=7, offset=offset)
                    assert page == reference, (query, filters, offset)
                    if offset == 0:
                        assert windowed == reference, (query, filters)
                    monkeypatch.setattr(search_module, "RELEVANCE_WINDOW", 5_000)
                    monkeypatch.setattr(paging, "RELEVANCE_WINDOW", 5_000)
    engine.dispose()
