"""A test web on loopback, crawled by the real spider through the `marsad` command: an Arabic
outlet in windows-1256 (one page declares it, one does not), a French outlet, titles of the
shapes that used to lose a segment (dotted numbers, a domain-like Arabic site name, colons)
and dates near midnight in the publisher's zone. Every stored title must be the page's
headline and every date the publisher's day. All pages are our own writing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from crawler.db import Article

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"
MOJIBAKE = set("ÇÏÑÓÚáãäåæÙØ")  # Arabic decoded with a Western codec

pytestmark = pytest.mark.slow

AR_BODY = (
    "صادق المجلس في جلسة عامة على النص بعد نقاش طويل بين الأغلبية والمعارضة حول الاعتمادات "
    "المخصصة للتعليم والصحة، وقال رئيس اللجنة إن الحكومة التزمت بنشر تقرير مفصل قبل نهاية السنة. "
)
FR_BODY = (
    "Le conseil a adopté le texte après un long débat entre la majorité et l'opposition sur "
    "les crédits de l'éducation et de la santé ; le président de la commission a promis un "
    "rapport détaillé avant la fin de l'année. "
)


@dataclass(frozen=True)
class Page:
    path: str
    title: str  # the <title>
    headline: str  # the <h1>: what must be stored
    day: str | None  # the publisher's day the date must keep
    head: str = ""
    date_line: str = ""
    codec: str = "utf-8"
    declared: bool = True
    lang: str = "ar"
    date_source: str = "page"

    def body(self) -> bytes:
        words = AR_BODY if self.lang == "ar" else FR_BODY
        paras = "".join(f"<p>{i}. {words}</p>" for i in range(5))
        charset = f"<meta charset='{self.codec}'>" if self.declared else ""
        html = (
            f"<!doctype html><html lang='{self.lang}'><head>{charset}<title>{self.title}</title>"
            f"{self.head}</head><body><header><nav><a href='/'>الرئيسية</a></nav></header>"
            f"<article><h1>{self.headline}</h1>{self.date_line}{paras}</article>"
            "<footer>© 2026</footer></body></html>"
        )
        return html.encode(self.codec)

    def content_type(self) -> str:
        return f"text/html; charset={self.codec}" if self.declared else "text/html"


SITE_NAME = '<meta property="og:site_name" content="فبراير. كوم">'
AR_PAGES = [
    Page(
        "/ar/budget-1",
        "مجلس النواب يصادق على الميزانية - فبراير. كوم",
        "مجلس النواب يصادق على الميزانية",
        # 02:00 in Riyadh is still the 19th in UTC: the publisher's day is the 20th
        "2026-11-20",
        head='<meta property="article:published_time" content="2026-11-20T02:00:00+03:00">',
        codec="cp1256",
        declared=False,
    ),
    Page(
        "/ar/accord-2",
        "عاجل فبراير. كوم تكشف تفاصيل الاتفاق | فبراير. كوم",
        "عاجل فبراير. كوم تكشف تفاصيل الاتفاق",
        # printed without offset: read in the source's zone (Asia/Riyadh)
        "2026-11-20",
        head=SITE_NAME,
        date_line="<div class='post-date'>الجمعة 20 نوفمبر 2026 - 01:30 ص</div>",
        codec="cp1256",
    ),
    Page(
        "/ar/livre-3",
        "الرباط - فبراير. كوم: افتتاح المعرض الدولي للكتاب",
        "الرباط - فبراير. كوم: افتتاح المعرض الدولي للكتاب",
        None,
        head=SITE_NAME,
        date_line="<span class='time'>منذ ساعتين</span>",
        date_source="relative",
    ),
]
FR_PAGES = [
    Page(
        "/fr/ecoles-1",
        "Maroc : 300.000 élèves sans école - Rivage Info",
        "Maroc : 300.000 élèves sans école",
        "2026-11-21",
        head='<meta property="article:published_time" content="2026-11-21T00:30:00+01:00">',
        lang="fr",
    ),
    Page(
        "/fr/vote-2",
        "Le Maroc dit oui: - Rivage Info",
        "Le Maroc dit oui:",
        # a time without offset and no timezone setting: kept as written, offset unknown
        "2026-11-21",
        head='<meta property="article:published_time" content="2026-11-21 23:45:00">',
        lang="fr",
    ),
    Page(
        "/fr/port-3",
        "Rivage Info - Agadir : le port de 1.500 mètres s'agrandit",
        "Agadir : le port de 1.500 mètres s'agrandit",
        "2026-11-22",
        date_line="<p class='byline-date'>Publié le 22 nov. 2026 à 23h10</p>",
        lang="fr",
    ),
]


def feed(base: str, pages: list[Page]) -> bytes:
    items = "".join(
        f"<item><title>x</title><link>{base}{p.path}</link>"
        "<pubDate>Mon, 23 Nov 2026 12:00:00 GMT</pubDate></item>"
        for p in pages
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><link>{base}/</link>"
        f"{items}</channel></rss>"
    ).encode()


@contextmanager
def serve(pages: list[Page]) -> Iterator[str]:
    """Serve *pages* and their feed on a free loopback port; yields the base URL."""
    routes: dict[str, tuple[str, bytes]] = {p.path: (p.content_type(), p.body()) for p in pages}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = routes.get(self.path)
            if found is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", found[0])
            self.send_header("Content-Length", str(len(found[1])))
            self.end_headers()
            self.wfile.write(found[1])

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    routes["/feed"] = ("application/rss+xml", feed(base, pages))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


def marsad(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.pop("MARSAD_DB_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )


def write_config(config: Path, bases: dict[str, str]) -> None:
    config.mkdir()
    (config / "topics.toml").write_text(
        (REPO_CONFIG / "topics.toml").read_text("utf-8"), encoding="utf-8"
    )
    zones = {"febrayer": "timezone = 'Asia/Riyadh'\n", "rivage": ""}
    names = {"febrayer": "فبراير. كوم", "rivage": "Rivage Info"}
    langs = {"febrayer": "ar", "rivage": "fr"}
    text = ""
    for key, base in bases.items():
        host = base.split("//", 1)[1]
        text += (
            f"[sources.{key}]\nname = '{names[key]}'\nlang = '{langs[key]}'\n"
            f"domains = ['{host}']\nfeeds = ['{base}/feed']\n{zones[key]}\n"
        )
    (config / "sources.toml").write_text(text, encoding="utf-8")


def test_a_crawled_web_stores_every_headline_and_the_publishers_day(
    tmp_path: Path, db_url: str
) -> None:
    with serve(AR_PAGES) as ar_base, serve(FR_PAGES) as fr_base:
        config = tmp_path / "config"
        write_config(config, {"febrayer": ar_base, "rivage": fr_base})
        crawl = marsad("--config", str(config), "--db", db_url, "crawl", "--format", "json",
                       "-s", "MARSAD_EXTRACT_WORKERS=0", "-s", "DOWNLOAD_DELAY=0")  # fmt: skip
        assert crawl.returncode == 0, crawl.stderr
        exported = marsad("--config", str(config), "--db", db_url, "export", "--no-text")
        assert exported.returncode == 0, exported.stderr

    engine = create_engine(db_url)
    with Session(engine) as session:
        stored = {a.url.split("/", 3)[3]: a for a in session.scalars(select(Article))}
    engine.dispose()
    records = {r["url"].split("/", 3)[3]: r for r in map(json.loads, exported.stdout.splitlines())}
    pages = {p.path.lstrip("/"): p for p in AR_PAGES + FR_PAGES}
    assert set(stored) == set(pages)
    for path, page in pages.items():
        article = stored[path]
        assert article.title == page.headline, path
        assert not MOJIBAKE & set(article.text), path
        assert article.date_source == page.date_source, path
        published = records[path]["published_at"]
        if page.day is not None:
            assert published[:10] == page.day, (path, published)
    # the instant is stored in UTC beside the publisher's offset
    assert stored["ar/budget-1"].published_offset == 180
    assert records["ar/budget-1"]["published_at"] == "2026-11-20T02:00:00+03:00"
    assert stored["ar/accord-2"].published_offset == 180
    assert records["ar/accord-2"]["published_at"] == "2026-11-20T01:30:00+03:00"
    assert stored["fr/ecoles-1"].published_offset == 60
    assert stored["fr/vote-2"].published_offset is None  # no offset, no timezone: unknown
    assert records["fr/vote-2"]["published_at"] == "2026-11-21T23:45:00+00:00"


@pytest.mark.parametrize("page", AR_PAGES + FR_PAGES, ids=lambda p: p.path)
def test_marsad_extract_without_url_or_source_keeps_the_headline(
    page: Page, tmp_path: Path
) -> None:
    saved = tmp_path / "page.html"
    saved.write_bytes(page.body())
    proc = marsad("extract", str(saved), "--format", "json", "--workers", "0")
    assert proc.returncode == 0, proc.stderr
    (record,) = json.loads(proc.stdout)
    assert record["title"] == page.headline
    if page.day is not None and "+" in page.head:  # an offset on the page: its own day
        assert record["date"][:10] == page.day
