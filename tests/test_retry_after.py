"""Retry-After on 429 and 503, through the real `marsad crawl` on a loopback site: the retry
waits as long as the answer asks (seconds or an HTTP date), capped by MARSAD_RETRY_AFTER_MAX,
and still happens. Times are the server's own receive times."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formatdate
from pathlib import Path

import pytest
from test_limits import Reply, Route, Site, crawl, serve, source_toml

from crawler.crawl.middlewares import retry_after

PAGE = b"<html><body><p>Court.</p></body></html>"
# Our own backoff is tiny here, so only Retry-After can explain a long wait.
RETRY = ["-s", "RETRY_TIMES=1", "-s", "MARSAD_RETRY_BACKOFF_BASE=0.05"]


def busy_once(status: int, header: Callable[[], str]) -> Route:
    """A route answering /une with *status* and ``Retry-After: header()`` the first time (the
    header made when the answer is sent), then 200."""
    answered: list[str] = []

    def route(path: str, base: str) -> Reply:
        if path != "/une" or answered:
            return Reply(body=PAGE)
        answered.append(path)
        return Reply(status, body=b"busy", headers={"Retry-After": header()})

    return route


def gap(site: Site) -> float:
    """Seconds between the first and the second request for /une, as the server saw them."""
    times = [when for when, path in site.hits if path == "/une"]
    assert len(times) == 2, site.hits  # the retry happened, once
    return times[1] - times[0]


def crawl_busy(tmp_path: Path, status: int, header: Callable[[], str], *overrides: str) -> float:
    with serve(busy_once(status, header)) as site:
        code, summary, stderr = crawl(
            tmp_path, source_toml(site, sections="/une"), *RETRY, *overrides
        )
    assert code == 0, stderr  # retried after the wait, and the retry read the page
    assert summary["entry_points_ok"] == 1 and summary["errors"] == {}, summary
    return gap(site)


def test_a_429_with_retry_after_seconds_waits_that_long(tmp_path: Path) -> None:
    assert 2.0 <= crawl_busy(tmp_path, 429, lambda: "2") < 30.0


def test_a_503_with_an_http_date_waits_until_that_date(tmp_path: Path) -> None:
    # HTTP dates have whole seconds: 4 s ahead is at least 3 s ahead once truncated
    wait = crawl_busy(tmp_path, 503, lambda: formatdate(time.time() + 4, usegmt=True))
    assert 3.0 <= wait < 30.0


def test_a_huge_retry_after_is_capped(tmp_path: Path) -> None:
    wait = crawl_busy(tmp_path, 429, lambda: "86400", "-s", "MARSAD_RETRY_AFTER_MAX=1.5")
    assert 1.5 <= wait < 30.0


def test_the_default_cap_is_at_least_a_minute() -> None:
    from crawler import settings

    assert settings.MARSAD_RETRY_AFTER_MAX >= 60.0


NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (b"20", 20.0),
        (b" 0 ", 0.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True).encode(), 90.0),
        (b"Mon, 05 Jan 2026 12:00:30 GMT", 30.0),
        (b"Monday, 05-Jan-26 12:00:30 GMT", 30.0),  # the obsolete forms HTTP still allows
        (b"Mon Jan  5 12:00:30 2026", 30.0),
        (format_datetime(NOW - timedelta(hours=1), usegmt=True).encode(), 0.0),  # past
        (b"-5", None),
        (b"soon", None),
        (b"", None),
        (None, None),
    ],
)
def test_retry_after_values(header: bytes | None, seconds: float | None) -> None:
    assert retry_after(header, NOW) == seconds
