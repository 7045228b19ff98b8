"""A page's canonical/og:url is its identity only inside its own source's domains.

Two sources on a loopback site of our own: source A's pages name source B's article, and an
outside host, as their canonical URL. A's text must stay under A's fetched URL, B's article
must still be stored under B's URL, and each refused claim is counted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from crawler.db import Article
from pipelines.normalize import article_url

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"

WORDS = (
    "The council met on Tuesday to discuss the new water plan for the northern valleys. "
    "Farmers said the reservoirs were lower than in any year they remember, and officials "
    "promised a report before the summer. "
)


def page(title: str, canonical: str, topic: str) -> bytes:
    body = "".join(f"<p>{topic} {i}: {WORDS}</p>" for i in range(6))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title><link rel='canonical' href='{canonical}'>"
        f"<meta property='og:url' content='{canonical}'>"
        "<meta property='article:published_time' content='2026-11-20T08:00:00+00:00'>"
        f"</head><body><article><h1>{title}</h1>{body}</article></body></html>"
    ).encode()


def feed(base: str, paths: list[str]) -> bytes:
    items = "".join(
        f"<item><title>{p}</title><link>{base}{p}</link>"
        "<pubDate>Fri, 20 Nov 2026 08:00:00 GMT</pubDate></item>"
        for p in paths
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><link>{base}/</link>"
        f"{items}</channel></rss>"
    ).encode()


@contextmanager
def serve(pages: dict[str, tuple[str, bytes]]) -> Iterator[str]:
    """Serve *pages* (path -> content type, body) on a free loopback port; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = pages.get(self.path)
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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run_crawl(config: Path, db_url: str) -> dict:
    env = {**os.environ}
    env.pop("MARSAD_DB_URL", None)
    command = [sys.executable, "-m", "crawler", "--config", str(config), "--db", db_url]
    proc = subprocess.run(
        [*command, "crawl", "--format", "json", "-s", "MARSAD_EXTRACT_WORKERS=0"],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_canonical_outside_the_source_is_refused(tmp_path: Path) -> None:
    pages_a: dict[str, tuple[str, bytes]] = {}
    pages_b: dict[str, tuple[str, bytes]] = {}
    with serve(pages_a) as base_a, serve(pages_b) as base_b:
        pages_b["/feed"] = ("application/rss+xml", feed(base_b, ["/news/b1"]))
        pages_b["/news/b1"] = ("text/html", page("B's own story", f"{base_b}/news/b1", "Bee"))
        pages_a["/feed"] = ("application/rss+xml", feed(base_a, ["/news/a1", "/news/a2"]))
        pages_a["/news/a1"] = ("text/html", page("A poses as B", f"{base_b}/news/b1", "Ay"))
        pages_a["/news/a2"] = (
            "text/html",
            page("A points outside", "https://outside.example/read", "Out"),
        )
        config = tmp_path / "config"
        config.mkdir()
        (config / "topics.toml").write_text(
            (REPO_CONFIG / "topics.toml").read_text("utf-8"), encoding="utf-8"
        )
        sources = ""
        for key, base in (("a", base_a), ("b", base_b)):
            host = base.split("//", 1)[1]
            sources += (
                f'[sources.{key}]\nname = "{key}"\nlang = "en"\ndomains = ["{host}"]\n'
                f'feeds = ["{base}/feed"]\n'
            )
        (config / "sources.toml").write_text(sources, encoding="utf-8")
        db_url = f"sqlite:///{tmp_path / 'c.db'}"
        summary = run_crawl(config, db_url)

    engine = create_engine(db_url)
    with Session(engine) as session:
        stored = {a.url: (a.source, a.title) for a in session.scalars(select(Article))}
    engine.dispose()
    assert stored == {
        f"{base_a}/news/a1": ("a", "A poses as B"),
        f"{base_a}/news/a2": ("a", "A points outside"),
        f"{base_b}/news/b1": ("b", "B's own story"),
    }
    by_source = {s["source"]: s for s in summary["sources"]}
    assert by_source["a"]["errors"].get("canonical_offsite") == 2, by_source["a"]
    assert "canonical_offsite" not in by_source["b"]["errors"]
    assert by_source["b"]["articles_stored"] == 1


def test_article_url_keeps_in_scope_claims_only() -> None:
    domains = ("example.com",)
    fetched = "https://www.example.com/a?utm_source=x"
    assert article_url("https://example.com/story", fetched, domains) == (
        "https://example.com/story"
    )
    assert article_url("https://other.org/story", fetched, domains) == ("https://www.example.com/a")
    assert article_url(None, fetched, domains) == "https://www.example.com/a"
    assert article_url("https://other.org/story", fetched, None) == "https://other.org/story"
