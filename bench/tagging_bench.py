"""Tagging throughput and a bounded-memory retag run.

    .venv/bin/python bench/tagging_bench.py [--shared ../shared] [--articles 100000]
                                            [--retag-words 200] [--seconds 3]

1. Articles/s on one core for ~800-word articles built from tagging-dev texts (or generated
   words when the dev set is absent), with the shipped topics and with a generated topic set of
   1,000 terms (ratio printed; target: >= 2,000 articles/s, 1,000 terms <= 3x slower).
2. Linearity: microseconds per word for one article of 1,000 and of 100,000 words made of
   confuser-suite sentences (dense in sense-rule contexts: sport, court, prayer words near
   ambiguous terms), with the shipped topics and senses; the ratio long/short should stay
   near 1 (target <= 1.5: sense checks are bisect lookups, not scans).
3. `retag` over N generated stored articles in a temporary SQLite database: wall time and the
   resident memory (VmRSS) after 10% of the articles and at the end, plus the peak -- memory
   must not grow with the number of articles.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import insert  # noqa: E402

from crawler import db  # noqa: E402
from crawler.config import Topic, load_config  # noqa: E402
from crawler.tagging import Tagger  # noqa: E402
from crawler.tagging.retag import retag  # noqa: E402

DEFAULT_SHARED = REPO.parent / "shared"
LANGS = ("ar", "fr", "en")


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def corpus(shared: Path, words: int, count: int, seed: int = 7) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    path = shared / "data" / "tagging-dev.jsonl"
    pools: dict[str, list[str]] = {}
    titles: dict[str, list[str]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            pools.setdefault(row["lang"], []).extend((row["text"] or "").split())
            titles.setdefault(row["lang"], []).append(row["title"] or "")
    for lang in LANGS:  # generated fallback
        if not pools.get(lang):
            base = {"ar": "المغرب الجيش إسرائيل الوزير قال", "fr": "le Maroc armée Israël a dit"}
            pools[lang] = base.get(lang, "the army of Morocco and Israel said").split() * 50
            titles[lang] = [" ".join(pools[lang][:6])]
    out = []
    for i in range(count):
        lang = LANGS[i % 3] if i % 3 else "ar"
        pool = pools[lang]
        start = rng.randrange(len(pool))
        text = " ".join(pool[(start + j) % len(pool)] for j in range(words))
        out.append((rng.choice(titles[lang]), text, lang))
    return out


def generated_topics(n_terms: int, seed: int = 3) -> list[Topic]:
    """n_terms plausible terms over 10 topics and 3 languages (random letter words/phrases)."""
    rng = random.Random(seed)
    letters = {
        "ar": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
        "fr": "abcdefghilmnoprstuvé",
        "en": "abcdefghilmnoprstuvwy",
    }
    topics = []
    per_topic = n_terms // 10
    for t in range(10):
        terms: dict[str, list[str]] = {lang: [] for lang in LANGS}
        for k in range(per_topic):
            lang = LANGS[k % 3]
            words = [
                "".join(rng.choice(letters[lang]) for _ in range(rng.randint(4, 8)))
                for _ in range(rng.choice((1, 1, 2)))
            ]
            terms[lang].append(" ".join(words))
        topics.append(
            Topic(
                key=f"gen{t}",
                label=f"gen{t}",
                threshold=1.0,
                title_weight=2.0,
                terms={lang: tuple(v) for lang, v in terms.items()},
                exclude={lang: () for lang in LANGS},
            )
        )
    return topics


def throughput(tagger: Tagger, articles: list[tuple[str, str, str]], seconds: float) -> float:
    for article in articles[:50]:  # warm the token caches like a long-running crawl does
        tagger.tag(*article)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for article in articles:
            tagger.tag(*article)
        done += len(articles)
    return done / (time.perf_counter() - start)


def linearity(tagger: Tagger, short: int = 1_000, long: int = 100_000) -> None:
    suite = REPO / "tests" / "data" / "tagging_confusers.jsonl"
    rows = [json.loads(line) for line in suite.read_text(encoding="utf-8").splitlines() if line]
    for lang in LANGS:
        pool = " ".join(r["text"] for r in rows if r["lang"] == lang).split()
        costs = []
        for words in (short, long):
            text = " ".join(pool[i % len(pool)] for i in range(words))
            tagger.tag("", text[:2000], lang)  # warm the token cache
            runs, start = 0, time.perf_counter()
            while runs < 3 or time.perf_counter() - start < 1.0:
                tagger.tag("", text, lang)
                runs += 1
            costs.append((time.perf_counter() - start) / runs / words * 1e6)
        print(
            f"  {lang}: {costs[0]:.2f} us/word at {short:,} words, {costs[1]:.2f} us/word at "
            f"{long:,} words (ratio {costs[1] / costs[0]:.2f}; target <= 1.5)"
        )


def bench_retag(topics: list[Topic], articles: list[tuple[str, str, str]], n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        engine = db.make_engine(url)
        t0 = time.perf_counter()
        with engine.begin() as conn:
            for lo in range(0, n, 5000):
                rows = []
                for i in range(lo, min(n, lo + 5000)):
                    title, text, lang = articles[i % len(articles)]
                    rows.append(
                        {
                            "source": "bench",
                            "url": f"https://example.com/{i}",
                            "url_key": f"example.com/{i}",
                            "url_hash": db.url_hash(f"example.com/{i}"),
                            "title": title,
                            "text": text,
                            "title_norm": "",
                            "text_norm": "",
                            "language": lang,
                            "content_hash": f"{i:040d}",
                            "categories": [],
                            "tags": [],
                            "fetched_at": db.utcnow(),
                        }
                    )
                conn.execute(insert(db.Article), rows)
        fill = time.perf_counter() - t0
        rss_start = rss_mb()
        marks: dict[str, float] = {}
        seen = 0

        def progress(count: int) -> None:
            nonlocal seen
            seen += count
            if seen >= n // 10 and "10%" not in marks:
                marks["10%"] = rss_mb()

        t0 = time.perf_counter()
        result = retag(engine, Tagger(topics), batch_size=500, progress=progress)
        took = time.perf_counter() - t0
        marks["end"] = rss_mb()
        tags = sum(result.added.values())
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"retag {result.articles:,} stored articles: {took:.1f} s "
            f"({result.articles / took:,.0f} articles/s incl. SQLite), {tags:,} tags written; "
            f"filled in {fill:.1f} s"
        )
        print(
            f"  RSS before {rss_start:.0f} MB, after 10% {marks['10%']:.0f} MB, "
            f"at the end {marks['end']:.0f} MB; process peak {peak:.0f} MB"
        )
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--articles", type=int, default=100_000, help="stored articles to retag")
    parser.add_argument("--retag-words", type=int, default=200, help="words per stored article")
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput run")
    args = parser.parse_args(argv)

    articles = corpus(args.shared, 800, 300)
    words = sum(len(text.split()) for _, text, _ in articles) / len(articles)
    shipped = list(load_config(REPO / "config").topics)
    n_shipped = sum(len(p) for t in shipped for p in t.terms.values())
    base = throughput(Tagger(shipped), articles, args.seconds)
    big_topics = generated_topics(1000)
    big = throughput(Tagger(shipped + big_topics), articles, args.seconds)
    print(f"{len(articles)} articles of ~{words:.0f} words, one core")
    print(f"  shipped topics ({n_shipped} terms): {base:8,.0f} articles/s  (target >= 2,000)")
    print(
        f"  + generated 1,000-term set ({n_shipped + 1000} terms): {big:8,.0f} articles/s  "
        f"({base / big:.2f}x slower; target <= 3x)"
    )
    print("linearity (one article, growing):")
    linearity(Tagger(shipped))
    bench_retag(shipped, corpus(args.shared, args.retag_words, 2000, seed=11), args.articles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
