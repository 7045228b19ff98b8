"""A generated loopback news web for the scale-out tests and bench/scaleout_bench.py.

``GeneratedWeb(sources=6, articles=100)`` serves each source on its own loopback port: a
sitemap of its articles and the articles themselves (Arabic, each text its own), counts every
request, and can be slowed per source (``page_delay``, ``sitemap_delay``) so a test can catch
a crawl in the middle. The tests at the bottom check the web itself.
"""

from __future__ import annotations

import random
import shutil
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
import tomli_w

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"
WORDS = [
    "الحكومة",
    "البرلمان",
    "الاقتصاد",
    "المدينة",
    "الوزارة",
    "المشروع",
    "الميزانية",
    "المواطنين",
    "الجهة",
    "الشركة",
    "المستشفى",
    "الجامعة",
    "الطلبة",
    "القطاع",
    "الفلاحة",
    "الماء",
    "الطريق",
    "الميناء",
    "السوق",
    "الأسعار",
    "التجارة",
    "الاستثمار",
    "الشباب",
    "التعليم",
    "الصحة",
    "المجلس",
    "الانتخابات",
    "الحوار",
    "التنمية",
    "البيئة",
    "الطاقة",
    "المطر",
    "الرياضة",
    "الفريق",
    "المباراة",
    "الثقافة",
    "المهرجان",
    "الكتاب",
    "السينما",
    "الموسيقى",
    "التراث",
    "السياحة",
]
VERBS = ["أعلن", "أكد", "قرر", "ناقش", "أطلق", "افتتح", "كشف", "طالب", "أوضح", "استقبل"]


def article_text(source: int, number: int) -> tuple[str, list[str]]:
    """A title and six paragraphs, the same for the same (source, number), unlike any other."""
    rng = random.Random(source * 100_003 + number)
    title = f"{rng.choice(VERBS)} {' '.join(rng.sample(WORDS, 4))} رقم {source}-{number}"
    paragraphs = []
    for _ in range(6):
        sentences = [
            f"{rng.choice(VERBS)} {' '.join(rng.choices(WORDS, k=rng.randint(8, 14)))}."
            for _ in range(rng.randint(3, 5))
        ]
        paragraphs.append(" ".join(sentences))
    return title, paragraphs


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class GeneratedWeb:
    def __init__(self, sources: int = 6, articles: int = 100) -> None:
        self.count = sources
        self.articles = articles
        self.page_delay = [0.0] * sources
        self.sitemap_delay = [0.0] * sources
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.servers = [self._server(i) for i in range(sources)]
        self._threads: list[threading.Thread] = []
        self.published = datetime.now(UTC).replace(microsecond=0)

    # ---- serving

    def _server(self, index: int) -> _Server:
        web = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body, ctype = web.page(index, self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return _Server(("127.0.0.1", 0), Handler)

    def base(self, index: int) -> str:
        return f"http://127.0.0.1:{self.servers[index].server_address[1]}"

    def key(self, index: int) -> str:
        return f"web-{index}"

    def article_url(self, index: int, number: int) -> str:
        return f"{self.base(index)}/news/{number}.html"

    def page(self, index: int, path: str) -> tuple[bytes | None, str]:
        with self._lock:
            self.hits[f"{index}:{path}"] += 1
        if path == "/robots.txt":
            return b"User-agent: *\nAllow: /\n", "text/plain"
        if path == "/sitemap.xml":
            if self.sitemap_delay[index]:
                time.sleep(self.sitemap_delay[index])
            return self.sitemap(index).encode(), "application/xml"
        if path.startswith("/news/") and path.endswith(".html"):
            try:
                number = int(path[len("/news/") : -len(".html")])
            except ValueError:
                return None, ""
            if not 0 <= number < self.articles:
                return None, ""
            if self.page_delay[index]:
                time.sleep(self.page_delay[index])
            return self.article_html(index, number).encode(), "text/html; charset=utf-8"
        return None, ""

    def sitemap(self, index: int) -> str:
        when = self.published.isoformat()
        urls = "".join(
            f"<url><loc>{escape(self.article_url(index, n))}</loc><lastmod>{when}</lastmod></url>"
            for n in range(self.articles)
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        )

    def article_html(self, index: int, number: int) -> str:
        title, paragraphs = article_text(index, number)
        body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        when = self.published.isoformat()
        return (
            f'<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8">'
            f"<title>{escape(title)} - جريدة {index}</title>"
            f'<meta property="article:published_time" content="{when}">'
            f'<link rel="canonical" href="{self.article_url(index, number)}"></head><body>'
            f'<nav><a href="/">الرئيسية</a></nav><article><h1>{escape(title)}</h1>'
            f'<time datetime="{when}">{when}</time>{body}</article>'
            f"<footer>جريدة {index}</footer></body></html>"
        )

    def article_hits(self, index: int) -> int:
        prefix = f"{index}:/news/"
        with self._lock:
            return sum(n for path, n in self.hits.items() if path.startswith(prefix))

    def __enter__(self) -> GeneratedWeb:
        for server in self.servers:
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()

    # ---- configuration

    def sources(self, interval: str = "1h") -> dict[str, Any]:
        return {
            self.key(i): {
                "name": f"Generated {i}",
                "lang": "ar",
                "country": "MA",
                "domains": [f"127.0.0.1:{self.servers[i].server_address[1]}"],
                "sitemaps": [f"{self.base(i)}/sitemap.xml"],
                "article_patterns": ["/news/"],
                "interval": interval,
                "max_age_days": 0,
            }
            for i in range(self.count)
        }

    def write_config(
        self, directory: Path, interval: str = "1h", extra: dict[str, Any] | None = None
    ) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        table = {**self.sources(interval), **(extra or {})}
        (directory / "sources.toml").write_text(tomli_w.dumps({"sources": table}), "utf-8")
        shutil.copyfile(REPO_CONFIG / "topics.toml", directory / "topics.toml")
        return directory


@pytest.fixture
def web() -> Iterator[GeneratedWeb]:
    with GeneratedWeb(sources=2, articles=5) as served:
        yield served


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read())


def test_every_article_has_its_own_text(web: GeneratedWeb) -> None:
    texts = {article_text(i, n)[1][0] for i in range(web.count) for n in range(web.articles)}
    assert len(texts) == web.count * web.articles
    sitemap = _get(f"{web.base(1)}/sitemap.xml").decode()
    assert sitemap.count("<loc>") == web.articles and web.article_url(1, 4) in sitemap
    page = _get(web.article_url(1, 4)).decode()
    assert article_text(1, 4)[0] in page and 'lang="ar"' in page
    assert web.article_hits(1) == 1 and web.article_hits(0) == 0
    with pytest.raises(urllib.error.HTTPError):
        _get(web.article_url(1, web.articles))
