"""Bounded crawl work, through the real `marsad crawl` on hostile loopback sites: endless
sitemap indexes, a page with many links, gzip bombs and redirect loops. Each cut ends the
crawl, is counted in the source's error counters and is named once in a warning."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crawler.crawl.discovery import SitemapLimits

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"
TIMEOUT = 240  # seconds per command: generous for a loaded 2-core machine
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "RETRY_TIMES=0"]
NOISE = ("Traceback", "Unhandled error", "CRITICAL twisted", "ERROR scrapy")
INDEX = '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[[str, str], Reply]  # (path, base URL) -> reply


@dataclass
class Site:
    base: str
    hits: list[tuple[float, str]]  # (time.monotonic() when received, path), in order

    def paths(self, prefix: str = "/") -> list[str]:
        return [path for _, path in self.hits if path.startswith(prefix)]


@contextmanager
def serve(route: Route) -> Iterator[Site]:
    """A loopback site answering each GET with ``route(path, base)``; robots.txt is absent."""
    hits: list[tuple[float, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append((time.monotonic(), self.path))
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            reply = Reply(404) if self.path == "/robots.txt" else route(self.path, base)
            self.send_response(reply.status)
            headers = {"Content-Type": "text/html; charset=utf-8", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_address[1]}", hits)
    finally:
        server.shutdown()
        server.server_close()


def crawl(tmp_path: Path, source: str, *overrides: str) -> tuple[int, dict[str, Any], str]:
    """`marsad crawl --format json` of the one source *source* (TOML lines after the table
    header); (exit code, the source's summary, stderr)."""
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "sources.toml").write_text(f"[sources.site]\n{source}", encoding="utf-8")
    shutil.copy(REPO_CONFIG / "topics.toml", config / "topics.toml")
    environ = {**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"}
    for name in ("MARSAD_DB_URL", "MARSAD_USER_AGENT", "MARSAD_CONFIG"):
        environ.pop(name, None)
    proc = subprocess.run(
        [
            sys.executable, "-m", "crawler", "--config", str(config),
            "--db", f"sqlite:///{tmp_path / 'crawl.db'}",
            "crawl", "--format", "json", *FAST, *overrides,
        ],
        capture_output=True, text=True, timeout=TIMEOUT, env=environ,
    )  # fmt: skip
    for noise in NOISE:
        assert noise not in proc.stderr, proc.stderr
    (summary,) = json.loads(proc.stdout)["sources"]
    return proc.returncode, summary, proc.stderr


def source_toml(site: Site, **urls: str) -> str:
    host = site.base.removeprefix("http://")
    lines = ['name = "Site"', 'lang = "fr"', f'domains = ["{host}"]']
    lines += [f'{kind} = ["{site.base}{path}"]' for kind, path in urls.items()]
    return "\n".join(lines) + "\n"


def warnings_naming(stderr: str, counter: str) -> list[str]:
    return [line for line in stderr.splitlines() if f"errors/{counter}" in line]


# --------------------------------------------------------------------------- sitemaps


def endless_indexes(path: str, base: str) -> Reply:
    """Every sitemap is an index naming one new child index: /sitemap.xml -> /s/1.xml -> ..."""
    n = 0 if path == "/sitemap.xml" else int(path.removeprefix("/s/").removesuffix(".xml"))
    body = f"{INDEX}<sitemap><loc>{base}/s/{n + 1}.xml</loc></sitemap></sitemapindex>"
    return Reply(body=body.encode(), headers={"Content-Type": "application/xml"})


def wide_index(path: str, base: str) -> Reply:
    """/sitemap.xml names 20 child sitemaps, each an empty urlset."""
    if path == "/sitemap.xml":
        children = "".join(f"<sitemap><loc>{base}/c/{n}.xml</loc></sitemap>" for n in range(20))
        body = f"{INDEX}{children}</sitemapindex>"
    else:
        body = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>'
    return Reply(body=body.encode(), headers={"Content-Type": "application/xml"})


def test_an_endless_chain_of_sitemap_indexes_stops_at_the_depth_limit(tmp_path: Path) -> None:
    with serve(endless_indexes) as site:
        code, summary, stderr = crawl(tmp_path, source_toml(site, sitemaps="/sitemap.xml"))
    assert code == 0, stderr  # the entry point was read: the source did not fail
    assert summary["status"] == "ok" and summary["entry_points_ok"] == 1
    assert summary["errors"] == {"sitemap_limit": 1}
    # the entry sitemap and 5 levels of indexes below it (MARSAD_SITEMAP_MAX_DEPTH's default)
    assert site.paths("/s/") == [f"/s/{n}.xml" for n in range(1, 6)]
    (warning,) = warnings_naming(stderr, "sitemap_limit")
    assert "MARSAD_SITEMAP_MAX_DEPTH=5" in warning and f"{site.base}/s/6.xml" in warning


def test_the_sitemap_count_limit_is_per_source_and_configurable(tmp_path: Path) -> None:
    with serve(wide_index) as site:
        code, summary, stderr = crawl(
            tmp_path, source_toml(site, sitemaps="/sitemap.xml"), "-s", "MARSAD_SITEMAP_MAX_COUNT=8"
        )
    assert code == 0, stderr
    assert len(site.paths("/sitemap.xml") + site.paths("/c/")) == 8  # the entry and 7 children
    assert summary["errors"] == {"sitemap_limit": 13}
    (warning,) = warnings_naming(stderr, "sitemap_limit")
    assert "MARSAD_SITEMAP_MAX_COUNT=8" in warning


def test_sitemap_limits_admit_and_count() -> None:
    limits = SitemapLimits(max_depth=2, max_count=3)
    assert limits.admit("a", 0) is None
    assert limits.admit("a", 3) == "index depth 3 > MARSAD_SITEMAP_MAX_DEPTH=2"
    assert limits.admit("a", 2) is None and limits.admit("a", 1) is None
    assert limits.admit("a", 1) == "3 sitemaps read, MARSAD_SITEMAP_MAX_COUNT=3"
    assert limits.admit("b", 1) is None  # each source has its own count


@pytest.mark.parametrize("name", ["MARSAD_SITEMAP_MAX_DEPTH", "MARSAD_SITEMAP_MAX_COUNT"])
def test_limit_defaults_never_cut_a_normal_crawl(name: str) -> None:
    from crawler import settings

    assert getattr(settings, name) >= {"MARSAD_SITEMAP_MAX_DEPTH": 5}.get(name, 500)


# --------------------------------------------------------------------------- page budget


def many_links(path: str, base: str) -> Reply:
    """/une links to 30 article pages; each article is a short page."""
    if path == "/une":
        links = "".join(f'<a href="/a/{n}.html">article {n}</a> ' for n in range(30))
        return Reply(body=f"<html><body>{links}</body></html>".encode())
    return Reply(body=b"<html><body><p>Court.</p></body></html>")


def test_the_page_budget_cuts_article_requests_of_a_source(tmp_path: Path) -> None:
    with serve(many_links) as site:
        code, summary, stderr = crawl(
            tmp_path, source_toml(site, sections="/une"), "-s", "MARSAD_MAX_PAGES_PER_SOURCE=5"
        )
    assert code == 0, stderr
    assert len(site.paths("/a/")) == 5
    assert summary["errors"] == {"budget_cut": 25}
    (warning,) = warnings_naming(stderr, "budget_cut")
    assert "MARSAD_MAX_PAGES_PER_SOURCE=5" in warning


def test_the_default_page_budget_is_generous() -> None:
    from crawler import settings

    assert settings.MARSAD_MAX_PAGES_PER_SOURCE >= 5000


# --------------------------------------------------------------------------- bombs and loops

BOMB = gzip.compress(b"\0" * (20 * 1024 * 1024))  # ~20 KB on the wire, 20 MB unpacked


def hostile(path: str, base: str) -> Reply:
    """/une links to a gzip bomb, an oversized page, a two-page redirect loop and an endless
    chain of redirects to new URLs."""
    if path == "/une":
        links = ["/bomb.html", "/huge.html", "/loop-a", "/chain/0"]
        body = "".join(f'<a href="{link}">{link}</a> ' for link in links)
        return Reply(body=f"<html><body>{body}</body></html>".encode())
    if path == "/bomb.html":
        return Reply(body=BOMB, headers={"Content-Encoding": "gzip"})
    if path == "/huge.html":
        return Reply(body=b"<html><body>" + b"x" * (2 * 1024 * 1024) + b"</body></html>")
    if path in ("/loop-a", "/loop-b"):
        return Reply(302, headers={"Location": "/loop-b" if path == "/loop-a" else "/loop-a"})
    if path.startswith("/chain/"):
        return Reply(302, headers={"Location": f"/chain/{int(path[7:]) + 1}"})
    return Reply(404)


def test_gzip_bombs_big_pages_and_redirect_loops_are_counted(tmp_path: Path) -> None:
    with serve(hostile) as site:
        code, summary, stderr = crawl(
            tmp_path, source_toml(site, sections="/une"), "-s", "DOWNLOAD_MAXSIZE=1000000"
        )
    assert code == 0, stderr
    assert summary["errors"] == {"gzip_bomb": 1, "too_large": 1, "redirect_loop": 2}
    for reason, first in [
        ("gzip_bomb", "/bomb.html"),
        ("too_large", "/huge.html"),
        ("redirect_loop", ""),
    ]:
        assert f"failed: {reason} (first: {site.base}{first}" in stderr, stderr
    assert len(site.paths("/chain/")) == 6  # the request and REDIRECT_MAX_TIMES (5) redirects


def test_dropped_responses_are_classified_by_their_reason() -> None:
    from scrapy.exceptions import DownloadCancelledError, IgnoreRequest

    from crawler.crawl.failures import GzipBomb, RedirectLoop, classify

    assert classify(GzipBomb("x")) == "gzip_bomb"
    assert classify(RedirectLoop("x")) == "redirect_loop"
    assert classify(DownloadCancelledError("x")) == "too_large"
    assert isinstance(GzipBomb("x"), IgnoreRequest)  # Scrapy still drops it quietly


def test_the_budget_counts_each_article_once_and_nothing_else() -> None:
    from scrapy import Request
    from scrapy.utils.test import get_crawler

    from crawler.crawl.middlewares import (
        ARTICLE_META,
        SOURCE_META,
        OverBudget,
        PageBudgetMiddleware,
    )

    crawler = get_crawler(settings_dict={"MARSAD_MAX_PAGES_PER_SOURCE": 2})
    crawler.stats.open_spider()
    budget = PageBudgetMiddleware.from_crawler(crawler)

    def article(n: int, source: str = "a", **meta: Any) -> Request:
        url = f"https://a.example/{n}.html"
        return Request(url, meta={SOURCE_META: source, ARTICLE_META: True, **meta})

    budget.process_request(article(1))
    budget.process_request(article(1, retry_times=1))  # a retry of a counted page
    budget.process_request(article(1, redirect_times=1))  # its redirect
    budget.process_request(Request("https://a.example/feed", meta={SOURCE_META: "a"}))
    budget.process_request(article(2))
    budget.process_request(article(1, "b"))  # another source, another budget
    with pytest.raises(OverBudget):
        budget.process_request(article(3))
    assert crawler.stats.get_value("marsad/a/errors/budget_cut") == 1
    assert crawler.stats.get_value("marsad/b/errors/budget_cut") is None
