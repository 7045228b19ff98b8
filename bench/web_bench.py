"""Latency of the analysts' web page over a generated collection, against `marsad search`.

    .venv/bin/python bench/web_bench.py [--articles 100000] [--pg-articles 100000]
                                        [--pg-url URL] [--repeat 20] [--cache-dir DIR]

Writes N synthetic articles (crawler/sample_site/bulk.py: ar/fr/en over the shipped sources,
topics, stories across outlets, versions, crawl runs) into a fresh SQLite database, starts
`marsad web` on it in its own process (as an analyst would), and times over HTTP on loopback:
the search page (first page and page 50), its facets and attention fragments, the
attention-over-time API and story pages; then `marsad search` (the CLI, a process per query) on
the same queries, and its library call in-process (without start-up). Reports p50/p95 per kind
(target: search page p95 < 300 ms at 100k on SQLite) with the machine's load average before and
after. Then the same on PostgreSQL with
``--pg-articles`` (0 skips; URL from --pg-url, MARSAD_BENCH_PG_URL or MARSAD_TEST_PG_URL, in a
temporary schema dropped afterwards). Every request loop is bounded: --repeat per URL, fewer
past 10 s on one URL.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from crawler import db  # noqa: E402
from crawler.config import load_config  # noqa: E402
from crawler.db import Story  # noqa: E402
from crawler.sample_site.bulk import PLANTED, BulkSpec, generate  # noqa: E402
from crawler.search import Filters, search  # noqa: E402

CONFIG = REPO / "config"
#: (label, query string of /search) — the same queries go to the CLI
QUERIES = [
    ("ar phrase", f'"{PLANTED["ar"]}"', ""),
    ("ar common word", "المغرب", ""),
    ("ar OR", "إسرائيل OR غزة", ""),
    ("fr word + lang", "Maroc", "&lang=fr"),
    ("en word, date order", "Israel", "&sort=date"),
    ("no query, topic", "", "&topic=defense"),
]
DEEP_PAGE = 50
STORIES = 5  # story pages timed (the largest ones)
URL_BUDGET_S = 10.0  # stop repeating one URL after this much time (slow pages)...
MIN_SAMPLES = 5  # ...once it has this many samples


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} cores"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def web_process(db_url: str) -> Iterator[str]:
    """`marsad web` on a free loopback port, in its own process; its base URL."""
    port = _free_port()
    command = [sys.executable, "-m", "crawler", "--db", db_url, "--config", str(CONFIG), "web"]
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    httpx.get(base + "/search", timeout=60).raise_for_status()
                    break
                except (httpx.TransportError, httpx.HTTPStatusError):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise SystemExit(
                            f"marsad web did not start:\n{log.read()[-3000:]}"
                        ) from None
                    time.sleep(0.5)
            yield base
        except httpx.TransportError:
            log.seek(0)
            print(f"marsad web failed (exit {proc.poll()}):\n{log.read()[-3000:]}", file=sys.stderr)
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def time_url(client: httpx.Client, url: str, repeat: int) -> tuple[list[float], int, int]:
    """Milliseconds of *repeat* GETs after one warm-up (fewer, at least MIN_SAMPLES, when they
    add up to more than URL_BUDGET_S), the status, the body size."""
    warm = client.get(url)
    times: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        if len(times) >= MIN_SAMPLES and sum(times) > URL_BUDGET_S * 1000:
            break
    return times, warm.status_code, len(warm.content)


def time_cli(db_url: str, query: str, extra: str, repeat: int) -> list[float]:
    args = [sys.executable, "-m", "crawler", "--db", db_url, "--config", str(CONFIG), "search"]
    if "lang=" in extra:
        args += ["--lang", extra.split("lang=")[1].split("&")[0]]
    if "topic=" in extra:
        args += ["--topic", extra.split("topic=")[1].split("&")[0]]
    if "sort=date" in extra:
        args += ["--sort", "date"]
    args += [query] if query else []
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
        times.append((time.perf_counter() - start) * 1000)
        if done.returncode != 0:
            print(f"    marsad search {query!r} failed: {done.stderr.strip()[:300]}")
            break
    return times


def time_library(db_url: str, query: str, extra: str, repeat: int) -> list[float]:
    """The CLI's own search call in this process (what `marsad search` costs without Python's
    start-up and imports): crawler.search.search for 20 rows."""
    filters = Filters(
        languages=tuple(extra.split("lang=")[1].split("&")[:1]) if "lang=" in extra else (),
        topics=tuple(extra.split("topic=")[1].split("&")[:1]) if "topic=" in extra else (),
    )
    sort = "date" if "sort=date" in extra else "relevance"
    engine = db.make_engine(db_url)
    times = []
    with Session(engine) as session:
        search(session, query, filters, limit=20, sort=sort)
        for _ in range(repeat):
            start = time.perf_counter()
            search(session, query, filters, limit=20, sort=sort)
            times.append((time.perf_counter() - start) * 1000)
    engine.dispose()
    return times


def row(label: str, times: list[float], note: str = "") -> None:
    if not times:
        print(f"  {label:<44} (no timing)")
        return
    p50, p95 = statistics.median(times), pct(times, 0.95)
    print(f"  {label:<44} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   max {max(times):7.1f}  {note}")


def bench(db_url: str, name: str, n: int, repeat: int, cli_repeat: int) -> dict[str, list[float]]:
    engine = db.make_engine(db_url)
    with Session(engine) as session:
        stories = list(
            session.scalars(
                select(Story.id).order_by(Story.article_count.desc(), Story.id).limit(STORIES)
            )
        )
    engine.dispose()
    kinds: dict[str, list[float]] = {}
    print(f"\n== {name}: {n:,} articles ==   before: {load()}")
    with web_process(db_url) as base, httpx.Client(base_url=base, timeout=120) as client:
        for label, query, extra in QUERIES:
            q = f"q={quote(query)}{extra}"
            for kind, path in (
                ("search page 1", f"/search?{q}"),
                (f"search page {DEEP_PAGE}", f"/search?{q}&page={DEEP_PAGE}"),
                ("facets fragment", f"/search/facets?{q}&fragment=1"),
                ("attention fragment", f"/search/attention?{q}&fragment=1"),
                ("attention API", f"/api/attention?{q}"),
            ):
                times, status, size = time_url(client, path, repeat)
                kinds.setdefault(kind, []).extend(times)
                row(f"{kind} [{label}]", times, f"HTTP {status}, {size:,} B")
        for sid in stories:
            times, status, size = time_url(client, f"/stories/{sid}", repeat)
            kinds.setdefault("story page", []).extend(times)
            row(f"story page [{sid}]", times, f"HTTP {status}, {size:,} B")
    for label, query, extra in QUERIES:
        if not query:
            continue  # the CLI needs a QUERY
        times = time_cli(db_url, query, extra, cli_repeat)
        kinds.setdefault("marsad search (CLI, process)", []).extend(times)
        row(f"marsad search [{label}]", times)
        times = time_library(db_url, query, extra, repeat)
        kinds.setdefault("crawler.search.search (the CLI's call)", []).extend(times)
        row(f"  its library call [{label}]", times)
    print(f"  -- all queries, {name} --   after: {load()}")
    for kind, times in kinds.items():
        row(kind, times)
    page1 = kinds.get("search page 1", [])
    if page1:
        verdict = "MET" if pct(page1, 0.95) < 300 else "NOT MET"
        print(f"  target search page p95 < 300 ms: {verdict} ({pct(page1, 0.95):.1f} ms)")
    return kinds


def make_sqlite(n: int, cache_dir: str | None, seed: int) -> tuple[str, Path | None]:
    folder = Path(cache_dir) if cache_dir else Path(tempfile.mkdtemp(prefix="marsad-webbench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"web-bench-{n}-{seed}.db"
    url = f"sqlite:///{path}"
    if path.exists() and cache_dir:
        print(f"reusing {path}")
        return url, None
    start = time.perf_counter()
    partial = path.with_suffix(".partial")  # renamed when complete: never reuse a cut one
    for leftover in folder.glob(partial.name + "*"):
        leftover.unlink()
    engine = db.make_engine(f"sqlite:///{partial}")
    summary = generate(
        engine,
        load_config(CONFIG),
        BulkSpec(articles=n, seed=seed, days=365),
        progress=lambda k: print(f"  ... {k:,} articles", file=sys.stderr, flush=True),
    )
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    partial.rename(path)
    took = time.perf_counter() - start
    print(f"generated {summary.articles:,} articles, {summary.stories:,} stories in {took:.0f} s")
    return url, None if cache_dir else folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000, help="SQLite (0 skips)")
    parser.add_argument("--pg-articles", type=int, default=100_000)
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per URL")
    parser.add_argument("--cli-repeat", type=int, default=3, help="CLI runs per query")
    parser.add_argument("--cache-dir", default=None, help="keep and reuse the SQLite database")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    if args.articles > 0:  # 0 skips SQLite
        url, scratch = make_sqlite(args.articles, args.cache_dir, args.seed)
        try:
            bench(url, "SQLite", args.articles, args.repeat, args.cli_repeat)
        finally:
            if scratch is not None:
                for file in scratch.iterdir():
                    file.unlink()
                scratch.rmdir()

    if args.pg_articles <= 0:
        return
    base = (
        args.pg_url
        or os.environ.get("MARSAD_BENCH_PG_URL")
        or os.environ.get("MARSAD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    schema = f"webbench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        print(f"\nPostgreSQL skipped: {db.scrub(str(exc), base).splitlines()[0]}")
        return
    pg_url = f"{base}?options=-csearch_path%3D{schema}"
    try:
        start = time.perf_counter()
        summary = generate(
            db.make_engine(pg_url),
            load_config(CONFIG),
            BulkSpec(articles=args.pg_articles, seed=args.seed, days=365),
            progress=lambda k: print(f"  ... {k:,} articles", file=sys.stderr, flush=True),
        )
        with admin.connect() as conn:
            conn.execute(text(f'ANALYZE "{schema}".articles'))
        took = time.perf_counter() - start
        print(f"\ngenerated {summary.articles:,} articles on PostgreSQL in {took:.0f} s")
        bench(pg_url, "PostgreSQL", args.pg_articles, args.repeat, args.cli_repeat)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
