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


def bare_trafilatura(pages: list[bytes]) -> float:
    import trafilatura

    start = time.perf_counter()
    for page in pages:
        trafilatura.extract(page.decode("utf-8"))
    return time.perf_counter() - start


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants, from /proc."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(
                next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmRSS"))
            )
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(child) for child in children)
        except (OSError, StopIteration, ValueError):
            continue
    return total / 1024


def run_crawl(site: Site, workdir: Path, workers: int) -> tuple[dict, float, list[float]]:
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
    command = [
        sys.executable,
        "-m",
        "crawler",
        "--config",
        str(config),
        "--db",
        f"sqlite:///{workdir / 'bench.db'}",
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
    out_path, err_path = workdir / "crawl.json", workdir / "crawl.log"
    start = time.perf_counter()
    with (
        out_path.open("w") as out,
        err_path.open("w") as err,
        subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT) as proc,
    ):
        while proc.poll() is None:
            samples.append(tree_rss_mb(proc.pid))
            time.sleep(0.5)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed ({proc.returncode}):\n{err_path.read_text()[-3000:]}")
    return json.loads(out_path.read_text()), wall, samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument(
        "--workers", type=int, default=-1, help="extraction processes (-1: per core)"
    )
    args = parser.parse_args()

    with Site(args.pages, args.shared) as site, tempfile.TemporaryDirectory() as tmp:
        articles = [body for path, body in site.pages.items() if path.startswith("/news/")]
        sizes = sorted(len(body) for body in articles)
        print(
            f"site: {len(articles)} pages, {sizes[0] // 1024}-{sizes[-1] // 1024} KB "
            f"(median {sizes[len(sizes) // 2] // 1024} KB), cores: {os.cpu_count()}"
        )
        bare = bare_trafilatura(articles)
        bare_rate = len(articles) / bare
        print(f"bare trafilatura.extract, 1 core: {bare_rate:7.1f} pages/s ({bare:.1f} s)")

        summary, wall, samples = run_crawl(site, Path(tmp), args.workers)
        (source,) = summary["sources"]
        stored = source["articles_stored"]
        crawl_rate = stored / summary["elapsed_seconds"]
        print(
            f"marsad crawl (fetch+extract+tag+store): {crawl_rate:7.1f} pages/s "
            f"({stored} stored in {summary['elapsed_seconds']:.1f} s; {wall:.1f} s with start-up)"
        )
        print(f"ratio crawl / bare single-core: {crawl_rate / bare_rate:.2f}x (target >= 1.5x)")
        if samples:
            quarter = max(1, len(samples) // 4)
            marks = [samples[min(i * quarter, len(samples) - 1)] for i in range(4)] + [samples[-1]]
            print(
                "RSS of crawl + workers (MB) at 0/25/50/75/100% of the run: "
                + " / ".join(f"{m:.0f}" for m in marks)
                + f"; peak {max(samples):.0f} MB"
            )
        if stored != len(articles):
            print(f"WARNING: {len(articles) - stored} pages not stored: {source}")


if __name__ == "__main__":
    main()
