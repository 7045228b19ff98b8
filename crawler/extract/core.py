"""Article extraction: HTML -> Extracted | Rejected.

The only module of Marsad that imports trafilatura. Pure functions: no Scrapy, no database, no
network, no clock except to refuse dates in the future. trafilatura finds the body; this module
adds what a news monitor needs on top: clean titles and bylines, a publication date that is never
the crawl time (page > feed > sitemap > None) kept in the publisher's own UTC offset
(``published`` is aware in that offset, ``published_offset`` its minutes, None when the page
gave a time without offset and the source has no ``timezone``), the page language, the
canonical URL, and the rejection of pages that are not articles (listings, tag/author
archives, near-empty pages).

The pure helpers live in sibling modules that import neither trafilatura nor htmldate:
signals (what the page says about itself), urls (canonical URL), meta (title, byline, date,
language), cleanup (banners and boilerplate lines) and kind (the rejection heuristics). This
module runs trafilatura and htmldate and puts the result together.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from htmldate import find_date
from lxml import html as lxml_html
from trafilatura import bare_extraction
from trafilatura.settings import Extractor
from trafilatura.utils import load_html

from crawler.extract.cleanup import clean_body, prune_boilerplate
from crawler.extract.dates import PageDate, parse_date
from crawler.extract.kind import Rejected, link_stats, looks_like_html, rejection
from crawler.extract.meta import (
    clean_author,
    clean_title,
    detect_language,
    hinted_date,
    lang_code,
    now,
    page_date,
    site_tokens,
)
from crawler.extract.signals import is_article_page, read_signals
from crawler.extract.speedups import install as install_speedups
from crawler.extract.urls import join_url, resolve_url
from crawler.text.encoding import decode_html

logger = logging.getLogger(__name__)

__all__ = ["MIN_CHARS", "Extracted", "PageHints", "Rejected", "extract", "extract_bytes"]

MIN_CHARS = 200  # article text shorter than this is rejected as too short

install_speedups()


@dataclass(frozen=True)
class PageHints:
    feed_date: datetime | None = None
    sitemap_date: datetime | None = None
    feed_title: str | None = None
    source_lang: str | None = None
    source_name: str | None = None  # the source's configured name (a site name in titles)
    timezone: str | None = None  # the source's IANA zone, for times printed without offset
    fetched_at: datetime | None = None  # relative dates ("منذ ساعتين") count back from it


@dataclass(frozen=True)
class Extracted:
    url: str | None
    title: str
    text: str
    author: str | None
    published: datetime | None
    date_source: str | None
    language: str | None
    description: str | None
    image: str | None
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    # the publisher's offset from UTC in minutes at ``published`` (None: not known)
    published_offset: int | None = None


# --------------------------------------------------------------------------------------------
# tuning knobs (measured on the extraction dev set with bench/extraction_eval.py)

_FAVOR = "precision"  # "precision" | "recall" | "balanced"
_INCLUDE_TABLES = True
_DEDUP = False  # trafilatura's dedup keeps a process-wide cache: not pure, and no gain measured
_RETRY_BELOW = 1000  # characters: below this, also try balanced mode ...
_RETRY_RATIO = 3.0  # ... and keep its text when this many times longer (or ours is too short)
_EXTENSIVE_DATES = True  # htmldate's guesses from free text: only as a last, guarded resort


def _guessed_date(
    tree: lxml_html.HtmlElement, url: str | None, zone: tzinfo | None, reference: datetime
) -> PageDate | None:
    """htmldate's extensive (free-text) search, refused when it lands on the crawl day: news
    pages print today's date in their header, and htmldate falls back to it."""
    try:
        day = find_date(
            tree,
            extensive_search=True,
            original_date=True,
            url=url,
            max_date=(reference + timedelta(days=1)).strftime("%Y-%m-%d"),
        )
    except Exception:  # htmldate is best effort
        logger.debug("htmldate failed", exc_info=True)
        return None
    parsed = parse_date(day, zone, reference)
    if parsed is None or abs(parsed.when - reference) < timedelta(days=2):
        return None  # the crawl day, or a "today" printed in the page header
    if (parsed.when.month, parsed.when.day) == (1, 1):
        return None  # a bare year (copyright line, "2024" in a headline) read as January 1st
    return parsed


@lru_cache(maxsize=64)
def zone_named(name: str | None) -> tzinfo | None:
    """The IANA zone *name* (validated when the configuration loads), None when unknown."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("unknown time zone %r: times without offset are kept as written", name)
        return None


# --------------------------------------------------------------------------------------------
# main entry points


# A character reference to a control character (``&#27;``) makes lxml drop the rest of the
# document, so a stray one in a crawled page lost the whole article. Tab, LF and CR stay.
_CONTROL_REFS = re.compile(
    r"&#(?:0*(?:[0-8]|1[124-9]|2[0-9]|3[01]|127)|[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF]));"
)


def _extractor(url: str | None, focus: str = _FAVOR, metadata: bool = True) -> Extractor:
    # htmldate's keyword arguments (trafilatura annotates them as str; some are flags)
    date_params: dict[str, Any] = {
        "original_date": True,
        "extensive_search": False,
        "max_date": (now() + timedelta(days=1)).strftime("%Y-%m-%d"),
    }
    return Extractor(
        output_format="python",
        precision=focus == "precision",
        recall=focus == "recall",
        comments=False,
        tables=_INCLUDE_TABLES,
        dedup=_DEDUP,
        url=url,
        with_metadata=metadata,
        date_params=date_params,
    )


def _run_trafilatura(
    tree: lxml_html.HtmlElement, url: str | None, focus: str, metadata: bool = True
) -> Any:
    try:
        return bare_extraction(tree, options=_extractor(url, focus, metadata))
    except Exception as err:  # trafilatura bugs must not kill a crawl
        logger.warning("trafilatura failed on %s: %s", url, err)
        return None


def extract(
    html: str, url: str | None = None, hints: PageHints | None = None, min_chars: int = MIN_CHARS
) -> Extracted | Rejected:
    """Extract one article from decoded HTML, or say why the page is not one."""
    result, rejected = _extract(html, url, hints, min_chars)
    if rejected is not None:
        return rejected
    assert result is not None
    return result


def _extract(
    html: str, url: str | None, hints: PageHints | None, min_chars: int
) -> tuple[Extracted | None, Rejected | None]:
    """What would be extracted, and the rejection if any (the benchmark scores both)."""
    hints = hints or PageHints()
    if not looks_like_html(html):
        return None, Rejected("not_html", "no HTML markup found")
    try:
        tree = load_html(_CONTROL_REFS.sub(" ", html))
    except Exception as err:  # lxml can fail on exotic input
        return None, Rejected("not_html", f"unparseable: {err}")
    if tree is None:
        return None, Rejected("not_html", "unparseable HTML")
    sig = read_signals(tree)
    page_url = resolve_url(sig, url)
    article = is_article_page(sig)
    prune_boilerplate(tree)

    doc = _run_trafilatura(tree, page_url or url, _FAVOR)
    text = clean_body((doc.text if doc is not None else "") or "")
    if len(text) < _RETRY_BELOW and _FAVOR != "balanced":
        # precision mode can cut short articles to nothing: retry balanced, keep the longer.
        # Metadata does not depend on the mode: the retry skips it unless the first run failed.
        retry = _run_trafilatura(tree, page_url or url, "balanced", metadata=doc is None)
        retry_text = clean_body((retry.text if retry is not None else "") or "")
        if len(retry_text) > len(text) * _RETRY_RATIO or len(text) < min_chars:
            text = retry_text
            if doc is None:
                doc = retry

    links = link_stats(tree, page_url or url, (sig.h1, sig.og_title))
    headings = (doc.title,) if doc is not None else ()
    rejected = rejection(sig, article, url, page_url, text, links, min_chars, headings)

    raw_title = sig.og_title or sig.title or (doc.title if doc else None)
    guessed = doc.sitename if doc else None
    site = site_tokens(sig, page_url or url, hints.source_name, guessed, raw_title)
    title = clean_title(raw_title, site, sig.h1)
    if not title and hints.feed_title:
        title = hints.feed_title.strip()

    authors = (doc.author if doc else None) or "; ".join(sig.ld_authors) or None
    zone = zone_named(hints.timezone)
    reference = hints.fetched_at or now()
    dated = page_date(sig, doc.date if doc else None, page_url or url, zone, reference)
    if dated is None and _EXTENSIVE_DATES:
        dated = _guessed_date(tree, page_url or url, zone, reference)
    source: str | None = None
    if dated is not None:
        source = "relative" if dated.relative else "page"
    elif hints.feed_date is not None:
        dated, source = hinted_date(hints.feed_date, zone), "feed"
    elif hints.sitemap_date is not None:
        dated, source = hinted_date(hints.sitemap_date, zone), "sitemap"

    declared = lang_code(sig.html_lang) or lang_code(sig.ld_lang)
    language = detect_language(declared, text, lang_code(hints.source_lang))

    result = Extracted(
        url=page_url,
        title=title,
        text=text,
        author=clean_author(authors),
        published=dated.when if dated else None,
        date_source=source,
        language=language,
        description=(doc.description if doc else None) or None,
        image=join_url(page_url, doc.image) if doc and doc.image else None,
        categories=tuple(doc.categories or ()) if doc else (),
        tags=tuple(doc.tags or ()) if doc else (),
        published_offset=dated.offset if dated else None,
    )
    return result, rejected


def extract_bytes(
    body: bytes,
    url: str | None = None,
    content_type: str | None = None,
    hints: PageHints | None = None,
    forced_encoding: str | None = None,
) -> Extracted | Rejected:
    """decode_html + extract."""
    if content_type and not re.search(r"html|xml|text/plain", content_type, re.I):
        return Rejected("not_html", f"content type {content_type}")
    text, _ = decode_html(body, content_type, forced_encoding)
    return extract(text, url, hints)
