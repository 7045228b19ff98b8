"""Story clustering: pair precision/recall on a syndication set, cost per article, index size.

Builds a syndication set from real article texts (../shared/data/tagging-dev.jsonl). Three
texts in four of each language are "wires"; the fourth is held out as fresh material (the
new reporting of follow-ups, the outlets' local paragraphs), so it never repeats a wire. Each
wire gets one copy per kind of edit:

* mild: new headline only, agency dateline, one paragraph dropped, outlet boilerplate, two
  sentence swaps, and all of these at once ("everything");
* heavy: cut short to 60-70% of the words ("trim"), two paragraphs dropped ("drop2"), a
  rewritten lead ("lead"), a local paragraph added ("local"), and a rewritten lead + cut to
  70% + dateline + boilerplate ("heavy");

(an edit that needs more sentences than a short wire has is skipped for it). Hard negatives:
the other wires, many on the same topic (labels morocco / israel / defence), and follow-ups:
a later story (fresh material) repeating two background sentences of a wire (<= 40% of its
words). A follow-up is a *different* story: it reports a new development, and the issue asks
that different stories on one topic stay apart; so it counts as its own group.

1. fills the database with --window synthetic articles (real fingerprints, random words drawn
   from the same texts), as if the last 14 days held that many stories;
2. baseline: inserting each labelled article *without* story assignment (plain ORM insert);
3. Marsad: ``ArticleStore.store`` of each labelled article (LSH lookup + verification +
   insert + story + band claims, one transaction), in a random order;

and prints pair precision and recall overall and per kind (targets >= 0.99 and >= 0.95), the
similarity margins between copies and different stories, milliseconds per article for the
full store and its story part (target <= 2 ms with 100,000 articles in the window) and the
baseline, and the index's size per article (band rows, bytes on disk).

    .venv/bin/python bench/stories_bench.py [--window 100000] [--db URL]
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler import db  # noqa: E402
from crawler.crawl.items import ArticleItem  # noqa: E402
from crawler.db import Article, Story, StoryBand  # noqa: E402
from crawler.extract.core import Extracted  # noqa: E402
from crawler.store import ArticleStore, article_rows, insert_article  # noqa: E402
from crawler.stories import (  # noqa: E402
    StoryParams,
    containment,
    fingerprint,
    jaccard,
    shingles,
    verify,
)
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

# Copies of a wire, by kind of edit. Mild: what most outlets do. Heavy: what some do; they must
# still join (recall is reported per kind, so a kind that fails shows).
MILD = ["headline", "dateline", "drop", "boilerplate", "reorder", "everything"]
HEAVY = ["trim", "drop2", "lead", "local", "heavy"]
KINDS = MILD + HEAVY
# Hard negative: a follow-up (a new article on a later development that repeats two background
# sentences of the wire). It is a different story and must not join the wire's story.
FOLLOWUP = "followup"


@dataclass
class Labelled:
    item: ArticleItem
    group: int  # true story
    kind: str  # "wire", a kind of edit, or "followup"
    lang: str
    labels: frozenset[str]


def sentences(body: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_RE.split(body) if s.strip()]


def units(body: str) -> list[str]:
    """Paragraphs when the text has at least five, else sentences (what an editor cuts)."""
    paragraphs = [p.strip() for p in body.split("\n") if p.strip()]
    return paragraphs if len(paragraphs) >= 5 else sentences(body)


def words(parts: list[str]) -> int:
    return sum(len(p.split()) for p in parts)


def rewrite(sentence: str) -> str:
    """A rewritten lead: the same names and facts in other words and order (no 3-gram kept)."""
    tokens = sentence.split()
    half = len(tokens) // 2
    kept = [w for i, w in enumerate(tokens[half:] + tokens[:half]) if i % 3 != 2]
    return " ".join(kept[0::2] + kept[1::2])


def trim(parts: list[str], keep: float) -> list[str]:
    """The first sentences holding at least *keep* of the words (a copy cut short)."""
    total, out = words(parts), []
    for part in parts:
        out.append(part)
        if words(out) >= keep * total:
            break
    return out


def rewrite_lead(parts: list[str]) -> list[str]:
    first = sentences(parts[0])
    return [" ".join([rewrite(first[0]), *first[1:]]), *parts[1:]]


def edit(body: str, lang: str, kind: str, rng: random.Random, local: list[str]) -> str | None:
    """What an outlet makes of a wire; None when the text is too short for this edit."""
    parts = units(body)
    dateline = rng.choice(DATELINES.get(lang, DATELINES["en"]))
    boiler = rng.choice(BOILERPLATE.get(lang, BOILERPLATE["en"]))
    if kind in ("drop", "everything") and len(parts) >= 4:
        for _ in range(max(1, len(parts) // 8)):
            parts.pop(rng.randrange(1, len(parts)))
    if kind == "drop2":
        if len(parts) < 5:
            return None
        for _ in range(2):
            parts.pop(rng.randrange(1, len(parts)))
    if kind in ("reorder", "everything"):
        parts = sentences(" ".join(parts))
        if len(parts) < 4:
            return None
        for _ in range(2 if kind == "reorder" else 1):
            i = rng.randrange(1, len(parts) - 1)
            parts[i], parts[i + 1] = parts[i + 1], parts[i]
    if kind in ("trim", "heavy"):
        parts = sentences(" ".join(parts))
        if len(parts) < 3:
            return None
        parts = trim(parts, rng.uniform(0.6, 0.7) if kind == "trim" else 0.7)
    if kind in ("lead", "heavy"):
        parts = rewrite_lead(parts)
    if kind == "local":
        paragraph = " ".join(rng.sample(local, min(2, len(local))))
        parts.insert(rng.choice([1, len(parts)]), paragraph)
    if kind in ("dateline", "everything", "heavy"):
        parts[0] = dateline + parts[0]
    if kind in ("boilerplate", "everything", "heavy"):
        parts.append(boiler)
    return "\n\n".join(parts)


def followup(body: str, fresh: str, rng: random.Random) -> str | None:
    """A new story that repeats two background sentences of *body* (<= 40% of its words)."""
    old = sentences(body)
    if len(old) < 5:
        return None
    i = rng.randrange(1, len(old) - 1)
    background = old[i : i + 2]
    if words(background) > 0.4 * words(old):
        return None
    new = trim(sentences(fresh), 1.0)
    new = new[: max(3, len(new) - 1)]
    at = rng.randrange(1, len(new) + 1)
    return "\n\n".join([*new[:at], *background, *new[at:]])


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


def labelled_set(path: Path, rng: random.Random) -> list[Labelled]:
    """Wires with a copy per kind of edit, and follow-ups, shuffled.

    One text in four of each language is held out of the wires: those are the "fresh
    reporting" of follow-ups and the outlets' local paragraphs, so that neither repeats a
    stored wire.
    """
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    by_lang: dict[str, list[dict]] = {}
    seen: set[str] = set()
    for row in rows:
        if len(row["text"].split()) >= 40 and row["text"] not in seen:
            seen.add(row["text"])
            by_lang.setdefault(row.get("lang", "ar"), []).append(row)
    out: list[Labelled] = []
    now = datetime.now(UTC)
    group = 0
    for lang, texts in sorted(by_lang.items()):
        held = texts[3::4]
        fresh = [row["text"] for row in held[0::2]]
        local = [s for row in held[1::2] for s in sentences(row["text"]) if len(s.split()) >= 8]
        for row in [row for n, row in enumerate(texts) if n % 4 != 3]:
            group += 1
            body = row["text"]
            labels = frozenset(k for k, v in row.get("labels", {}).items() if v)
            when = now - timedelta(hours=rng.randrange(1, 72))
            title = row.get("title") or body[:60]
            wire = item(body, title, lang, f"https://wire.example/{group}", "wire", when)
            out.append(Labelled(wire, group, "wire", lang, labels))
            for n, kind in enumerate(KINDS):
                copy = edit(body, lang, kind, rng, local)
                if copy is None:
                    continue
                published = when + timedelta(minutes=rng.randrange(1, 600))
                url = f"https://outlet{n}.example/{group}"
                copy_item = item(copy, f"{kind}: {body[:40]}", lang, url, f"outlet-{n}", published)
                out.append(Labelled(copy_item, group, kind, lang, labels))
            if fresh:
                later = followup(body, fresh[-1], rng)
                if later is not None:
                    fresh.pop()
                    group += 1
                    url = f"https://later.example/{group}"
                    published = when + timedelta(hours=rng.randrange(6, 48))
                    later_item = item(later, f"follow-up {group}", lang, url, "later", published)
                    out.append(Labelled(later_item, group, FOLLOWUP, lang, labels))
    rng.shuffle(out)
    return out


def fill_window(engine, count: int, vocabulary: list[str], params: StoryParams, rng) -> float:  # type: ignore[no-untyped-def]
    """*count* synthetic articles, one story each, with their real band keys; seconds taken."""
    start = time.perf_counter()
    now = datetime.now(UTC)
    batch = 1000  # x ~38 band keys: under PostgreSQL's 65,535 bind parameters
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
    if engine.dialect.name == "postgresql":  # explicit ids above: move the sequences past them
        with engine.begin() as conn:
            for table in ("articles", "stories"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
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


def scores_by_kind(labelled: list[Labelled], predicted: list[int]) -> dict[str, list[int]]:
    """Per kind: [true pairs, found, predicted pairs, correct] over the pairs it takes part in."""
    out: dict[str, list[int]] = {}
    for i, a in enumerate(labelled):
        for j in range(i + 1, len(labelled)):
            b = labelled[j]
            same_truth = a.group == b.group
            same_pred = predicted[i] == predicted[j]
            if not (same_truth or same_pred):
                continue
            for kind in {a.kind, b.kind}:
                row = out.setdefault(kind, [0, 0, 0, 0])
                row[0] += same_truth
                row[1] += same_truth and same_pred
                row[2] += same_pred
                row[3] += same_truth and same_pred
    return out


def similarity_margins(labelled: list[Labelled], params: StoryParams) -> list[str]:
    """Lowest similarity of a copy to its wire per kind; highest between different stories."""
    grams = [shingles(x.item.text_norm, params.shingle_size) for x in labelled]
    wire = {x.group: i for i, x in enumerate(labelled) if x.kind == "wire"}
    lowest: dict[str, list[float]] = {}
    for i, x in enumerate(labelled):
        if x.kind in ("wire", FOLLOWUP):
            continue
        w = grams[wire[x.group]]
        row = lowest.setdefault(x.kind, [1.0, 1.0, 0])
        row[0] = min(row[0], jaccard(grams[i], w))
        row[1] = min(row[1], containment(grams[i], w))
        row[2] += not verify(grams[i], w, params)
    highest: dict[str, list[float]] = {}
    wires = [i for i, x in enumerate(labelled) if x.kind == "wire"]
    for i in wires:
        for j in wires:
            a, b = labelled[i], labelled[j]
            if i < j and a.lang == b.lang and a.labels & b.labels:
                row = highest.setdefault("same-topic wires", [0.0, 0.0, 0])
                row[0] = max(row[0], jaccard(grams[i], grams[j]))
                row[1] = max(row[1], containment(grams[i], grams[j]))
                row[2] += verify(grams[i], grams[j], params)
    for i, x in enumerate(labelled):
        if x.kind == FOLLOWUP:
            for j in wires:
                if labelled[j].lang == x.lang:
                    row = highest.setdefault("follow-up vs wires", [0.0, 0.0, 0])
                    row[0] = max(row[0], jaccard(grams[i], grams[j]))
                    row[1] = max(row[1], containment(grams[i], grams[j]))
                    row[2] += verify(grams[i], grams[j], params)
    lines = ["similarity (shingle sets), copy vs its wire: min Jaccard / min containment"]
    lines += [
        f"  {k:<12} {v[0]:.2f} / {v[1]:.2f}  (fail verification: {v[2]})" for k, v in lowest.items()
    ]
    lines.append("different stories: max Jaccard / max containment")
    lines += [
        f"  {k:<20} {v[0]:.2f} / {v[1]:.2f}  (pass verification: {v[2]})"
        for k, v in highest.items()
    ]
    return lines


def baseline_insert(engine, items: list[ArticleItem]) -> float:  # type: ignore[no-untyped-def]
    """Plain one-transaction inserts of the same articles (no stories), seconds per article."""
    start = time.perf_counter()
    for it in items:
        with engine.connect() as conn:
            rows = article_rows(it)
            rows.article["url_hash"] = db.url_hash("baseline/" + it.url_key)
            rows.url_hashes.clear()  # the article row, its topics and raw page only
            insert_article(conn, rows, None)
            conn.commit()
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
    parser.add_argument("--threshold", type=float, default=StoryParams().threshold)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    params = StoryParams(threshold=args.threshold)
    data = args.shared / "data" / "tagging-dev.jsonl"
    labelled = labelled_set(data, rng)
    vocabulary = [w for x in labelled for w in x.item.text_norm.split()]
    tmp = tempfile.TemporaryDirectory()
    url = args.db or f"sqlite:///{tmp.name}/stories-bench.db"
    engine = db.make_engine(url)
    b, r = params.bands
    print(
        f"database: {engine.dialect.name}; LSH threshold {params.threshold}: {b} bands x {r} rows"
    )
    seconds = fill_window(engine, args.window, vocabulary, params, rng)
    print(f"window: {args.window:,} articles stored in {seconds:.1f}s")

    items = [x.item for x in labelled]
    started = time.perf_counter()
    for it in items:
        it.fingerprint = fingerprint(it.text_norm, params)
    fp_ms = (time.perf_counter() - started) / len(items) * 1000

    store = ArticleStore(engine, params)
    started = time.perf_counter()
    saved = [store.store(it) for it in items]
    store_ms = (time.perf_counter() - started) / len(items) * 1000
    assign_ms = store.story_seconds / len(items) * 1000
    base_ms = baseline_insert(engine, items) * 1000

    truth = [x.group for x in labelled]
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

    kinds = Counter(x.kind for x in labelled)
    print(
        f"labelled set: {len(items)} articles: {kinds['wire']} wires, "
        f"{sum(kinds[k] for k in KINDS)} copies, {kinds[FOLLOWUP]} follow-ups"
    )
    print(f"pair precision: {precision:.4f}  ({both}/{pred_pairs} predicted pairs)  target >= 0.99")
    print(f"pair recall:    {recall:.4f}  ({both}/{true_pairs} true pairs)  target >= 0.95")
    print("per kind (pairs an article of that kind is in):")
    print(f"  {'kind':<12} {'n':>4} {'recall':>15} {'precision':>15}")
    by_kind = scores_by_kind(labelled, predicted)
    for kind in ["wire", *KINDS, FOLLOWUP]:
        t, found, p, correct = by_kind.get(kind, [0, 0, 0, 0])
        rec = f"{found / t:.3f} ({found}/{t})" if t else "-"
        pre = f"{correct / p:.3f} ({correct}/{p})" if p else "-"
        print(f"  {kind:<12} {kinds[kind]:>4} {rec:>15} {pre:>15}")
    same_topic = [
        (i, j)
        for i, a in enumerate(labelled)
        for j, b in enumerate(labelled)
        if i < j and a.kind == b.kind == "wire" and a.lang == b.lang and a.labels & b.labels
    ]
    joined = sum(predicted[i] == predicted[j] for i, j in same_topic)
    print(f"same-topic different wires (same language, shared label): {joined} joined")
    print(f"  of {len(same_topic)} pairs")
    for line in similarity_margins(labelled, params):
        print(line)
    print(f"fingerprint (shingles + MinHash + band keys): {fp_ms:.3f} ms/article")
    print(f"store with story assignment: {store_ms:.3f} ms/article  target <= 2 ms")
    print(f"  of which story assignment: {assign_ms:.3f} ms/article")
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
