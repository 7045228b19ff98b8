"""Download failures, counted per source and reason and summarised once at the end of a crawl.

Each failure adds to the source's ``errors/<reason>`` counter and remembers the first URL that
failed for that reason; the details of each one go to the log at INFO (the traceback at DEBUG),
so an unreachable site costs one warning line per reason, not a screen of tracebacks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectError,
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from crawler.crawl.report import PREFIX, count

if TYPE_CHECKING:
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

ROBOTS = "robots_"  # prefix of the reasons a robots.txt could not be read
_FIRST = "first_failure"  # marsad/<source>/first_failure/<reason> = the first URL


class StatsStore(Protocol):
    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None: ...
    def get_value(self, key: str, default: Any = None) -> Any: ...
    def set_value(self, key: str, value: Any) -> None: ...


class DroppedResponse(IgnoreRequest):
    """A response Scrapy drops (an IgnoreRequest) that is still a failure of the source, so it
    is counted under *reason*, unlike our own skips (offsite, already stored)."""

    reason = "dropped"


class GzipBomb(DroppedResponse):
    """A compressed response larger than DOWNLOAD_MAXSIZE once decompressed."""

    reason = "gzip_bomb"


class RedirectLoop(DroppedResponse):
    """More than REDIRECT_MAX_TIMES redirects, or a redirect back to a URL of its own chain."""

    reason = "redirect_loop"


def classify(exc: BaseException | None) -> str:
    """A short, stable name for why a request failed (used as a counter name)."""
    if isinstance(exc, DroppedResponse):
        return exc.reason
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    if isinstance(exc, DownloadCancelledError):  # how Scrapy stops a body over DOWNLOAD_MAXSIZE
        return "too_large"
    if isinstance(exc, TimeoutError | TCPTimedOutError | DownloadTimeoutError):
        return "timeout"
    if isinstance(exc, DNSLookupError | CannotResolveHostError):
        return "dns"
    if isinstance(
        exc,
        ConnectionRefusedError
        | ConnectError
        | ResponseNeverReceived
        | DownloadConnectionRefusedError
        | DownloadFailedError,
    ):
        return "connection"
    if isinstance(exc, ResponseFailed | ResponseDataLossError):
        return "broken_response"
    return type(exc).__name__


def exc_info(
    failure: Failure,
) -> tuple[type[BaseException], BaseException, TracebackType | None] | None:
    """A Twisted Failure as logging's ``exc_info``, its traceback included."""
    if failure.type is None or failure.value is None:
        return None
    return failure.type, failure.value, failure.getTracebackObject()


def record_failure(stats: StatsStore | None, source: str, reason: str, url: str) -> None:
    """Count one failed request of *source* and keep the first URL that failed for *reason*."""
    if stats is None:
        return
    count(stats, source, f"errors/{reason}")
    first = f"{PREFIX}/{source}/{_FIRST}/{reason}"
    if stats.get_value(first) is None:
        stats.set_value(first, url)


def record_limit(stats: StatsStore | None, source: str, counter: str, url: str, why: str) -> None:
    """Count one request of *source* cut by a limit (``errors/<counter>``); the first cut of
    each source and counter is a warning naming the limit, the others are only counted."""
    if stats is None:
        return
    count(stats, source, f"errors/{counter}")
    if stats.get_value(f"{PREFIX}/{source}/errors/{counter}") == 1:
        logger.warning(
            "%s: limit reached (%s): not following %s; further cuts are counted in errors/%s",
            source, why, url, counter,
        )  # fmt: skip


def failure_lines(stats: Mapping[str, Any]) -> list[str]:
    """One line per source and reason, e.g. ``hespress-ar: 6 requests failed: dns (first:
    https://www.hespress.com/feed)``, in source then reason order."""
    lines = []
    for stat, url in sorted(stats.items()):
        parts = stat.split("/", 3)
        if len(parts) != 4 or parts[0] != PREFIX or parts[2] != _FIRST:
            continue
        source, reason = parts[1], parts[3]
        n = int(stats.get(f"{PREFIX}/{source}/errors/{reason}", 1))
        what = "request" if n == 1 else "requests"
        if reason.startswith(ROBOTS):
            what, reason = f"robots.txt {what}", reason.removeprefix(ROBOTS)
        lines.append(f"{source}: {n} {what} failed: {reason} (first: {url})")
    return lines
