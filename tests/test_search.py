"""Full-text search on SQLite (FTS5) and the real PostgreSQL server: one interface, same ids."""

from __future__ import annotations

import contextlib
import json
import random
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, delete, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crawler import db
from crawler.cli import cli
from crawler.db import Article, ArticleRaw, ArticleTopic, Story
from crawler.search import Filters, search
from crawler.search.query import (
    MAX_DEPTH,
    MAX_QUERY_CHARS,
    MAX_WORD_BYTES,
    QuerySyntaxError,
    parse_query,
)
from crawler.text.normalize import normalize_text
from crawler.timespec import parse_since as parse_when

DAY = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)

# key: (source, language, day of March 2026, title, text, topics)
CORPUS = {
    "hamza": ("sahil", "ar", 1, "إسرائيل تعلن خطة جديدة", "قالت الحكومة إن الخطة تبدأ غدا.", ["politics"]),
    "waw": ("atlas", "ar", 2, "المغرب يستقبل وفدا", "وقع المغرب وإسرائيل مذكرة تفاهم في مجال الدفاع.", ["defense"]),
    "nisba": ("atlas", "ar", 3, "الحكومة الإسرائيلية تجتمع", "اجتمع الوزراء صباح اليوم.", ["politics"]),
    "tashkeel": ("sahil", "ar", 4, "تقرير", "زار الوفد إِسْرَائِيلَ الأسبوع الماضي.", []),
    "tatweel": ("sahil", "ar", 5, "أخبار", "وصل الوفد إلى إســرائيل مساء أمس.", []),
    "clitic_bi": ("atlas", "ar", 6, "استثمارات بالمغرب", "تزايد الاستثمار للمغرب هذا العام.", ["economy"]),
    "phrase": ("atlas", "ar", 7, "وزير الخارجية يزور القاهرة", "بحث الوزير العلاقات.", ["politics"]),
    "phrase_waw": ("sahil", "ar", 8, "لقاء", "التقى الرئيس ووزير الخارجية في الرباط.", ["politics"]),
    "weather": ("sahil", "ar", 9, "الطقس في القاهرة", "أمطار غزيرة على مصر اليوم.", []),
    "fr_army": ("gazette", "fr", 10, "L'armée algérienne en alerte", "La sécurité aux frontières et la crise régionale.", ["defense"]),
    "fr_vote": ("gazette", "fr-MA", 11, "Élections au Maroc", "La crise économique pèse sur le scrutin.", ["politics"]),
    "en_deal": ("ledger", "en", 12, "Israel and Morocco sign defence deal", "New policies on trade were announced.", ["defense"]),
    "en_storm": ("ledger", "en", 13, "Storm hits Egypt coast", "Heavy rain flooded streets in Alexandria.", []),
}  # fmt: skip

ISRAEL_AR = {"hamza", "waw", "nisba", "tashkeel", "tatweel"}

# query -> expected keys; the same on both backends
CASES: list[tuple[str, set[str]]] = [
    ("اسرائيل", ISRAEL_AR),  # hamza, و, nisba, tashkeel, tatweel all reached
    ("إسرائيل", ISRAEL_AR),
    ("إسرائيـل", ISRAEL_AR),  # tatweel in the query
    ("إِسْرَائِيل", ISRAEL_AR),  # tashkeel in the query
    ("الإسرائيلية", {"nisba"}),  # the nisba itself is more specific
    ("المغرب", {"waw", "clitic_bi"}),  # المغرب / بالمغرب / للمغرب
    ("مغرب", {"waw", "clitic_bi"}),
    ('"وزير الخارجية"', {"phrase", "phrase_waw"}),  # ووزير الخارجية: a clitic on the first word
    ('"الخارجية وزير"', set()),
    ('"إسرائيل مذكرة"', {"waw"}),  # وإسرائيل مذكرة: clitic on the phrase's first word
    ("القاهرة", {"phrase", "weather"}),
    ("القاهرة -الطقس", {"phrase"}),
    ("القاهرة NOT الطقس", {"phrase"}),
    ("القاهرة AND مصر", {"weather"}),
    ("(مصر OR المغرب) الاستثمار", {"clitic_bi"}),
    ("اسرائيل OR israel", ISRAEL_AR | {"en_deal"}),
    ("اسرائيل -المغرب", ISRAEL_AR - {"waw"}),
    ("armée", {"fr_army"}),
    ("armee", {"fr_army"}),
    ("ARMÉES", {"fr_army"}),  # plural and case
    ("securite", {"fr_army"}),
    ("crise", {"fr_army", "fr_vote"}),
    ("crise -maroc", {"fr_army"}),
    ("crise AND (maroc OR algérienne)", {"fr_army", "fr_vote"}),
    ("élection", {"fr_vote"}),  # singular query, plural text
    ('"crise économique"', {"fr_vote"}),
    ('"crise regionale"', {"fr_army"}),
    ("israel", {"en_deal"}),
    ("policy", {"en_deal"}),  # policies
    ("polic*", {"en_deal"}),
    ("alex*", {"en_storm"}),
    ("storm OR deal", {"en_deal", "en_storm"}),
    ("storm deal", set()),
    ('"Egypt coast"', {"en_storm"}),
    ('"coast Egypt"', set()),
    ("morocco maroc", set()),
    ("nothingmatches", set()),
]


def load(engine: Engine) -> dict[str, int]:
    ids = {}
    with Session(engine) as session:
        for key, (source, lang, day, title, body, topics) in CORPUS.items():
            url = f"https://{source}.example/{key}"
            article = Article(
                source=source,
                url=url,
                url_key=url[8:],
                url_hash=db.url_hash(url),
                title=title,
                text=body,
                title_norm=normalize_text(title),
                text_norm=normalize_text(body),
                published_at=DAY.replace(day=day),
                language=lang,
                content_hash=db.url_hash(body),
                categories=[],
                tags=[],
            )
            article.topics = [
                ArticleTopic(
                    topic=t,
                    score=2.0,
                    evidence=[
                        {
                            "term": title.split()[0],
                            "field": "title",
                            "position": 0,
                            "snippet": title,
                        }
                    ],
                )
                for t in topics
            ]
            session.add(article)
            session.flush()
            ids[key] = article.id
        session.commit()
    return ids


@pytest.fixture
def corpus(db_url: str):  # type: ignore[no-untyped-def]
    engine = db.make_engine(db_url)
    ids = load(engine)
    yield engine, ids
    engine.dispose()


def found(engine: Engine, query: str | None, filters: Filters | None = None, **kw) -> set[int]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        rows = search(session, query, filters or Filters(), limit=1000, **kw)
    return {row["id"] for row in rows}


def test_queries_find_the_same_articles_on_both_backends(corpus) -> None:  # type: ignore[no-untyped-def]
    engine, ids = corpus
    wrong = []
    for query, expected in CASES:
        got = {k for k, v in ids.items() if v in found(engine, query)}
        if got != expected:
            wrong.append((query, sorted(got), sorted(expected)))
    assert not wrong, wrong


def test_filters_sorting_and_ranking(corpus) -> None:  # type: ignore[no-untyped-def]
    engine, ids = corpus
    key = {v: k for k, v in ids.items()}
    assert found(engine, "اسرائيل", Filters(sources=("atlas",))) == {ids["waw"], ids["nisba"]}
    assert found(engine, "crise", Filters(languages=("fr",))) == {ids["fr_army"], ids["fr_vote"]}
    assert found(engine, "crise", Filters(languages=("fr-ma",))) == {ids["fr_vote"]}
    assert found(engine, None, Filters(languages=("en",))) == {ids["en_deal"], ids["en_storm"]}
    assert found(engine, "اسرائيل", Filters(topics=("politics",))) == {ids["hamza"], ids["nisba"]}
    since, until = DAY.replace(day=2), DAY.replace(day=4)
    assert found(engine, "اسرائيل", Filters(since=since, until=until)) == {ids["waw"], ids["nisba"]}
    with Session(engine) as session:
        by_date = search(session, "اسرائيل", sort="date")
        assert [key[r["id"]] for r in by_date] == ["tatweel", "tashkeel", "nisba", "waw", "hamza"]
        assert all(r["score"] > 0 for r in search(session, "اسرائيل", sort="relevance"))
        assert all("score" not in r for r in by_date)  # date order does not rank
        # a title match outranks a text match
        ranked = search(session, "crise OR algérienne", sort="relevance")
        assert key[ranked[0]["id"]] == "fr_army"
        assert ranked[0]["topics"] == {"defense": 2.0}


def test_index_follows_updates_and_deletes_and_reindex(corpus, db_url: str) -> None:  # type: ignore[no-untyped-def]
    engine, ids = corpus
    with Session(engine) as session:
        title = "Tempête sur la côte égyptienne"
        session.execute(
            update(Article)
            .where(Article.id == ids["en_storm"])
            .values(title=title, title_norm=normalize_text(title))
        )
        session.execute(delete(Article).where(Article.id == ids["en_deal"]))
        session.commit()
    assert found(engine, "tempete") == {ids["en_storm"]}
    assert found(engine, "storm") == set()
    assert found(engine, "israel") == set()
    result = CliRunner().invoke(cli, ["--db", db_url, "db", "reindex"])
    assert result.exit_code == 0, result.output
    assert f"{len(CORPUS) - 1} article(s)" in result.output
    assert found(engine, "tempete") == {ids["en_storm"]}
    assert found(engine, "اسرائيل") == {ids[k] for k in ISRAEL_AR}


def test_story_collapse(corpus) -> None:  # type: ignore[no-untyped-def]
    engine, ids = corpus
    with Session(engine) as session:
        story = Story(
            canonical_article_id=ids["hamza"], article_count=2, sources=["sahil", "atlas"]
        )
        session.add(story)
        session.flush()
        session.execute(
            update(Article)
            .where(Article.id.in_([ids["hamza"], ids["nisba"]]))
            .values(story_id=story.id)
        )
        session.commit()
        rows = search(session, "اسرائيل", collapse_stories=True, sort="date", limit=100)
    assert len(rows) == 4
    copies = {r["id"]: r["copies"] for r in rows}
    assert copies[ids["nisba"]] == 2  # the newer copy represents the story in date order
    assert ids["hamza"] not in copies


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("", "empty query", 0),
        ("a OR", "unexpected end of query", 4),
        ("(a b", "expected ')'", 4),
        ("a) b", "unmatched ')'", 1),
        ('"abc', "unclosed quote", 0),
        ("-a", "cannot only exclude", 0),
        ("a OR -b", "cannot be an alternative of OR", 5),
        ("...", "nothing searchable", 0),
        ("a*", "too short", 0),
        ("()", "empty parentheses", 1),
        ("a AND AND b", "expected a word", 6),
        ("NOT", "unexpected end", 3),
    ],
)
def test_malformed_queries_say_where_and_what(query: str, message: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert message in str(info.value)
    assert info.value.position == position


def test_user_input_never_reaches_sql(corpus) -> None:  # type: ignore[no-untyped-def]
    engine, ids = corpus
    for hostile in (
        "x'); DROP TABLE articles; --",
        'a" OR "b',
        "NEAR(a b)",
        "title_norm:crise",
        "^crise",
    ):
        with contextlib.suppress(QuerySyntaxError):  # refused with a message, or ...
            found(engine, hostile)  # ... searched as words; never executed
    assert found(engine, "crise") == {ids["fr_army"], ids["fr_vote"]}


def test_cli_search_show_export_stats(corpus, db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine, ids = corpus
    with Session(engine) as session:
        session.add(
            ArticleRaw(
                article_id=ids["waw"], compression="gzip", encoding="utf-8", content=b"x" * 10
            )
        )
        session.commit()
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["--db", db_url, *args])
        assert result.exit_code == 0, result.output
        return result.output

    table = run("search", "اسرائيل", "--sort", "date")
    lines = table.splitlines()
    assert lines[0].split() == ["id", "date", "outlet", "topics", "title"]
    assert len(lines) == 6 and "2026-03-05" in lines[1]
    assert "\u2068" in lines[1] and lines[1].endswith("\u2069")  # RTL title isolated, last
    rows = json.loads(
        run("search", "crise", "--format", "json", "--lang", "fr", "--since", "2026-03-11")
    )
    assert [r["id"] for r in rows] == [ids["fr_vote"]]
    assert run("search", "crise", "--format", "csv").splitlines()[0].startswith("id,published_at")
    assert len(run("search", "crise", "--format", "jsonl").splitlines()) == 2

    bad = runner.invoke(cli, ["--db", db_url, "search", "(crise"])
    assert bad.exit_code == 2 and "expected ')'" in bad.output and "Traceback" not in bad.output
    bad = runner.invoke(cli, ["--db", db_url, "search", "crise", "--since", "yesterday"])
    assert bad.exit_code == 2 and "expected a date" in bad.output

    shown = run("show", str(ids["waw"]))
    assert "raw HTML: stored (gzip, 10 bytes)" in shown and "defense" in shown
    assert "وقع المغرب وإسرائيل" in shown
    detail = json.loads(run("show", str(ids["waw"]), "--format", "json"))
    assert detail["topics"][0]["topic"] == "defense" and detail["story_siblings"] == []
    assert runner.invoke(cli, ["--db", db_url, "show", "999999"]).exit_code == 1

    out = tmp_path / "x.jsonl"
    run("export", "اسرائيل", "--format", "jsonl", "--out", str(out))
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {r["id"] for r in records} == {ids[k] for k in ISRAEL_AR}
    assert records[0]["text"]
    out = tmp_path / "all.csv"
    run("export", "--format", "csv", "--out", str(out), "--source", "ledger")
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3

    stats = json.loads(
        run("stats", "--format", "json", "--since", "2026-03-01", "--until", "2026-03-12")
    )
    assert stats["articles"] == 12
    assert stats["topics"]["politics"] == 5
    assert stats["sources"]["sahil"] == 5
    assert stats["days"]["2026-03-12"] == 1 and len(stats["days"]) == 12
    assert "per topic" in run("stats").lower()


def test_parse_when() -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert parse_when("7d", now=now) == datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    assert parse_when("24h", now=now) == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    assert parse_when("2026-03-01") == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_when("2026-03-01", end=True) == datetime(2026, 3, 2, tzinfo=UTC)
    assert parse_when("2026-03-01T08:00+01:00").utcoffset() is not None


VOCAB_AR = ["إسرائيل", "وإسرائيل", "الإسرائيلية", "بالمغرب", "المغرب", "مصر", "الحكومة", "حكومتها",
            "مذكرات", "وزير", "الخارجية", "ووزير", "الأمن", "أمنية", "غزة", "وغزة", "القدس", "اقتصاد"]  # fmt: skip
VOCAB_LATIN = ["armée", "armées", "crise", "l'économie", "sécurité", "Israel", "policies", "policy",
               "deal", "coast", "storm", "al-Quds", "Gaza", "1.5", "covid19", "état-major"]  # fmt: skip
PUNCT = ["", "", "", "،", ".", "«", "»", "!", "؟", ":", "-", "(", ")", "…", "—"]
DIFF_QUERIES = [
    "اسرائيل", "المغرب", "حكومة", "مذكرة", "أمن", "غزة OR القدس", '"وزير الخارجية"', "مصر -غزة",
    "armee", "crise AND securite", "economie", "polic*", "policy", '"al quds"', "al-quds", "1.5",
    "covid19", "etat-major", "israel OR اسرائيل", "(deal OR storm) -coast", "الامن*", "gaza غزه",
]  # fmt: skip


def test_sqlite_and_postgresql_agree_on_generated_text(postgres_server: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Random sentences with punctuation glued to words: both backends tokenise alike."""
    rng = random.Random(7)
    sqlite = db.make_engine(f"sqlite:///{tmp_path / 'diff.db'}")
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('CREATE SCHEMA "search_diff"'))
    admin.dispose()
    pg = db.make_engine(f"{postgres_server}?options=-csearch_path%3Dsearch_diff")
    engines = [sqlite, pg]
    for n in range(200):
        words = [
            rng.choice(PUNCT) + rng.choice(VOCAB_AR + VOCAB_LATIN) + rng.choice(PUNCT)
            for _ in range(rng.randint(3, 25))
        ]
        body = " ".join(words)
        for engine in engines:
            with Session(engine) as session:
                url = f"https://gen.example/{n}"
                session.add(
                    Article(
                        id=n + 1, source="gen", url=url, url_key=url, url_hash=db.url_hash(url),
                        title=" ".join(words[:3]), text=body, title_norm=normalize_text(" ".join(words[:3])),
                        text_norm=normalize_text(body), content_hash=str(n), categories=[], tags=[],
                    )
                )  # fmt: skip
                session.commit()
    for query in DIFF_QUERIES:
        a, b = found(sqlite, query), found(pg, query)
        assert a == b, (query, sorted(a ^ b))
        assert a, query  # every query finds something in this vocabulary
    for engine in engines:
        engine.dispose()


def test_articles_saved_by_the_store_are_searchable(db_url: str) -> None:
    from test_db import make_item

    from crawler.store import ArticleStore

    engine = db.make_engine(db_url)
    saved = ArticleStore(engine).store(make_item())
    assert saved is not None
    article_id = saved.article_id
    assert found(engine, "اسرائيل") == {article_id}  # «وإسرائيل» in the stored title and text
    assert found(engine, '"مذكرة تفاهم"') == {article_id}
    engine.dispose()


def _full_plan(session: Session, query: str, filters: Filters, sort: str, limit: int) -> list[int]:
    """The ids in order from the plan that sorts every match (the reference)."""
    from crawler.search import _matching, _when

    stmt, rank = _matching(session, query, filters, [Article.id])
    when = _when()
    if sort == "relevance":
        stmt = stmt.order_by(rank, when.desc(), Article.id.desc())
    else:
        stmt = stmt.order_by(when.desc().nulls_last(), Article.id.desc())
    return list(session.execute(stmt.limit(limit)).scalars())


def test_limit_aware_plans_match_the_full_plan(corpus, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The date-index walk, the direct sort of few matches, and relevance ranked in rounds
    (ties across the cut, filters rejecting candidates) give the order of sorting every match."""
    engine, _ids = corpus
    with Session(engine) as session:  # two copies: equal scores, the date decides
        for n in range(2):
            url = f"https://twin.example/{n}"
            session.add(
                Article(
                    source="twin", url=url, url_key=url[8:], url_hash=db.url_hash(url),
                    title="crise", text="crise", title_norm="crise", text_norm="crise",
                    published_at=DAY.replace(day=20 + n), language="fr", content_hash=url,
                    categories=[], tags=[],
                )
            )  # fmt: skip
        session.commit()
    filters = [
        Filters(),
        Filters(sources=("atlas",)),
        Filters(languages=("fr",)),
        Filters(topics=("politics",)),
        Filters(since=DAY.replace(day=3), until=DAY.replace(day=12)),
    ]
    queries = [q for q, _ in CASES] + ["crise OR algérienne", "crise"]
    # (walk the date index | sort the few matches, rank in rounds | the window in small chunks)
    for direct_max, window, chunk in ((0, None, 200), (1000, 1000, 1)):
        monkeypatch.setattr("crawler.search.DATE_DIRECT_MAX", direct_max)
        monkeypatch.setattr("crawler.search.RELEVANCE_WINDOW", window)
        monkeypatch.setattr("crawler.search.FILTER_CHUNK", chunk)
        with Session(engine) as session:
            for query in queries:
                for flt in filters:
                    for sort in ("date", "relevance"):
                        for limit in (1, 50):
                            got = [
                                r["id"] for r in search(session, query, flt, sort=sort, limit=limit)
                            ]
                            want = _full_plan(session, query, flt, sort, limit)
                            assert got == want, (query, flt, sort, limit, direct_max)


def test_relevance_ranks_the_newest_matches_of_a_large_result(corpus, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine, ids = corpus
    monkeypatch.setattr("crawler.search.RELEVANCE_WINDOW", 2)
    with Session(engine) as session:
        rows = search(session, "اسرائيل", limit=10)
    newest = sorted((ids[k] for k in ISRAEL_AR), reverse=True)[:2]
    assert sorted(r["id"] for r in rows) == sorted(newest)


def test_a_walk_over_budget_falls_back_to_the_full_plan(corpus, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine, ids = corpus
    monkeypatch.setattr("crawler.search.DATE_DIRECT_MAX", 0)
    monkeypatch.setattr("crawler.search.WALK_BUDGET_S", -1.0)  # every walk is over budget ...
    monkeypatch.setattr("crawler.search.WALK_CHECK_STEPS", 1)  # ... from its first step
    with Session(engine) as session:
        rows = search(session, "اسرائيل", sort="date", limit=3)
    assert [r["id"] for r in rows] == [ids["tatweel"], ids["tashkeel"], ids["nisba"]]


MARKED_QUERIES = [
    *DIFF_QUERIES, "الاسرائيليه", "اسرائيل*", "مغرب", "حكومه -مصر", "الامن", '"وزير الخارجيه"*',
    '"وزير الخارج"*', '"الحكومه حكومتها"', '"مصر غزه القدس"', '"وزير الخارجيه"',
    '"اسرائيل مذكرات"', '"crise securite"', '"al quds gaza"*', '"الخارجيه ' + "ب" * 600 + '"',
]  # fmt: skip


def test_marked_match_selects_exactly_what_the_plain_tsquery_selects(postgres_server: str) -> None:
    """The compact condition on the marked lexemes (clitic-stripped words, adjacent pairs) selects
    the very rows the plain prefix/positional tsquery selects, pairs too long to store included."""
    from sqlalchemy import column, select, table

    from crawler.search import index as search_index
    from crawler.search.query import compile_pg_match, compile_tsquery

    rng = random.Random(11)
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('CREATE SCHEMA "search_marked"'))
    admin.dispose()
    engine = create_engine(f"{postgres_server}?options=-csearch_path%3Dsearch_marked")
    long_word = "ب" * 600
    vocab = [normalize_text(w) for w in VOCAB_AR + VOCAB_LATIN] + [long_word, "و" + long_word]
    docs = table("docs", column("id"), column("document"), column("marks"))
    with engine.begin() as conn:
        for statement in search_index.PG_FUNCTIONS[:2]:
            conn.exec_driver_sql(statement)
        conn.execute(
            text("CREATE TABLE docs (id int PRIMARY KEY, document tsvector, marks tsvector)")
        )
        for n in range(400):
            title = " ".join(rng.choice(vocab) for _ in range(rng.randint(0, 4)))
            body = " ".join(
                rng.choice(PUNCT) + rng.choice(vocab) for _ in range(rng.randint(0, 30))
            )
            conn.execute(
                text(
                    "INSERT INTO docs SELECT :id, d, marsad_search_marks(d) "
                    "FROM marsad_search_document(:t, :b) AS d"
                ),
                {"id": n, "t": title, "b": body},
            )
        plain_sql = text("SELECT id FROM docs WHERE document @@ CAST(:q AS tsquery)")
        empty = set()
        for query in MARKED_QUERIES:
            node = parse_query(query)
            plain = set(conn.execute(plain_sql, {"q": compile_tsquery(node)}).scalars())
            marked = set(
                conn.execute(
                    select(docs.c.id).where(search_index.pg_match(docs, compile_pg_match(node)))
                ).scalars()
            )
            assert plain == marked, (query, sorted(plain ^ marked))
            if not plain:
                empty.add(query)
        assert not empty, empty  # every query finds something in this vocabulary
        conn.execute(text('DROP SCHEMA "search_marked" CASCADE'))
    engine.dispose()


LONG_AR = "ب" * (MAX_WORD_BYTES // 2)  # the longest Arabic word: 2 bytes a letter
LONG_CYRILLIC = "ж" * (MAX_WORD_BYTES // 2)  # 2 bytes a letter, not Arabic
LONG_LATIN = "x" * (MAX_QUERY_CHARS - 20)  # under the byte limit: the query length decides


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("(" * 500 + "a" + ")" * 500, "nested too deep", MAX_DEPTH),
        ("a " + "(" * (MAX_DEPTH + 1) + "b" + ")" * (MAX_DEPTH + 1), "nested too deep", 2 + MAX_DEPTH),
        ("a " + "NOT " * 100 + "b", "nested too deep", 2 + 4 * MAX_DEPTH),
        ("a " + "-" * 500 + "b", "nested too deep", 2 + MAX_DEPTH),
        ("crise " + LONG_AR + "ب", "word too long", 6),
        ("crise " + LONG_CYRILLIC + "ж*", "word too long", 6),
        ('crise "وزير ' + "ا" * (MAX_WORD_BYTES // 2 + 1) + '"', "word too long", 6),
        ("x" * 3000, "query too long", MAX_QUERY_CHARS),
        ("a " * 65, "too many words", 128),
    ],
)  # fmt: skip
def test_oversized_queries_are_syntax_errors_on_both_backends(
    corpus: tuple[Engine, dict[str, int]],
    query: str,
    message: str,
    position: int,
) -> None:
    engine, _ = corpus
    for attempt in (lambda: parse_query(query), lambda: found(engine, query)):
        with pytest.raises(QuerySyntaxError) as info:
            attempt()
        assert message in str(info.value)
        assert info.value.position == position
        assert len(info.value.pretty()) < 300  # a window of the query, never all of it


def test_queries_at_the_limits_run_on_both_backends(corpus) -> None:  # type: ignore[no-untyped-def]
    engine, ids = corpus
    deep = "(" * MAX_DEPTH + "crise" + ")" * MAX_DEPTH
    assert found(engine, deep) == {ids["fr_army"], ids["fr_vote"]}
    for query in (
        f"crise OR {LONG_AR}",
        f"crise OR {LONG_AR}*",
        f"crise OR ال{LONG_AR[2:]}",
        f"crise OR {LONG_AR[:-1]}ة",  # ta marbuta: also the plural ات, two bytes longer
        f'crise OR "{LONG_AR[:500]} {LONG_AR[:400]}"',
        f'crise OR "و{LONG_AR[:300]} {LONG_AR[:300]} {LONG_AR[:300]}"*',
        f"crise OR {LONG_CYRILLIC}",
        f"crise OR {LONG_LATIN}",
        f"crise OR {LONG_LATIN}*",
        # the largest expansion: as many Arabic words (each one 72 prefixes) as fit
        " OR ".join(["crise"] + [f"ب{i:02d}" + "ت" * 26 for i in range(63)])[:MAX_QUERY_CHARS],
    ):
        assert found(engine, query) >= {ids["fr_army"], ids["fr_vote"]}, query[:80]
