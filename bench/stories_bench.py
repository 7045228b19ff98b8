"""Story clustering: pair precision/recall on a syndication set, cost per article, index size.

Builds a syndication set from real article texts (../shared/data/tagging-dev.jsonl): each text
is a "wire", and outlets republish it with a new headline, an agency dateline, a dropped
sentence, their own boilerplate, reordered sentences, or all of these at once. The other texts
of the file (many on the same topics: Morocco, Israel, defence...) are different stories.

1. fills the database with --window synthetic articles (real fingerprints, random words drawn
   from the same texts), as if the last 14 days held that many stories;
2. baseline: inserting each labelled article *without* story assignment (plain insert);
3. Marsad: ``ArticleStore.store`` of each labelled article (insert + LSH lookup + verification
   + band claims, one transaction), in a random order;

and prints pair precision and recall (targets >= 0.99 and >= 0.95), milliseconds per article
for both runs (target <= 2 ms with 100,000 articles in the window) and their ratio, and the
index's size per article (band rows, bytes on disk when SQLite can tell).

    .venv/bin/python bench/stories_bench.py [--window 100000] [--copies 4] [--db URL]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler import db  # noqa: E402
from crawler.db import Article, Story, StoryBand  # noqa: E402
from crawler.extract import Extracted  # noqa: E402
from crawler.items import ArticleItem  # noqa: E402
from crawler.store import ArticleStore, _article  # noqa: E402
from crawler.stories import StoryParams, fingerprint  # noqa: E402
from pipelines.normalize import normalize_article  # noqa: E402

DATELINES = {
    "ar": ["الرباط (و م ع) - ", "رام الله (وفا) - ", "الرياض (واس) - ", "الدوحة (قنا) - "],
    "fr": ["RABAT (MAP) - ", "ALGER (APS) - ", "TUNIS (TAP) - ", "PARIS (AFP) - "],
    "en": ["RABAT (MAP) - ", "ANKARA (AA) - ", "DOHA (QNA) - ", "AMMAN (Reuters) - "],
}
BOILERPLATE = {
    "ar": [
        "تابعوا آخر الأخبار عبر تطبيق الجريدة على الهواتف الذكية واشتركوا في النشرة اليومية.",
        "جميع الحقوق محفوظة للموقع ولا يجوز إعادة النشر دون إذن مسبق من إدارة التحرير.",
        "لمزيد من الأخبار تابعونا على صفحاتنا في مواقع التواصل الاجتماعي.",
    ],
    "fr": [
        "Retrouvez toute l'actualité sur notre application mobile et abonnez-vous à la newsletter.",
        "Tous droits réservés. Reproduction interdite sans autorisation préalable de la rédaction.",
        "Suivez-nous sur les réseaux sociaux pour ne rien manquer de l'actualité régionale.",
    ],
    "en": [
        "Sign up for our free morning newsletter and follow us for the latest news.",
        "All rights reserved. This material may not be republished without prior permission.",
        "Download our app to get breaking news alerts on your phone.",
    ],
}
_SENTENCE_RE = re.compile(r"(?<=[.!?؟])\s+|\n+")


def sentences(body: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_RE.split(body) if s.strip()]


def edit(body: str, lang: str, kind: str, rng: random.Random) -> str:
    parts = sentences(body)
    dateline = rng.choice(DATELINES.get(lang, DATELINES["en"]))
    boiler = rng.choice(BOILERPLATE.get(lang, BOILERPLATE["en"]))
    if kind in ("drop", "everything") and len(parts) >= 4:
        for _ in range(max(1, len(parts) // 8)):
            parts.pop(rng.randrange(1, len(parts)))
    if kind in ("reorder", "everything") and len(parts) >= 4:
        i = rng.randrange(1, len(parts) - 1)
        parts[i], parts[i + 1] = parts[i + 1], parts[i]
    if kind in ("dateline", "everything"):
        parts[0] = dateline + parts[0]
    if kind in ("boilerplate", "everything"):
        parts.append(boiler)
    return " ".join(parts)


def item(body: str, title: str, lang: str, url: str, source: str, when: datetime) -> ArticleItem:
    extracted = Extracted(
        url=url,
        title=title,
        text=body,
        author=None,
        published=when,
        date_source="page",
        language=lang,
        description=None,
        image=None,
        categories=(),
        tags=(),
    )
    return normalize_article(ArticleItem(source=source, fetched_url=url, extracted=extracted))


def labelled_set(path: Path, copies: int, rng: random.Random) -> list[tuple[ArticleItem, int]]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    kinds = ["dateline", "drop", "boilerplate", "reorder", "everything"]
    out: list[tuple[ArticleItem, int]] = []
    seen: set[str] = set()
    now = datetime.now(UTC)
    for group, row in enumerate(rows):
        body, lang = row["text"], row.get("lang", "ar")
        if len(body.split()) < 40 or body in seen:
            continue
        seen.add(body)
        when = now - timedelta(hours=rng.randrange(1, 72))
        title = row.get("title") or body[:60]
        out.append((item(body, title, lang, f"https://wire.example/{group}", "wire", when), group))
        for n in range(copies):
            kind = kinds[n % len(kinds)] if n < len(kinds) else rng.choice(kinds)
            out.append(
                (
                    item(
                        edit(body, lang, kind, rng),
                        f"{title} ({kind})",  # a new headline
                        lang,
                        f"https://outlet{n}.example/{group}",
                        f"outlet-{n}",
                        when + timedelta(minutes=rng.randrange(1, 600)),
                    ),
                    group,
                )
            )
    rng.shuffle(out)
    return out


def fill_window(engine, count: int, vocabulary: list[str], params: StoryParams, rng) -> float:  # type: ignore[no-untyped-def]
    """*count* synthetic articles, one story each, with their real band keys; seconds taken."""
    start = time.perf_counter()
    now = datetime.now(UTC)
    batch = 2000
    with Session(engine) as session:
        next_id = (session.scalar(select(func.max(Article.id))) or 0) + 1
        next_story = (session.scalar(select(func.max(Story.id))) or 0) + 1
    for offset in range(0, count, batch):
        articles, stories, bands = [], [], []
        for n in range(offset, min(count, offset + batch)):
            body = " ".join(rng.choices(vocabulary, k=rng.randrange(120, 400)))
            fp = fingerprint(body, params)
            aid, sid = next_id + n, next_story + n
            stories.append(
                {
                    "id": sid,
                    "canonical_article_id": aid,
                    "created_at": now,
                    "updated_at": now,
                    "article_count": 1,
                    "sources": ["filler"],
                }
            )
            articles.append(
                {
                    "id": aid,
                    "source": "filler",
                    "url": f"https://filler.example/{n}",
                    "url_key": f"filler.example/{n}",
                    "url_hash": db.url_hash(f"filler.example/{n}"),
                    "title": "filler",
                    "text": body,
                    "title_norm": "filler",
                    "text_norm": body,
                    "categories": [],
                    "tags": [],
                    "content_hash": db.url_hash(body),
                    "fetched_at": now,
                    "story_id": sid,
                }
            )
            bands += [
                {"band_key": k, "story_id": sid, "article_id": aid, "seen_at": now}
                for k in fp.band_keys
            ]
        with Session(engine) as session:
            session.execute(insert(Story), stories)
            session.execute(insert(Article), articles)
            # a random collision between filler texts is possible in principle; skip it
            unique = {b["band_key"]: b for b in bands}
            taken = set(
                session.scalars(
                    select(StoryBand.band_key).where(StoryBand.band_key.in_(list(unique)))
                )
            )
            session.execute(insert(StoryBand), [b for k, b in unique.items() if k not in taken])
            session.commit()
        print(f"\r  window: {min(count, offset + batch):,} articles", end="", file=sys.stderr)
    print(file=sys.stderr)
    return time.perf_counter() - start


def pair_scores(truth: list[int], predicted: list[int]) -> tuple[float, float, int, int, int]:
    def pairs(counter: Counter) -> int:  # type: ignore[type-arg]
        return sum(n * (n - 1) // 2 for n in counter.values())

    both = pairs(Counter(zip(truth, predicted, strict=True)))
    predicted_pairs = pairs(Counter(predicted))
    true_pairs = pairs(Counter(truth))
    precision = both / predicted_pairs if predicted_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    return precision, recall, both, predicted_pairs, true_pairs


def baseline_insert(engine, items: list[ArticleItem]) -> float:  # type: ignore[no-untyped-def]
    """Plain one-transaction inserts of the same articles (no stories), seconds per article."""
    start = time.perf_counter()
    for it in items:
        with Session(engine) as session:
            article = _article(it)
            article.url_hash = db.url_hash("baseline/" + it.url_key)
            session.add(article)
            session.commit()
    return (time.perf_counter() - start) / len(items)


def index_bytes(engine) -> int | None:  # type: ignore[no-untyped-def]
    if engine.dialect.name == "sqlite":
        try:
            with engine.connect() as conn:
                return conn.execute(
                    text(
                        "SELECT SUM(pgsize) FROM dbstat WHERE name = 'story_bands' OR "
                        "name LIKE 'ix_story_bands%' OR name LIKE 'sqlite_autoindex_story_bands%'"
                    )
                ).scalar()
        except Exception:
            return None
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_total_relation_size('story_bands')")).scalar()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--window", type=int, default=100_000, help="articles already stored")
    parser.add_argument("--copies", type=int, default=4, help="copies per wire")
    parser.add_argument("--threshold", type=float, default=StoryParams().threshold)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    params = StoryParams(threshold=args.threshold)
    data = args.shared / "data" / "tagging-dev.jsonl"
    labelled = labelled_set(data, args.copies, rng)
    vocabulary = [w for it, _ in labelled for w in it.text_norm.split()]
    tmp = tempfile.TemporaryDirectory()
    url = args.db or f"sqlite:///{tmp.name}/stories-bench.db"
    engine = db.make_engine(url)
    b, r = params.bands
    print(
        f"database: {engine.dialect.name}; LSH threshold {params.threshold}: {b} bands x {r} rows"
    )
    seconds = fill_window(engine, args.window, vocabulary, params, rng)
    print(f"window: {args.window:,} articles stored in {seconds:.1f}s")

    items = [it for it, _ in labelled]
    started = time.perf_counter()
    for it in items:
        it.fingerprint = fingerprint(it.text_norm, params)
    fp_ms = (time.perf_counter() - started) / len(items) * 1000

    store = ArticleStore(engine, params)
    started = time.perf_counter()
    saved = [store.store(it) for it in items]
    store_ms = (time.perf_counter() - started) / len(items) * 1000
    base_ms = baseline_insert(engine, items) * 1000

    truth = [group for _, group in labelled]
    predicted = [s.story_id if s else -i for i, s in enumerate(saved)]
    precision, recall, both, pred_pairs, true_pairs = pair_scores(truth, predicted)
    with Session(engine) as session:
        bands = session.scalar(select(func.count()).select_from(StoryBand)) or 0
        articles = (
            session.scalar(
                select(func.count()).select_from(Article).where(Article.story_id.is_not(None))
            )
            or 1
        )
    size = index_bytes(engine)
    engine.dispose()

    groups = len(set(truth))
    print(f"labelled set: {len(items)} articles, {groups} wires x (1 + {args.copies} copies)")
    print(f"pair precision: {precision:.4f}  ({both}/{pred_pairs} predicted pairs)  target >= 0.99")
    print(f"pair recall:    {recall:.4f}  ({both}/{true_pairs} true pairs)  target >= 0.95")
    print(f"fingerprint (shingles + MinHash + band keys): {fp_ms:.3f} ms/article")
    print(f"store with story assignment: {store_ms:.3f} ms/article  target <= 2 ms")
    print(f"baseline plain insert:       {base_ms:.3f} ms/article")
    print(
        f"story assignment overhead:   {store_ms - base_ms:.3f} ms/article "
        f"(ratio {store_ms / base_ms:.2f}x the plain insert)"
    )
    print(
        f"index: {bands:,} band rows for {articles:,} articles = {bands / articles:.1f} per article"
    )
    if size:
        print(f"index on disk (story_bands + indexes): {size / articles:.0f} bytes per article")
    print("(nothing of the index is held in memory between articles: it lives in the database)")


if __name__ == "__main__":
    main()
