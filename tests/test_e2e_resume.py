"""An interrupted crawl loses nothing and the next one finishes the work without duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from crawler.db import Article
from crawler.sample_site import SampleSite

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"
pytestmark = pytest.mark.slow


def stored_urls(db_url: str) -> list[str]:
    engine = create_engine(db_url)
    with Session(engine) as session:
        urls = list(session.scalars(select(Article.url)))
    engine.dispose()
    return urls


def test_sigint_mid_crawl_then_resume(site: SampleSite, tmp_path: Path) -> None:
    site.write_config(tmp_path / "config", topics_from=REPO_CONFIG)
    db_url = f"sqlite:///{tmp_path / 'resume.db'}"
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
    with subprocess.Popen(
        slow, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        time.sleep(6)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
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
