"""URL helpers for page extraction that never raise: join, split, canonical URL resolution."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

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


# no params, query, fragment, space or IPv6 bracket: urljoin puts such a link back unchanged
_PLAIN = re.compile(r"[A-Za-z0-9\-._~%!$&'()*+,=:@/]*")
_ABSOLUTE = re.compile(r"https?://[^/]")


def split_link(base_url: str | None, base: Any, href: str) -> Any:
    """split_url(join_url(base_url, href)), *base* being split_url(base_url), without urljoin's
    cost for the common links: absolute ones and paths from the site's root."""
    link = href.strip()
    if _PLAIN.fullmatch(link):
        if _ABSOLUTE.match(link):
            return urlsplit(link)
        if (
            link[:1] == "/"
            and link[1:2] != "/"
            and "/." not in link  # no dot segment for urljoin to resolve
            and base is not None
            and base.scheme in {"http", "https"}
            and base.netloc
        ):
            return SplitResult(base.scheme, base.netloc, link, "", "")
    return split_url(join_url(base_url, href))


def resolve_url(sig: PageSignals, url: str | None) -> str | None:
    for candidate in (sig.canonical, sig.og_url):
        if not candidate:
            continue
        resolved = join_url(url, candidate)
        parts = split_url(resolved)
        if parts is not None and parts.scheme in {"http", "https"} and parts.hostname:
            return resolved
    return url
