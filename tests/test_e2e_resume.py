"""An interrupted crawl loses nothing and the next one finishes the work without duplicates."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from crawler.db import Article
from crawler.sample_site import SampleSite
from tests.waiting import wait_until

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"
pytestmark = pytest.mark.slow
STARTUP_DEADLINE = 180  # seconds for the first article to be stored, on a busy machine


def stored_urls(db_url: str) -> list[str]:
    engine = create_engine(db_url)
    with Session(engine) as session:
        urls = list(session.scalars(select(Article.url)))
    engine.dispose()
    return urls


def stored_count(db_path: Path) -> int:
    """Articles committed so far; 0 while the crawl has not created the database or its tables."""
    if not db_path.exists():
        return 0
    try:
        with closing(sqlite3.connect(db_path, timeout=30)) as conn:
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def wait_until_stored(proc: subprocess.Popen[str], db_path: Path, log: Path) -> None:
    """Return as soon as the running crawl has stored an article."""
    try:
        wait_until(
            "the crawl stored an article",
            lambda: stored_count(db_path) > 0,
            timeout=STARTUP_DEADLINE,
            alive=[proc],
            output=log.read_text,
            poll=0.05,
        )
    except BaseException:  # pytest.fail: do not leave the crawl running
        proc.kill()
        raise


def test_sigint_mid_crawl_then_resume(site: SampleSite, tmp_path: Path) -> None:
    site.write_config(tmp_path / "config", topics_from=REPO_CONFIG)
    db_path = tmp_path / "resume.db"
    db_url = f"sqlite:///{db_path}"
    base = [
        sys.executable,
        "-m",
        "crawler",
        "--config",
        str(tmp_path / "config"),
        "--db",
        db_url,
        "crawl",
        "--format",
        "json",
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
        "-s",
        "MARSAD_RETRY_BACKOFF_BASE=0.05",
    ]
    slow = [*base, "-s", "DOWNLOAD_DELAY=0.25", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]
    env = {k: v for k, v in os.environ.items() if k != "MARSAD_DB_URL"}
    log = tmp_path / "interrupted.log"  # a file, not a pipe: a full pipe would stall the crawl
    with (
        log.open("w") as stderr,
        subprocess.Popen(slow, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env) as proc,
    ):
        wait_until_stored(proc, db_path, log)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
    err = log.read_text()
    assert proc.returncode == 1, err  # interrupted: not a success
    summary = json.loads(out)
    assert summary["finish_reason"] == "shutdown"
    partial = stored_urls(db_url)
    expected = set().union(*site.article_urls().values())
    assert 0 < len(partial) < len(expected), "the interruption should land mid-crawl"

    done = subprocess.run(
        [*base, "-s", "DOWNLOAD_DELAY=0"], capture_output=True, text=True, timeout=240, env=env
    )
    assert done.returncode == 0, done.stderr
    urls = stored_urls(db_url)
    assert len(urls) == len(set(urls)) and set(urls) == expected
