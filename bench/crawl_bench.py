"""Crawl throughput against bare trafilatura on one core, measured in the same run.

Builds a loopback site of real-size news pages (100-200 KB each: inline CSS and scripts, menus,
sidebars, comments around a real-length article), then

1. baseline: bare ``trafilatura.extract`` of every page, one after another, in this process;
2. Marsad: ``marsad crawl`` of the whole site (sitemap -> pages -> extract -> store),
   as a user runs it.

Prints pages per second for both, their ratio (target >= 1.5 on a 2-core machine), and the
crawl's memory (RSS of the crawl process and its extraction workers, sampled over the run: it
must stay flat).

    .venv/bin/python bench/crawl_bench.py [--pages 1000] [--shared ../shared]

Article texts come from ../shared/data/tagging-dev.jsonl when present, else from the bundled
sample site.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]

WORDS = [
    "الأخبار",
    "السياسة",
    "الاقتصاد",
    "الرياضة",
    "الثقافة",
    "المجتمع",
    "الرأي",
    "الفيديو",
    "الصور",
    "الطقس",
    "Politique",
    "Économie",
    "Sport",
    "Culture",
    "Société",
    "Opinion",
    "Vidéos",
    "Monde",
    "Maroc",
    "Afrique",
]


def article_texts(shared: Path) -> list[tuple[str, str, str]]:
    dev = shared / "data" / "tagging-dev.jsonl"
    if dev.exists():
        rows = [json.loads(line) for line in dev.read_text("utf-8").splitlines() if line.strip()]
        return [(r["lang"], r["title"], r["text"]) for r in rows if len(r["text"]) > 600]
    sys.path.insert(0, str(ROOT))
    from crawler.sample_site.content import load_outlets

    texts = []
    for outlet in load_outlets():
        for article in outlet.articles:
            texts.append((outlet.lang, article.title, "\n\n".join(article.paragraphs)))
    return texts


def boilerplate(rng: random.Random, size: int) -> str:
    """Inline CSS and scripts, as heavy real news pages carry them."""
    chunks = []
    while sum(map(len, chunks)) < size:
        n = rng.randrange(10**6)
        chunks.append(
            f".c{n}{{margin:{n % 17}px;padding:{n % 9}px;color:#{n % 4096:03x}}}\n"
            f"window.__cfg{n}={{id:{n},slot:'ad-{n % 97}',lazy:true,sizes:[[300,250],[728,90]]}};\n"
        )
    return "".join(chunks)


def teaser_cards(rng: random.Random, title: str, size: int) -> str:
    """Teaser grids, ad slots and share widgets: the nested markup that makes pages heavy."""
    cards = []
    while sum(map(len, cards)) < size:
        n = rng.randrange(10**6)
        cards.append(
            f'<div class="card card--{n % 5}" data-id="{n}"><div class="card__media">'
            f'<a href="/news/{n}.html"><img src="/img/{n}.jpg" alt="" loading="lazy" width="300">'
            f'</a></div><div class="card__body"><span class="kicker">{WORDS[n % len(WORDS)]}</span>'
            f'<h3 class="card__title"><a href="/news/{n}.html">{escape(title[: 20 + n % 40])}</a>'
            f'</h3><time datetime="2024-01-01">{n % 28 + 1}/01</time><ul class="share">'
            f'<li><a href="#fb">f</a></li><li><a href="#x">x</a></li></ul></div></div>'
            f'<div class="ad-slot" id="ad-{n}"><ins class="adsbygoogle"></ins></div>'
        )
    return "".join(cards)


def render_page(
    rng: random.Random, index: int, lang: str, title: str, text: str, base: str
) -> bytes:
    direction = "rtl" if lang == "ar" else "ltr"
    target = rng.randrange(100_000, 200_000)
    menu = "".join(f'<li><a href="/section/{w}">{w}</a></li>' for w in WORDS * 6)
    related = "".join(
        f'<li><a href="/news/{rng.randrange(10**6)}.html">{escape(title[:60])} {i}</a></li>'
        for i in range(60)
    )
    comments = "".join(
        f'<div class="comment"><b>Lecteur {i}</b><p>{escape(text[i * 40 : i * 40 + 120])}</p></div>'
        for i in range(15)
    )
    paragraphs = "".join(f"<p>{escape(p.strip())}</p>" for p in text.split("\n") if p.strip())
    head = (
        f'<!doctype html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">'
        f"<title>{escape(title)} - Bench Daily</title>"
        f'<link rel="canonical" href="{base}/news/{index}.html">'
        f'<meta property="og:type" content="article">'
        '<meta property="article:published_time" '
        f'content="2024-0{1 + index % 9}-1{index % 10}T08:00:00Z">'
    )
    body = (
        f'<body><header><nav><ul class="menu">{menu}</ul></nav></header>'
        f'<main><article><h1>{escape(title)}</h1><p class="byline">Bench Daily</p>'
        f"{paragraphs}</article>"
        f'<section class="comments">{comments}</section></main>'
        f"<aside><h3>Related</h3><ul>{related}</ul></aside>"
        f"<footer><p>© Bench Daily</p>{menu}</footer></body></html>"
    )
    filler = max(0, target - len((head + body).encode()))
    style = f"<style>{boilerplate(rng, filler // 5)}</style>"
    script = f"<script>{boilerplate(rng, filler // 5)}</script>"
    cards = teaser_cards(rng, title, filler * 3 // 5)
    body = body.replace("<footer>", f'<section class="more">{cards}</section><footer>')
    return (head + style + script + "</head>" + body).encode("utf-8")


class Site:
    def __init__(self, pages: int, shared: Path):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        rng = random.Random(7)
        texts = article_texts(shared)
        self.pages: dict[str, bytes] = {}
        for i in range(pages):
            lang, title, text = texts[i % len(texts)]
            self.pages[f"/news/{i}.html"] = render_page(
                rng, i, lang, f"{title} ({i})", text, self.base
            )
        urls = "".join(f"<url><loc>{self.base}{path}</loc></url>" for path in self.pages)
        self.pages["/sitemap.xml"] = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        ).encode()
        self.pages["/robots.txt"] = b"User-agent: *\nAllow: /\n"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = site.pages.get(self.path)
                self.send_response(200 if body else 404)
                kind = (
                    "application/xml" if self.path.endswith(".xml") else "text/html; charset=utf-8"
                )
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> Site:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def bare_trafilatura(pages: list[bytes]) -> tuple[float, float]:
    """Wall seconds (the baseline) and CPU seconds of this thread, for every page."""
    import trafilatura

    start, cpu = time.perf_counter(), time.thread_time()
    for page in pages:
        trafilatura.extract(page.decode("utf-8"))
    return time.perf_counter() - start, time.thread_time() - cpu


def tree_rss_mb(pid: int, cpu: dict[int, tuple[str, float]] | None = None) -> float:
    """RSS of a process and all its descendants, from /proc; with *cpu*, also records each
    process's CPU seconds so far (user + system) under its pid, with its role."""
    total, todo = 0, [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(
                next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmRSS"))
            )
            if cpu is not None:
                fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
                role = "crawl" if current == pid else "worker"
                cpu[current] = (role, (int(fields[11]) + int(fields[12])) / tick)
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(child) for child in children)
        except (OSError, StopIteration, ValueError):
            continue
    return total / 1024


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}/{fifteen:.2f}"


def run_crawl(
    site: Site, workdir: Path, workers: int, db_url: str, profile: Path | None = None
) -> tuple[dict, float, list[float], dict[int, tuple[str, float]]]:
    config = workdir / "config"
    config.mkdir()
    port = site.base.rsplit(":", 1)[1]
    (config / "sources.toml").write_text(
        f'[sources.bench]\nname = "Bench Daily"\nlang = "ar"\ndomains = ["127.0.0.1:{port}"]\n'
        f'sitemaps = ["{site.base}/sitemap.xml"]\n',
        encoding="utf-8",
    )
    (config / "topics.toml").write_text(
        (ROOT / "config" / "topics.toml").read_text("utf-8"), encoding="utf-8"
    )
    python = [sys.executable, "-m", "crawler"]
    if profile is not None:  # the crawl process's CPU, per function (see profiled_crawl)
        python = [sys.executable, __file__, "--profiled-crawl", str(profile), "--"]
    command = [
        *python,
        "--config",
        str(config),
        "--db",
        db_url,
        "crawl",
        "--format",
        "json",
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
        "-s",
        "DOWNLOAD_DELAY=0",
        "-s",
        "CONCURRENT_REQUESTS_PER_DOMAIN=16",
        "-s",
        f"MARSAD_EXTRACT_WORKERS={workers}",
    ]
    samples: list[float] = []
    cpu: dict[int, tuple[str, float]] = {}
    cpu_at_start: dict[int, tuple[str, float]] = {}
    out_path, err_path = workdir / "crawl.json", workdir / "crawl.log"
    start = time.perf_counter()
    with (
        out_path.open("w") as out,
        err_path.open("w") as err,
        subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT) as proc,
    ):
        while proc.poll() is None:
            samples.append(tree_rss_mb(proc.pid, cpu))
            if proc.pid not in cpu_at_start and any(r == "worker" for r, _ in cpu.values()):
                # the first page went to a worker: start-up (imports, schema) is over
                cpu_at_start[proc.pid] = cpu.get(proc.pid, ("crawl", 0.0))
            time.sleep(0.5)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed ({proc.returncode}):\n{err_path.read_text()[-3000:]}")
    cpu[-1] = ("crawl start-up", cpu_at_start.get(proc.pid, ("", 0.0))[1])
    return json.loads(out_path.read_text()), wall, samples, cpu


# Stages of the crawl process, by the functions that do them (cProfile cumulative seconds).
CRAWL_STAGES = {
    "spider (parse_article)": ("news.py", "parse_article"),
    "extract pipeline (hand-off to workers, results)": ("extract.py", "process_item"),
    "normalize": ("normalize.py", "normalize_article"),
    "dedupe (DB lookups)": ("dedupe.py", "_check_database"),
    "tagging": ("__init__.py", "tag"),
    "story fingerprint": ("__init__.py", "fingerprint"),
    "store (DB writes, story placement)": ("store.py", "store"),
    "store batch flush": ("store.py", "store_batch"),
    "item unpickling (worker results)": ("~", "<built-in method _pickle.loads>"),
}


def profiled_crawl(out: str, argv: list[str]) -> None:
    """``python -m crawler ARGV`` under cProfile timing CPU, not wall time: the reactor thread
    (time.thread_time) and each batch write in its own thread, merged into *out*."""
    import cProfile
    import pstats
    import runpy

    sys.path.insert(0, str(ROOT))
    from crawler.store import ArticleStore

    threads: list[cProfile.Profile] = []
    batch_write = getattr(ArticleStore, "store_batch", None)  # None before batched writes

    def profiled_batch(self: ArticleStore, items: list) -> list:
        profiler = cProfile.Profile(time.thread_time)
        threads.append(profiler)
        return profiler.runcall(batch_write, self, items)

    if batch_write is not None:
        ArticleStore.store_batch = profiled_batch  # type: ignore[method-assign]  # bench only
    reactor = cProfile.Profile(time.thread_time)
    sys.argv = ["crawler", *argv]
    reactor.enable()
    try:
        runpy.run_module("crawler", run_name="__main__", alter_sys=True)
    finally:
        reactor.disable()
        stats = pstats.Stats(reactor)
        for profiler in threads:
            stats.add(profiler)
        stats.dump_stats(out)


def stage_table(profile: Path, pages: int) -> list[str]:
    """CPU milliseconds per stored page of each stage of the crawl process, from cProfile."""
    import pstats

    stats = pstats.Stats(str(profile))
    raw = stats.stats  # type: ignore[attr-defined]  # pstats keeps its table untyped
    total = sum(tt for (_, _, tt, _, _) in raw.values())
    lines = [f"  crawl process, cProfile CPU {total:.1f} s = {1000 * total / pages:.1f} ms/page"]
    for label, (file_end, name) in CRAWL_STAGES.items():
        seconds = sum(
            ct
            for (filename, _, func), (_, _, _, ct, _) in raw.items()
            if func == name and filename.endswith(file_end)
        )
        if seconds:
            lines.append(f"    {label:<48} {1000 * seconds / pages:6.1f} ms/page")
    return lines


def worker_profile(pages: list[bytes], base: str, topics_dir: Path) -> list[str]:
    """CPU per stage of one page's work in an extraction worker, on *pages*, in this process:
    each stage timed with time.thread_time (no profiler overhead). Before the workers tagged
    and fingerprinted (no crawler.crawl.pagework), the last three stages ran in the crawl
    process; they are timed here all the same."""
    import gzip

    sys.path.insert(0, str(ROOT))
    from crawler.config import load_config
    from crawler.extract.core import Extracted, extract
    from crawler.stories import fingerprint
    from crawler.tagging import Tagger
    from crawler.text.encoding import decode_html
    from crawler.text.normalize import clean_text, content_hash, normalize_text

    tagger = Tagger(load_config(str(topics_dir)).topics)
    spent: dict[str, float] = {}

    def timed(stage: str, function: Any, *args: Any) -> Any:
        started = time.thread_time()
        value = function(*args)
        spent[stage] = spent.get(stage, 0.0) + time.thread_time() - started
        return value

    for i, page in enumerate(pages):
        html, _ = timed("decode", decode_html, page, "text/html; charset=utf-8", None)
        result = timed("extract (trafilatura + ours)", extract, html, f"{base}/news/{i}.html")
        if not isinstance(result, Extracted):
            continue
        timed("gzip raw page", gzip.compress, page, 6)
        title = timed("clean text", clean_text, result.title)
        text = timed("clean text", clean_text, result.text)
        text_norm = timed("normalise text", normalize_text, text)
        timed("content hash", content_hash, text)
        timed("tagging", tagger.tag, title, text, result.language)
        timed("story fingerprint", fingerprint, text_norm)
    total = sum(spent.values())
    lines = [f"  worker job, thread CPU {1000 * total / len(pages):.1f} ms/page"]
    lines += [
        f"    {stage:<48} {1000 * seconds / len(pages):6.1f} ms/page"
        for stage, seconds in spent.items()
    ]
    return lines


def top_functions(profile: Path, pages: int, count: int = 15) -> list[str]:
    """The crawl process's functions with the most CPU of their own (cProfile tottime)."""
    import pstats

    raw = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]  # untyped table
    ranked = sorted(raw.items(), key=lambda entry: entry[1][2], reverse=True)[:count]
    lines = ["  crawl process, top functions by own CPU:"]
    for (filename, line, name), (_, calls, own, _, _) in ranked:
        where = f"{Path(filename).parent.name}/{Path(filename).name}:{line}" if line else "~"
        lines.append(f"    {1000 * own / pages:6.2f} ms/page  {calls:>9} calls  {name}  {where}")
    return lines


class PostgresDatabase:
    """A fresh database on the PostgreSQL server, dropped afterwards."""

    def __init__(self, admin_url: str):
        from sqlalchemy import create_engine

        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.name = f"marsad_bench_{os.getpid()}"
        self.url = admin_url.rsplit("/", 1)[0] + "/" + self.name

    def __enter__(self) -> str:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self.url

    def __exit__(self, *exc: object) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def cpu_hog() -> subprocess.Popen[bytes]:
    """One process spinning on one core for the whole run (the 'under load' figure)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main() -> None:
    if sys.argv[1:2] == ["--profiled-crawl"]:  # run_crawl's profiled crawl process
        profiled_crawl(sys.argv[2], sys.argv[4:])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument(
        "--workers", type=int, default=-1, help="extraction processes (-1: per core)"
    )
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        nargs="?",
        const="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="store in a fresh PostgreSQL database created on this server (default: SQLite)",
    )
    parser.add_argument(
        "--hog", action="store_true", help="run one CPU-spinning process beside the whole run"
    )
    parser.add_argument(
        "--baseline-sample",
        type=int,
        metavar="N",
        help="time bare trafilatura on the first N pages only (long memory runs; default: all)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the crawl process and the worker's job: CPU ms per page per stage",
    )
    args = parser.parse_args()

    hog = cpu_hog() if args.hog else None
    try:
        with Site(args.pages, args.shared) as site, tempfile.TemporaryDirectory() as tmp:
            run(args, site, Path(tmp))
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()


def run(args: argparse.Namespace, site: Site, tmp: Path) -> None:
    articles = [body for path, body in site.pages.items() if path.startswith("/news/")]
    sizes = sorted(len(body) for body in articles)
    store = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"site: {len(articles)} pages, {sizes[0] // 1024}-{sizes[-1] // 1024} KB "
        f"(median {sizes[len(sizes) // 2] // 1024} KB), cores: {os.cpu_count()}, store: {store}"
        f"{', CPU hog beside the run' if args.hog else ''}; {load_average()}"
    )
    # the baseline is trafilatura as shipped: Marsad's speed-ups are installed only where
    # crawler.extract loads, which this process has not done yet
    assert "crawler.extract.speedups" not in sys.modules
    baseline = articles[: args.baseline_sample] if args.baseline_sample else articles
    bare, bare_cpu = bare_trafilatura(baseline)
    bare_rate = len(baseline) / bare
    bare_cpu_per_page = bare_cpu / len(baseline)
    print(
        f"bare trafilatura.extract, 1 core: {bare_rate:7.1f} pages/s ({bare:.1f} s; "
        f"CPU {1000 * bare_cpu_per_page:.1f} ms/page"
        f"{f'; first {len(baseline)} pages' if len(baseline) < len(articles) else ''})"
    )

    profile = None
    if args.profile:
        profile = Path(tempfile.gettempdir()) / f"marsad-crawl-{store.lower()}.prof"
    if args.postgres:
        with PostgresDatabase(args.postgres) as db_url:
            summary, wall, samples, cpu = run_crawl(site, tmp, args.workers, db_url, profile)
    else:
        db_url = f"sqlite:///{tmp / 'bench.db'}"
        summary, wall, samples, cpu = run_crawl(site, tmp, args.workers, db_url, profile)
    (source,) = summary["sources"]
    stored = source["articles_stored"]
    crawl_rate = stored / summary["elapsed_seconds"]
    print(
        f"marsad crawl (fetch+extract+tag+store): {crawl_rate:7.1f} pages/s "
        f"({stored} stored in {summary['elapsed_seconds']:.1f} s; {wall:.1f} s with start-up)"
    )
    crawl_cpu = sum(seconds for role, seconds in cpu.values() if role == "crawl")
    worker_cpu = sum(seconds for role, seconds in cpu.values() if role == "worker")
    startup_cpu = sum(seconds for role, seconds in cpu.values() if role == "crawl start-up")
    if stored:
        print(
            f"CPU per stored page: crawl process {1000 * (crawl_cpu - startup_cpu) / stored:.1f}"
            f" ms (after {startup_cpu:.1f} s of start-up), workers "
            f"{1000 * worker_cpu / stored:.1f} ms (sampled from /proc every 0.5 s); "
            f"{load_average()}"
        )
    if stored and crawl_cpu + worker_cpu > 0:
        # what the ratio is where CPU is the only limit (both cores ours): load moves it less
        per_page = (crawl_cpu - startup_cpu + worker_cpu) / stored
        print(
            "CPU-bound ratio (2 cores x bare CPU / (crawl + workers) CPU per page): "
            f"{2 * bare_cpu_per_page / per_page:.2f}x"
        )
    if samples:
        # 10/50/90 % of the run, and the peak: memory must stay flat
        marks = [samples[min(len(samples) - 1, len(samples) * p // 10)] for p in (1, 5, 9)]
        print(
            "RSS of crawl + workers (MB) at 10/50/90% of the run: "
            + " / ".join(f"{m:.0f}" for m in marks)
            + f"; peak {max(samples):.0f} MB"
        )
    if stored != len(articles):
        print(f"WARNING: {len(articles) - stored} pages not stored: {source}")
    if profile is not None and stored:
        print("profile (cProfile; its own overhead included):")
        print(f"  (cProfile of the crawl process written to {profile})")
        print("\n".join(stage_table(profile, stored)))
        print("\n".join(top_functions(profile, stored)))
        sample = articles[: min(len(articles), 100)]
        print("\n".join(worker_profile(sample, site.base, tmp / "config")))
    print(f"ratio crawl / bare single-core: {crawl_rate / bare_rate:.2f}x (target >= 1.8x)")


if __name__ == "__main__":
    main()
