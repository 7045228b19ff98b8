"""`marsad demo`: the bundled sample site, served on loopback and crawled with the real spider."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from crawler import db
from crawler.config import load_config
from crawler.crawl.report import CrawlResult
from crawler.crawl.run import LOCAL_SETTINGS, build_settings, run_crawl
from crawler.sample_site import serve_sample_site
from crawler.stories.queries import articles_with_topics

DEMO_BASE_PORT = 8761


def run_demo(
    db_url: str, config_dir: Path, log_level: str = "WARNING"
) -> tuple[CrawlResult, list[dict[str, Any]]]:
    engine = db.make_engine(db_url)
    with (
        tempfile.TemporaryDirectory(prefix="marsad-demo-") as tmp,
        serve_sample_site(base_port=DEMO_BASE_PORT) as site,
    ):
        site.write_config(Path(tmp), topics_from=config_dir)
        config = load_config(tmp)
        settings = build_settings(db_url, tmp, LOCAL_SETTINGS, log_level=log_level)
        result = run_crawl(config.sources, settings)
    with Session(engine) as session:
        articles = articles_with_topics(session, [s.source for s in result.sources])
    engine.dispose()
    return result, articles
