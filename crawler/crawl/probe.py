"""`marsad sources check --online`: fetch each feed, sitemap and section page once, with the
User-Agent crawls use (MARSAD_USER_AGENT, else the placeholder: one request per endpoint)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from crawler import settings
from crawler.config import Source
from crawler.crawl.agent import configured_user_agent
from crawler.crawl.discovery import DiscoveryError, parse_feed, parse_sitemap


@dataclass(frozen=True)
class ProbeResult:
    source: str
    kind: str
    url: str
    ok: bool
    detail: str


def _fetch(url: str, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": configured_user_agent()})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read(settings.DOWNLOAD_MAXSIZE)


def probe(source: Source, kind: str, url: str, timeout: float) -> ProbeResult:
    try:
        status, body = _fetch(url, timeout)
    except urllib.error.HTTPError as exc:
        return ProbeResult(source.key, kind, url, False, f"HTTP {exc.code}")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return ProbeResult(source.key, kind, url, False, f"unreachable: {exc}")
    try:
        if kind == "feed":
            detail = f"{len(parse_feed(body))} entries"
        elif kind == "sitemap":
            sitemap_kind, links = parse_sitemap(body)
            detail = f"{sitemap_kind} with {len(links)} entries"
        else:
            detail = f"{len(body)} bytes"
    except DiscoveryError as exc:
        return ProbeResult(source.key, kind, url, False, str(exc))
    return ProbeResult(source.key, kind, url, True, f"HTTP {status}, {detail}")


def probe_sources(sources: Iterable[Source], timeout: float = 15.0) -> Iterator[ProbeResult]:
    for source in sources:
        for kind, urls in (
            ("feed", source.feeds),
            ("sitemap", source.sitemaps),
            ("section", source.sections),
        ):
            for url in urls:
                yield probe(source, kind, url, timeout)
