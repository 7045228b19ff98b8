"""CLI commands that talk to servers: online source checks, schema upgrades, `scrapy crawl`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from crawler.cli import cli
from crawler.db import Article
from crawler.sample_site import SampleSite

REPO = Path(__file__).resolve().parents[1]


def test_sources_check_online_probes_every_endpoint(site: SampleSite, tmp_path: Path) -> None:
    site.write_config(tmp_path, topics_from=REPO / "config")
    result = CliRunner().invoke(cli, ["--config", str(tmp_path), "sources", "check", "--online"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith(("ok", "FAIL"))]
    assert len(lines) >= 10 and all(line.startswith("ok") for line in lines)
    assert any("feed" in line and "entries" in line for line in lines)
    assert any("sitemap" in line and "index with" in line for line in lines)


def test_sources_check_online_reports_a_dead_feed(tmp_path: Path) -> None:
    (tmp_path / "sources.toml").write_text(
        '[sources.dead]\nname = "Dead"\nlang = "fr"\ndomains = ["127.0.0.1:9"]\n'
        'feeds = ["http://127.0.0.1:9/feed"]\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["--config", str(tmp_path), "sources", "check", "--online", "--timeout", "2"]
    )
    assert result.exit_code == 1
    assert "FAIL" in result.output and "unreachable" in result.output


def test_db_upgrade_creates_the_schema(db_url: str) -> None:
    result = CliRunner().invoke(cli, ["--db", db_url, "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "is at revision" in result.output
    engine = create_engine(db_url)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 0
    engine.dispose()


def test_scrapy_crawl_uses_marsad_settings(site: SampleSite, tmp_path: Path) -> None:
    """`scrapy crawl news` works from the project folder, as scrapy.cfg promises."""
    site.write_config(tmp_path / "config", topics_from=REPO / "config")
    db_url = f"sqlite:///{tmp_path / 'scrapy.db'}"
    env = {**os.environ, "MARSAD_DB_URL": db_url, "MARSAD_CONFIG": str(tmp_path / "config")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "news",
            "-a",
            "sources=ledger-en",
            "-s",
            "AUTOTHROTTLE_ENABLED=False",
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "LOG_LEVEL=WARNING",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    engine = create_engine(db_url)
    with Session(engine) as session:
        stored = session.scalar(select(func.count()).select_from(Article))
    engine.dispose()
    assert stored == len(site.article_urls()["ledger-en"])
