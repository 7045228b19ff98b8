"""Runs one crawl in this process (Twisted's reactor cannot restart: one crawl per process).

The spider is loaded by name from SPIDER_MODULES, as `scrapy crawl news` does, so nothing in
`crawler/` imports the Scrapy adapters in `spiders/` and `pipelines/`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from twisted.python.failure import Failure

from crawler import settings as default_settings
from crawler.config import Source
from crawler.crawl.agent import configured_user_agent, require_contact
from crawler.crawl.failures import exc_info
from crawler.crawl.report import CrawlResult, summarize

logger = logging.getLogger(__name__)

SPIDER_NAME = "news"

# Loopback sites (demo, tests) need no politeness delays.
LOCAL_SETTINGS: dict[str, Any] = {
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "MARSAD_RETRY_BACKOFF_BASE": 0.1,
    "RETRY_TIMES": 1,
    "DOWNLOAD_TIMEOUT": 10,
}


def build_settings(
    db_url: str,
    config_dir: str | None,
    overrides: Mapping[str, Any] | None = None,
    *,
    log_level: str = "WARNING",
    progress: bool = False,
) -> Settings:
    """Our settings, then MARSAD_USER_AGENT from the environment, then *overrides* (-s)."""
    settings = Settings()
    settings.setmodule(default_settings, priority="project")
    settings.set("USER_AGENT", configured_user_agent(), priority="project")
    settings.set("MARSAD_DB_URL", db_url, priority="cmdline")
    settings.set("MARSAD_CONFIG_DIR", config_dir, priority="cmdline")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    settings.set("LOG_FORMAT", "%(levelname)s %(name)s: %(message)s", priority="cmdline")
    settings.set("MARSAD_PROGRESS", progress, priority="cmdline")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


class CrawlNotStarted(RuntimeError):
    """The crawl failed before fetching anything (a component could not be built)."""


def run_crawl(sources: Sequence[Source], settings: Settings) -> CrawlResult:
    """Crawl *sources* into the database named in *settings*; returns the per-source summary.

    Raises agent.SettingError when a source is off this machine and USER_AGENT has no real
    contact, and CrawlNotStarted when the crawl could not start (the reason in the message)."""
    require_contact(sources, settings.get("USER_AGENT"))
    started = datetime.now(UTC)
    clock = time.monotonic()
    # A command that set up logging (format, file, level) keeps its handler, so crawl lines
    # look like every other line; without one, Scrapy installs its own at LOG_LEVEL.
    ours = list(logging.root.handlers)
    settings = settings.copy()
    settings.set("LOG_INSTALL_ROOT_HANDLER", not ours, priority="cmdline")
    for handler in ours:  # Scrapy opens the root logger to every level: filter as its own would
        handler.setLevel(settings.get("LOG_LEVEL"))
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(SPIDER_NAME)
    not_started: list[Failure] = []
    done = process.crawl(crawler, sources=list(sources))
    done.addErrback(not_started.append)  # handled here, not "Unhandled error in Deferred"
    process.start()
    if not_started:
        failure = not_started[0]
        logger.debug("the crawl could not start", exc_info=exc_info(failure))
        raise CrawlNotStarted(f"the crawl could not start: {failure.getErrorMessage()}")
    stats = crawler.stats.get_stats()
    return CrawlResult(
        sources=summarize(stats, [source.key for source in sources]),
        started=started,
        elapsed=time.monotonic() - clock,
        finish_reason=str(stats.get("finish_reason", "unknown")),
    )
