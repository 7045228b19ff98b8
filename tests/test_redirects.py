"""A URL that redirected to a stored article is remembered: later crawls skip it unfetched.

The real `marsad crawl` runs against a loopback site of our own whose feed links articles
through 301 redirects, and the site counts every request it answers."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from crawler.db import ArticleUrl
from tests.test_e2e import REPO_CONFIG, crawl, total

pytestmark = pytest.mark.slow

PARAGRAPHS = {
    "a": (
        "The harbour authority of Port Saline announced on Monday that the old fish market "
        "will be rebuilt over the next two years, after a long public consultation.",
        "Traders who have sold their catch on the quay for generations said they welcomed the "
        "plan but worried about where they would work while the halls are closed.",
        "The authority promised a temporary market on the eastern pier, with cold rooms, "
        "running water and space for the small boats that land in the early morning.",
        "Architects chosen after an open competition kept the brick arches of the old building "
        "and added a glass roof that lets in daylight without heating the stalls in summer.",
    ),
    "b": (
        "A children's library opened last week in the former railway station of Hollin Vale, "
        "thirty years after the last train left the valley for the coast.",
        "Volunteers spent two winters repairing the waiting room, the ticket office and the "
        "platform canopy, using timber from a sawmill further up the river.",
        "The shelves hold about four thousand books, many of them donated by families whose "
        "grandparents once worked on the line as porters, signalmen or drivers.",
        "On Saturdays a retired stationmaster reads stories aloud on the platform, and the "
        "town council has asked the regional rail company to lend an old carriage as a café.",
    ),
}


def article_page(key: str) -> bytes:
    title = PARAGRAPHS[key][0].split(",")[0][:70]
    body = "".join(f"<p>{text}</p>" for text in PARAGRAPHS[key])
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title>"
        "<meta property='article:published_time' content='2026-11-20T09:00:00+00:00'>"
        f"</head><body><article><h1>{title}</h1>{body}</article></body></html>"
    ).encode()


@dataclass
class RedirectSite:
    """Articles /a and /b; /old-* answer 301 to one of them; /feed lists ``feed_paths``."""

    port: int = 0
    feed_paths: list[str] = field(default_factory=list)
    redirects: dict[str, str] = field(
        default_factory=lambda: {"/old-a": "/a", "/old-b": "/b", "/old-c": "/a"}
    )
    hits: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def feed(self) -> bytes:
        items = "".join(
            f"<item><title>{path}</title><link>{self.url(path)}</link>"
            "<pubDate>Fri, 20 Nov 2026 09:00:00 +0000</pubDate></item>"
            for path in self.feed_paths
        )
        return (
            "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
            f"<title>Redirects</title><link>{self.url('/')}</link>{items}</channel></rss>"
        ).encode()

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.hits[path] += 1
        if path == "/feed":
            return 200, {"Content-Type": "application/rss+xml"}, self.feed()
        if path in self.redirects:
            return 301, {"Location": self.url(self.redirects[path])}, b""
        if path.lstrip("/") in PARAGRAPHS:
            return 200, {"Content-Type": "text/html; charset=utf-8"}, article_page(path[1:])
        return 404, {"Content-Type": "text/plain"}, b"not found"

    def fetched(self) -> Counter[str]:
        with self.lock:
            return Counter(self.hits)


@contextmanager
def serve(site: RedirectSite) -> Iterator[RedirectSite]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = site.answer(self.path)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def redirect_site() -> Iterator[RedirectSite]:
    with serve(RedirectSite()) as site:
        yield site


def write_config(site: RedirectSite, directory: Path) -> Path:
    directory.mkdir()
    (directory / "sources.toml").write_text(
        f'[sources.redirects]\nname = "Redirects"\nlang = "en"\n'
        f'domains = ["127.0.0.1:{site.port}"]\nfeeds = ["{site.url("/feed")}"]\n',
        encoding="utf-8",
    )
    (directory / "topics.toml").write_text(
        (REPO_CONFIG / "topics.toml").read_text("utf-8"), encoding="utf-8"
    )
    return directory


def new_hits(site: RedirectSite, before: Counter[str]) -> Counter[str]:
    after = site.fetched()
    after.subtract(before)
    return +after


def stored_url_keys(db_url: str) -> int:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        found = conn.scalar(select(func.count()).select_from(ArticleUrl))
    engine.dispose()
    return int(found or 0)


def test_redirect_urls_are_never_fetched_again(
    redirect_site: RedirectSite, tmp_path: Path, db_url: str
) -> None:
    site = redirect_site
    config = write_config(site, tmp_path / "config")
    # /old-a only redirects to /a; /b is listed before /old-b, so the redirect from /old-b is
    # dropped by Scrapy's duplicate filter (its target /b is already requested)
    site.feed_paths = ["/old-a", "/b", "/old-b"]

    code, first, stderr = crawl(config, db_url)
    assert code == 0, stderr
    assert total(first, "articles_stored") == 2, first
    assert site.fetched() == Counter(
        {"/feed": 1, "/robots.txt": 1, "/old-a": 1, "/a": 1, "/b": 1, "/old-b": 1}
    )
    assert stored_url_keys(db_url) == 4  # /a, /old-a, /b, /old-b

    before = site.fetched()
    code, second, stderr = crawl(config, db_url)
    assert code == 0, stderr
    assert total(second, "articles_stored") == 0
    assert total(second, "known_skipped") == 3
    fetched = new_hits(site, before)
    assert set(fetched) <= {"/feed", "/robots.txt"}, fetched

    # a new redirect to an article stored earlier is fetched once, then remembered
    site.feed_paths = [*site.feed_paths, "/old-c"]
    before = site.fetched()
    code, third, stderr = crawl(config, db_url)
    assert code == 0, stderr
    fetched = new_hits(site, before)
    assert fetched["/old-c"] == 1 and fetched["/a"] == 0, fetched
    assert total(third, "articles_stored") == 0
    assert stored_url_keys(db_url) == 5

    before = site.fetched()
    code, fourth, stderr = crawl(config, db_url)
    assert code == 0, stderr
    assert total(fourth, "known_skipped") == 4
    fetched = new_hits(site, before)
    assert set(fetched) <= {"/feed", "/robots.txt"}, fetched
