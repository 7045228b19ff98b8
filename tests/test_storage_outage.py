"""A database outage in the middle of a crawl is not a success: a PostgreSQL server of the
test's own is stopped under `marsad crawl`.

Short outage (less than MARSAD_STORAGE_RETRY_WINDOW): the crawl pauses, resumes and stores
every article exactly once. Long outage: the crawl stops with finish reason ``storage``, exits
1, never logs a page body, and the next crawl stores the rest. Every wait is on a condition.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import tomli_w
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from crawler.db import Article
from tests.own_postgres import OwnPostgres
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"
PAGES = 40
MARKER = "ZQXBODYMARKER"  # in every page body: must never reach the logs
WORDS = [
    "river",
    "market",
    "council",
    "harbour",
    "school",
    "bridge",
    "festival",
    "library",
    "orchard",
    "railway",
]


def article_html(i: int) -> bytes:
    paragraphs = "".join(
        f"<p>{MARKER} Report {i}.{n}: the {WORDS[(i + n) % 10]} near the "
        f"{WORDS[(i * 3 + n) % 10]} opened on day {i * 7 + n}, said officials of district "
        f"{i}, who counted {i * 11 + n * 13} visitors and {n + i} new projects this season.</p>"
        for n in range(6)
    )
    return (
        f"<html><head><title>Story {i}</title>"
        f'<meta property="article:published_time" content="2026-01-05T08:{i % 60:02d}:00Z">'
        f"</head><body><article><h1>Story number {i} of the town</h1>{paragraphs}"
        f"</article></body></html>"
    ).encode()


def feed_xml(base: str) -> bytes:
    items = "".join(
        f"<item><title>Story {i}</title><link>{base}/news/{i}.html</link>"
        f"<pubDate>Mon, 05 Jan 2026 08:{i % 60:02d}:00 GMT</pubDate></item>"
        for i in range(PAGES)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Town</title>'
        f"<link>{base}/</link>{items}</channel></rss>"
    ).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path == "/feed.xml":
            body, kind = feed_xml(base), "application/rss+xml"
        elif self.path.startswith("/news/") and self.path.endswith(".html"):
            body, kind = article_html(int(self.path[6:-5])), "text/html; charset=utf-8"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def town() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def write_config(directory: Path, port: int) -> Path:
    directory.mkdir()
    shutil.copy(REPO_CONFIG / "topics.toml", directory / "topics.toml")
    source = {
        "name": "Town Crier",
        "lang": "en",
        "domains": [f"127.0.0.1:{port}"],
        "feeds": [f"http://127.0.0.1:{port}/feed.xml"],
        "article_patterns": ["/news/"],
    }
    (directory / "sources.toml").write_text(tomli_w.dumps({"sources": {"town": source}}))
    return directory


class Crawl:
    """`marsad crawl town --format json` in a subprocess, stderr to a file."""

    def __init__(self, config: Path, db_url: str, log: Path, *settings: str) -> None:
        env = {**os.environ, "MARSAD_DB_URL": db_url}
        env.pop("MARSAD_SCHEDULED_BY", None)
        self.log = log
        self._err = log.open("w")
        args = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1",
                "-s", "DOWNLOAD_DELAY=0.15",
                "-s", "MARSAD_EXTRACT_WORKERS=0", *settings]  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crawler", "--config", str(config), "crawl", "town",
             "--format", "json", "--no-progress", *args],
            stdout=subprocess.PIPE, stderr=self._err, text=True, env=env,
        )  # fmt: skip

    def stderr(self) -> str:
        return self.log.read_text()

    def finish(self, timeout: float = 300) -> tuple[int, dict[str, object]]:
        out, _ = self.proc.communicate(timeout=timeout)
        self._err.close()
        try:
            summary = json.loads(out)
        except ValueError:
            pytest.fail(f"no JSON summary: {out!r}\n{self.stderr()[-3000:]}")
        return self.proc.returncode, summary

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        self._err.close()


def stored(db_url: str) -> tuple[int, int]:
    """(articles, distinct URLs), or (-1, -1) while the server is down."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            total = conn.scalar(select(func.count()).select_from(Article))
            urls = conn.scalar(select(func.count(func.distinct(Article.url))))
            return int(total or 0), int(urls or 0)
    except SQLAlchemyError:
        return -1, -1
    finally:
        engine.dispose()


def wait_for(what: str, check: Callable[[], bool], crawl: Crawl, timeout: float = 180) -> None:
    wait_until(what, check, timeout=timeout, alive=[crawl.proc], output=crawl.stderr)


def test_short_outage_pauses_and_resumes_storing_everything_once(
    own_postgres: OwnPostgres, town: int, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config", town)
    db_url = own_postgres.create_database("short")
    crawl = Crawl(config, db_url, tmp_path / "crawl.log")
    try:
        wait_for("some stored articles", lambda: stored(db_url)[0] >= 3, crawl)
        own_postgres.stop()
        wait_for("the pause", lambda: "crawl paused" in crawl.stderr(), crawl)
        own_postgres.start()
        code, summary = crawl.finish()
    finally:
        crawl.kill()
    log = crawl.stderr()
    assert code == 0, log[-3000:]
    assert summary["ok"] is True and summary["finish_reason"] == "finished", summary
    assert "crawl resumed" in log, log[-3000:]
    (source,) = summary["sources"]  # type: ignore[attr-defined]  # JSON list of dicts
    # nothing lost: the known-article check lets requests through while the database is away,
    # and every article that reached the pipelines waited for it and was stored, exactly once
    assert not source["errors"].get("OperationalError"), source
    assert source["articles_stored"] == PAGES, source
    assert stored(db_url) == (PAGES, PAGES)
    assert MARKER not in log


def test_long_outage_fails_the_crawl_with_reason_storage_and_the_next_crawl_completes(
    own_postgres: OwnPostgres, town: int, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config", town)
    db_url = own_postgres.create_database("long")
    crawl = Crawl(config, db_url, tmp_path / "crawl.log", "-s", "MARSAD_STORAGE_RETRY_WINDOW=5")
    try:
        wait_for("some stored articles", lambda: stored(db_url)[0] >= 3, crawl)
        own_postgres.stop()
        code, summary = crawl.finish()
    finally:
        crawl.kill()
    log = crawl.stderr()
    assert code == 1, log[-3000:]
    assert summary["ok"] is False and summary["finish_reason"] == "storage", summary
    assert MARKER not in log, "a page body reached the log"
    assert "stopping the crawl (reason storage)" in log, log[-3000:]
    failures = [line for line in log.splitlines() if "not stored, the database" in line]
    assert all(len(line) < 500 for line in failures), failures
    own_postgres.start()
    first, urls = stored(db_url)
    assert 3 <= first < PAGES and first == urls
    (source,) = summary["sources"]  # type: ignore[attr-defined]  # JSON list of dicts
    assert source["articles_stored"] == first, (source, first)  # only what was committed

    again = Crawl(config, db_url, tmp_path / "again.log")
    try:
        code, summary = again.finish()
    finally:
        again.kill()
    assert code == 0, again.stderr()[-3000:]
    assert summary["ok"] is True, summary
    assert stored(db_url) == (PAGES, PAGES)
