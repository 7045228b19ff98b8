"""Full-text search latency, ingest rate and index size on SQLite (FTS5) and PostgreSQL.

    .venv/bin/python bench/search_bench.py [--articles 1000000] [--pg-articles 100000]
                                           [--pg-url URL] [--repeat 5] [--keep PATH]

Loads N generated articles (~350 words, built from sentences of /work/shared/data/
tagging-dev.jsonl when present, else from word lists with Arabic clitic/hamza variants) into a
fresh SQLite database through the real schema and triggers, then times a set of typical analyst
queries (relevance and date order, with and without filters): median and 95th percentile
(targets: median < 50 ms, p95 < 200 ms). Reports ingest rate (articles/s, index maintained by
the triggers) and database bytes per article. Then the same on PostgreSQL with
``--pg-articles`` (0 skips; URL from --pg-url, MARSAD_BENCH_PG_URL or MARSAD_TEST_PG_URL; a
temporary schema is dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from crawler import db  # noqa: E402
from crawler.search import Filters, search  # noqa: E402
from crawler.text.normalize import normalize_text  # noqa: E402

DEV = Path("/work/shared/data/tagging-dev.jsonl")
NOW = datetime(2026, 3, 31, tzinfo=UTC)
OPTIMIZE = "INSERT INTO article_search(article_search) VALUES ('optimize')"
SOURCES = [f"outlet{i:02d}" for i in range(20)]

AR_WORDS = [
    "إسرائيل",
    "وإسرائيل",
    "الإسرائيلية",
    "الإسرائيلي",
    "بإسرائيل",
    "المغرب",
    "بالمغرب",
    "للمغرب",
    "المغربية",
    "مصر",
    "ومصر",
    "المصرية",
    "غزة",
    "وغزة",
    "بغزة",
    "القدس",
    "الحكومة",
    "حكومتها",
    "الحكومي",
    "وزير",
    "ووزير",
    "الخارجية",
    "الداخلية",
    "الرئيس",
    "البرلمان",
    "الانتخابات",
    "الأمن",
    "الأمنية",
    "الاقتصاد",
    "الاقتصادية",
    "النفط",
    "الغاز",
    "الجزائر",
    "تونس",
    "ليبيا",
    "الأردن",
    "السعودية",
    "قطر",
    "الإمارات",
    "مذكرة",
    "مذكرات",
    "تفاهم",
    "اتفاق",
    "اتفاقية",
    "الدفاع",
    "الجيش",
    "العسكرية",
    "المفاوضات",
    "قال",
    "أعلن",
    "أكد",
    "مصدر",
    "مسؤول",
    "اليوم",
    "أمس",
    "الأسبوع",
    "في",
    "من",
    "إلى",
    "على",
    "عن",
    "مع",
    "بعد",
    "قبل",
    "خلال",
    "هذا",
    "هذه",
    "التي",
    "الذي",
]
FR_WORDS = [
    "armée",
    "sécurité",
    "crise",
    "économique",
    "élections",
    "Maroc",
    "Algérie",
    "Tunisie",
    "gouvernement",
    "ministre",
    "président",
    "accord",
    "défense",
    "frontière",
    "régionale",
    "politique",
    "sociale",
    "réforme",
    "le",
    "la",
    "les",
    "des",
    "du",
    "une",
    "un",
    "pour",
    "dans",
    "avec",
    "sur",
    "selon",
    "a",
    "été",
    "après",
    "avant",
    "contre",
    "entre",
]
EN_WORDS = [
    "Israel",
    "Morocco",
    "Egypt",
    "Gaza",
    "government",
    "minister",
    "president",
    "policy",
    "policies",
    "security",
    "crisis",
    "economy",
    "election",
    "deal",
    "defence",
    "border",
    "trade",
    "oil",
    "gas",
    "talks",
    "the",
    "of",
    "and",
    "to",
    "in",
    "on",
    "for",
    "with",
    "said",
    "after",
    "before",
    "against",
    "between",
]

QUERIES = [
    ("اسرائيل", Filters(), "relevance"),
    ("المغرب", Filters(), "date"),
    ('"وزير الخارجية"', Filters(), "relevance"),
    ("غزة OR القدس", Filters(), "relevance"),
    ("الحكومة -مصر", Filters(), "date"),
    ("الاقتصاد النفط", Filters(), "relevance"),
    ("مذكرة تفاهم", Filters(sources=("outlet03",)), "relevance"),
    ("اسرائيل", Filters(since=NOW - timedelta(days=7)), "date"),
    ("armée", Filters(), "relevance"),
    ("crise AND sécurité", Filters(languages=("fr",)), "relevance"),
    ("polic*", Filters(), "date"),
    ("israel gaza", Filters(), "relevance"),
]


def sentence_pools(rng: random.Random) -> dict[str, list[str]]:
    pools: dict[str, list[str]] = {"ar": [], "fr": [], "en": []}
    if DEV.exists():
        for line in DEV.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            for sentence in re.split(r"(?<=[.!?؟])\s+", record["text"]):
                if 5 <= len(sentence.split()) <= 60 and record["lang"] in pools:
                    pools[record["lang"]].append(sentence)
    for lang, words in (("ar", AR_WORDS), ("fr", FR_WORDS), ("en", EN_WORDS)):
        for _ in range(3000):
            pools[lang].append(" ".join(rng.choices(words, k=rng.randint(8, 25))) + ".")
    return pools


def generate(n: int, seed: int = 7):  # type: ignore[no-untyped-def]
    """Yield insert rows for n articles (normalised forms computed once per sentence)."""
    rng = random.Random(seed)
    pools = sentence_pools(rng)
    norm = {lang: [normalize_text(s) for s in pool] for lang, pool in pools.items()}
    langs = ["ar"] * 6 + ["fr"] * 2 + ["en"] * 2
    for i in range(n):
        lang = rng.choice(langs)
        pool, npool = pools[lang], norm[lang]
        picks = [rng.randrange(len(pool)) for _ in range(rng.randint(12, 24))]
        title_words = pool[picks[0]].split()[:12]
        title = " ".join(title_words)
        body = "\n".join(pool[p] for p in picks[1:])
        url = f"https://{i % 20}.example/a/{i}"
        published = NOW - timedelta(seconds=rng.randrange(365 * 86400))
        yield {
            "source": SOURCES[i % len(SOURCES)],
            "url": url,
            "url_key": url[8:],
            "url_hash": db.url_hash(url),
            "title": title,
            "text": body,
            "title_norm": normalize_text(title),
            "text_norm": " ".join(npool[p] for p in picks[1:]),
            "published_at": published,
            "language": lang,
            "content_hash": db.url_hash(body),
            "fetched_at": published,
            "categories": [],
            "tags": [],
            "version": 1,
        }


def ingest(engine, n: int, batch: int = 5000, seed: int = 7) -> float:  # type: ignore[no-untyped-def]
    table = db.Article.__table__
    start = time.perf_counter()
    rows: list[dict] = []  # type: ignore[type-arg]
    done = 0
    for row in generate(n, seed):
        rows.append(row)
        if len(rows) == batch:
            with engine.begin() as conn:
                conn.execute(insert(table), rows)
            done += len(rows)
            rows = []
            if done % (batch * 20) == 0:
                print(f"  ... {done:,} articles", file=sys.stderr, flush=True)
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(table), rows)
    return time.perf_counter() - start


def time_queries(engine, repeat: int) -> list[tuple[str, float, float, int]]:  # type: ignore[no-untyped-def]
    results = []
    all_times: list[float] = []
    with Session(engine) as session:
        for query, filters, sort in QUERIES:
            times = []
            hits = 0
            for _ in range(repeat):
                t0 = time.perf_counter()
                hits = len(search(session, query, filters, limit=20, sort=sort))
                times.append((time.perf_counter() - t0) * 1000)
            all_times += times
            label = f"{query} [{sort}{', filtered' if filters != Filters() else ''}]"
            results.append((label, statistics.median(times), p95(times), hits))
    results.append(("ALL", statistics.median(all_times), p95(all_times), -1))
    return results


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(name: str, n: int, seconds: float, size: int, timings) -> None:  # type: ignore[no-untyped-def]
    print(f"\n== {name}: {n:,} articles")
    print(f"ingest: {n / seconds:,.0f} articles/s ({seconds:.1f}s, index kept by triggers)")
    print(f"size: {size / n:,.0f} bytes/article ({size / 1e6:,.1f} MB)")
    print(f"{'median ms':>10} {'p95 ms':>8} {'hits':>5}  query")
    for label, med, high, hits in timings:
        print(f"{med:>10.1f} {high:>8.1f} {hits if hits >= 0 else '':>5}  {label}")
    _label, med, high, _ = timings[-1]
    verdict = "ok" if med < 50 and high < 200 else "ABOVE TARGET"
    print(f"targets median < 50 ms, p95 < 200 ms: {verdict}")


def _cache_path(cache_dir: str, n: int, seed: int) -> Path:
    return Path(cache_dir) / f"marsad_search_bench_{n}_s{seed}.db"


def _index_signature() -> str:
    from crawler.search import index as search_index

    return "\n".join(
        [search_index.SQLITE_TABLE, search_index.SQLITE_WHEN_INDEX, *search_index.SQLITE_TRIGGERS]
    )


def bench_sqlite(n: int, repeat: int, keep: str | None, cache_dir: str | None, seed: int) -> None:
    """Ingest n articles (or reuse the cached database for n and seed) and time the queries.

    A cached database whose index DDL differs from ``crawler.search.index`` gets its index
    re-created and rebuilt from the stored articles (no re-ingest)."""
    tmp = tempfile.TemporaryDirectory()
    if cache_dir:
        path = _cache_path(cache_dir, n, seed)
    else:
        path = Path(keep) if keep else Path(tmp.name) / "bench.db"
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text()) if cache_dir and meta_path.exists() else None
    if meta is None and path.exists():
        path.unlink()
    engine = db.make_engine(f"sqlite:///{path}")
    if meta is None:
        seconds = ingest(engine, n, seed=seed)
        meta = {"ingest_seconds": seconds, "articles": n, "seed": seed, "index": _index_signature()}
        with engine.begin() as conn:
            conn.exec_driver_sql(OPTIMIZE)
        if cache_dir:
            meta_path.write_text(json.dumps(meta))
    else:
        seconds = meta["ingest_seconds"]
        print(f"reusing {path} (ingested earlier: {n / seconds:,.0f} articles/s)", flush=True)
        if meta.get("index") != _index_signature():
            from crawler.search import index as search_index

            print("index DDL changed: re-creating and rebuilding the index ...", flush=True)
            t0 = time.perf_counter()
            with engine.begin() as conn:
                search_index.uninstall(conn)
                search_index.install(conn)
                conn.exec_driver_sql(OPTIMIZE)
            print(f"  rebuilt in {time.perf_counter() - t0:.1f}s", flush=True)
            meta["index"] = _index_signature()
            meta_path.write_text(json.dumps(meta))
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.exec_driver_sql("ANALYZE")
    size = path.stat().st_size
    print(f"load average during queries (before): {os.getloadavg()}", flush=True)
    report("SQLite FTS5", n, seconds, size, time_queries(engine, repeat))
    print(f"load average (after): {os.getloadavg()}", flush=True)
    engine.dispose()
    tmp.cleanup()


def bench_postgres(url: str, n: int, repeat: int, keep: bool = False, seed: int = 7) -> None:
    """Ingest n articles into a temporary schema (dropped afterwards) and time the queries.

    With *keep*, the schema ``bench_cache_<n>_s<seed>`` is kept and reused by later runs (its
    search index DDL is re-applied, idempotently)."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    schema = f"bench_cache_{n}_s{seed}" if keep else f"bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}
        ).first()
        if exists and keep:
            meta = conn.execute(text(f'SELECT seconds FROM "{schema}".bench_meta')).first()
            if meta is None:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                exists = None
        if not exists:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    engine = db.make_engine(f"{url}{sep}options=-csearch_path%3D{schema}")
    try:
        if exists:
            seconds = float(meta[0])  # type: ignore[index]
            print(f"reusing schema {schema} (ingested earlier: {n / seconds:,.0f} articles/s)")
            from crawler.search import index as search_index

            # the index functions as defined, and whether the GIN index exists: a change of
            # either needs a re-index
            document_fn = text(
                "SELECT string_agg(pg_get_functiondef(oid), '' ORDER BY proname) "
                "|| (to_regclass(:s || '.ix_article_search_marks') IS NOT NULL)::text "
                "FROM pg_proc WHERE proname IN ('marsad_search_document', 'marsad_search_marks') "
                "AND pronamespace = to_regnamespace(:s)"
            )
            with engine.begin() as conn:
                before = conn.execute(document_fn, {"s": schema}).scalar()
                for statement in (*search_index.PG_FUNCTIONS, search_index.PG_WHEN_INDEX):
                    conn.exec_driver_sql(statement)
                after = conn.execute(document_fn, {"s": schema}).scalar()
                changed = before != after or not after.endswith("true")
            if changed:
                print("index functions changed: re-indexing ...", flush=True)
                t0 = time.perf_counter()
                with engine.begin() as conn:
                    search_index.rebuild(conn)
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("VACUUM ANALYZE article_search")
                print(f"  re-indexed in {time.perf_counter() - t0:.1f}s", flush=True)
        else:
            seconds = ingest(engine, n, batch=2000, seed=seed)
            with engine.begin() as conn:
                conn.execute(text("CREATE TABLE bench_meta (seconds float NOT NULL)"))
                conn.execute(text("INSERT INTO bench_meta VALUES (:s)"), {"s": seconds})
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            size = conn.execute(
                text(
                    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                    "JOIN pg_namespace s ON s.oid = c.relnamespace "
                    "WHERE s.nspname = :s AND c.relkind = 'r' AND c.relname <> 'bench_meta'"
                ),
                {"s": schema},
            ).scalar_one()
        print(f"load average during queries (before): {os.getloadavg()}", flush=True)
        report("PostgreSQL tsvector + GIN", n, seconds, int(size), time_queries(engine, repeat))
        print(f"load average (after): {os.getloadavg()}", flush=True)
    finally:
        engine.dispose()
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--pg-articles", type=int, default=100_000)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("MARSAD_BENCH_PG_URL")
        or os.environ.get(
            "MARSAD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", metavar="PATH", help="Keep the SQLite database here.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--pg-keep",
        action="store_true",
        help="Keep the PostgreSQL schema bench_cache_<N>_s<seed> and reuse it next time.",
    )
    parser.add_argument(
        "--cache-dir",
        default="/tmp",
        help="Reuse the SQLite database generated for the same N and seed here ('' disables).",
    )
    args = parser.parse_args()
    if args.articles:
        bench_sqlite(args.articles, args.repeat, args.keep, args.cache_dir or None, args.seed)
    if args.pg_articles:
        bench_postgres(args.pg_url, args.pg_articles, args.repeat, args.pg_keep, args.seed)


if __name__ == "__main__":
    main()
