"""URL helpers for page extraction that never raise: join, split, canonical URL resolution."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

from crawler.extract.signals import PageSignals


def join_url(base: str | None, href: str) -> str:
    try:
        return urljoin(base or "", href.strip())
    except ValueError:
        return href.strip()


def split_url(url: str | None) -> Any:
    try:
        return urlsplit(url) if url else None
    except ValueError:
        return None


def resolve_url(sig: PageSignals, url: str | None) -> str | None:
    for candidate in (sig.canonical, sig.og_url):
        if not candidate:
            continue
        resolved = join_url(url, candidate)
        parts = split_url(resolved)
        if parts is not None and parts.scheme in {"http", "https"} and parts.hostname:
            return resolved
    return url
