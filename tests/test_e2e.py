"""End to end: the real `marsad` command crawls the sample site served on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from crawler.db import Article
from crawler.sample_site import SampleSite

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"
FAST = [
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "MARSAD_RETRY_BACKOFF_BASE=0.05",
    "-s",
    "CONCURRENT_REQUESTS_PER_DOMAIN=16",
]
MOJIBAKE = set("ÇÏÑÓÚáãäåæÙØ")  # what Arabic looks like decoded with the wrong Western codec

pytestmark = pytest.mark.slow


def marsad(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"}
    env.pop("MARSAD_DB_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture
def config_dir(site: SampleSite, tmp_path: Path) -> Path:
    site.write_config(tmp_path / "config", topics_from=REPO_CONFIG)
    return tmp_path / "config"


def crawl(config_dir: Path, db_url: str) -> tuple[int, dict[str, Any], str]:
    proc = marsad("--config", str(config_dir), "--db", db_url, "crawl", "--format", "json", *FAST)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def stored(db_url: str) -> list[Article]:
    engine = create_engine(db_url)
    with Session(engine) as session:
        articles = list(session.scalars(select(Article)))
        for article in articles:
            _ = article.topics
    engine.dispose()
    return articles


def total(summary: dict[str, Any], field: str) -> int:
    return sum(source[field] for source in summary["sources"])


def test_crawl_stores_every_article_once_then_nothing_new(
    site: SampleSite, config_dir: Path, db_url: str
) -> None:
    code, summary, stderr = crawl(config_dir, db_url)
    assert code == 0, stderr
    assert summary["ok"] is True
    articles = stored(db_url)
    urls = [a.url for a in articles]
    assert len(urls) == len(set(urls)), "an article was stored twice"
    expected = set().union(*site.article_urls().values())
    assert set(urls) == expected, (
        f"missing: {sorted(expected - set(urls))[:5]} extra: {sorted(set(urls) - expected)[:5]}"
    )
    assert total(summary, "articles_stored") == len(expected)

    by_source = {s["source"]: s for s in summary["sources"]}
    rejected = sum((sum(s["rejected"].values()) for s in by_source.values()), 0)
    errors: dict[str, int] = {}
    for s in by_source.values():
        for name, n in s["errors"].items():
            errors[name] = errors.get(name, 0) + n
    assert rejected > 0, "listing, tag and short pages must be counted as rejected"
    assert errors.get("http_404", 0) >= 1 and errors.get("http_500", 0) >= 1, errors
    assert total(summary, "offsite") >= 1

    for outlet in site.outlets:  # robots.txt is obeyed
        assert not any(path.startswith("/private/") for path in site.requests(outlet))

    # the reference article comes out tagged with all three topics
    seed = [a for a in articles if a.title == "المغرب وإسرائيل يوقعان مذكرة دفاع تاريخية"]
    assert len(seed) == 1
    assert {"defense", "israel", "morocco"} <= {t.topic for t in seed[0].topics}

    # windows-1256 and ISO-8859-6 pages come out as correct Arabic
    odd = {e.url for e in site.expected if e.encoding in ("header", "meta", "none", "iso-8859-6")}
    assert odd, "the sample site must serve non-UTF-8 Arabic pages"
    for article in articles:
        if article.url in odd:
            assert "\ufffd" not in article.text + article.title
            assert not MOJIBAKE & set(article.text), article.url
            assert any("\u0621" <= ch <= "\u064a" for ch in article.title)

    # dates come from the page, else the feed or sitemap, and say so
    by_url = {a.url: a for a in articles}
    for item in site.expected:
        article = by_url[item.url]
        assert article.published_at is not None, item.url
        assert article.date_source == ("page" if item.has_page_date else article.date_source)
        if not item.has_page_date:
            assert article.date_source in ("feed", "sitemap"), item.url

    # syndicated wire copies share one story; every stored article opened or joined one
    groups: dict[str, set[str]] = {}
    for item in site.expected:
        if item.group:
            groups.setdefault(item.group, set()).add(item.url)
    assert any(len(urls) > 1 for urls in groups.values()), "the sample site has wire copies"
    for group, urls in groups.items():
        stories = {by_url[url].story_id for url in urls}
        assert len(stories) == 1 and None not in stories, (group, stories)
    grouped = {url for urls in groups.values() for url in urls}
    assert len({a.story_id for a in articles if a.url in grouped}) == len(groups)
    assert all(a.story_id is not None for a in articles)
    assert total(summary, "stories_new") + total(summary, "story_copies") == len(expected)
    assert total(summary, "story_copies") == sum(len(urls) - 1 for urls in groups.values())

    # a second crawl stores nothing and refetches no stored article, nor a URL that
    # redirected to one
    redirects = {trap.url for trap in site.traps if trap.kind == "redirect"}
    assert redirects, "the sample site has a 301 to an article"
    before = {outlet: len(site.requests(outlet)) for outlet in site.outlets}
    code, again, stderr = crawl(config_dir, db_url)
    assert code == 0, stderr
    assert total(again, "articles_stored") == 0
    assert total(again, "known_skipped") >= len(expected) - 5
    assert len(stored(db_url)) == len(expected)
    refetched = [
        path
        for outlet in site.outlets
        for path in site.requests(outlet)[before[outlet] :]
        if site.url(outlet, path) in expected | redirects
    ]
    assert refetched == []


@contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so no one else takes it), not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def crawl_dead_source(tmp_path: Path, port: int) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sources.toml").write_text(
        f'[sources.dead]\nname = "Dead"\nlang = "ar"\ndomains = ["127.0.0.1:{port}"]\n'
        f'feeds = ["http://127.0.0.1:{port}/feed"]\n',
        encoding="utf-8",
    )
    (tmp_path / "topics.toml").write_text(
        (REPO_CONFIG / "topics.toml").read_text("utf-8"), encoding="utf-8"
    )
    return marsad(
        "--config",
        str(tmp_path),
        "--db",
        f"sqlite:///{tmp_path}/d.db",
        "crawl",
        "--format",
        "json",
        *FAST,
    )


def test_dead_source_fails_the_crawl_with_exit_1(tmp_path: Path) -> None:
    with refusing_port() as port:
        proc = crawl_dead_source(tmp_path, port)
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout)
    (dead,) = summary["sources"]
    assert dead["status"] == "failed" and dead["errors"].get("connection", 0) >= 1


def test_demo_runs_twice_harmlessly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/demo.db"
    first = marsad("demo", "--db", url)
    assert first.returncode == 0, first.stderr
    assert "المغرب وإسرائيل يوقعان مذكرة دفاع تاريخية" in first.stdout
    count = len(stored(url))
    assert count >= 60
    second = marsad("demo", "--db", url, "--format", "json")
    assert second.returncode == 0, second.stderr
    result = json.loads(second.stdout)
    assert total(result["crawl"], "articles_stored") == 0
    assert len(stored(url)) == count
