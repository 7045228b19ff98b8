"""Article extraction: HTML -> Extracted | Rejected.

The only module of Marsad that imports trafilatura. Pure functions: no Scrapy, no database, no
network, no clock except to refuse dates in the future. trafilatura finds the body; this module
adds what a news monitor needs on top: clean titles and bylines, a publication date that is never
the crawl time (page > feed > sitemap > None), the page language, the canonical URL, and the
rejection of pages that are not articles (listings, tag/author archives, near-empty pages).
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from dateutil import parser as dateparser
from htmldate import find_date
from lxml import html as lxml_html
from trafilatura import bare_extraction
from trafilatura.settings import Extractor
from trafilatura.utils import load_html

from crawler.encoding import decode_html

logger = logging.getLogger(__name__)

__all__ = ["Extracted", "PageHints", "Rejected", "extract", "extract_bytes"]


@dataclass(frozen=True)
class PageHints:
    feed_date: datetime | None = None
    sitemap_date: datetime | None = None
    feed_title: str | None = None
    source_lang: str | None = None


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


@dataclass(frozen=True)
class Rejected:
    reason: str  # "not_html" | "listing" | "tag_page" | "too_short" | "no_content"
    detail: str


# --------------------------------------------------------------------------------------------
# tuning knobs (measured on the extraction dev set with bench/extraction_eval.py)

_FAVOR = "precision"  # "precision" | "recall" | "balanced"
_INCLUDE_TABLES = True
_DEDUP = False  # trafilatura's dedup keeps a process-wide cache: not pure, and no gain measured
_RETRY_BELOW = 1000  # characters: below this, also try balanced mode ...
_RETRY_RATIO = 3.0  # ... and keep its text when this many times longer (or ours is too short)
_EXTENSIVE_DATES = True  # htmldate's guesses from free text: only as a last, guarded resort
_LISTING_MIN_LINKS = 12  # article-like links on the page before a listing is considered
_LISTING_LINK_SHARE = 0.5  # share of body characters that are headlines linked elsewhere
_RUNNING_CHECK = 3  # below this many times min_chars, also measure the running text alone
_TEASER_LISTING = 5  # teaser blocks (headline + snippet) that make a listing rather than a tag page

# --------------------------------------------------------------------------------------------
# not-html

_MARKUP = re.compile(
    r"<\s*(?:!doctype\s+html|html|head|body|meta|title|div|p|article|section|main|span|a|br|h[1-6])"
    r"[\s>/]",
    re.I,
)


def _looks_like_html(html: str) -> bool:
    head = html[:4096].lstrip("\ufeff \t\r\n")
    if not head:
        return False
    if head.startswith(("{", "[", "%PDF", "GIF8", "\x89PNG")):
        return False
    if head.startswith("<?xml") and any(t in head for t in ("<rss", "<feed", "<urlset", "<sitem")):
        return False
    return bool(_MARKUP.search(html[:65536]))


# --------------------------------------------------------------------------------------------
# page signals read from the tree (before trafilatura prunes a copy of it)

_ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
        "reviewnewsarticle",
        "blogposting",
        "socialmediaposting",
        "liveblogposting",
        "scholarlyarticle",
        "report",
        "techarticle",
    }
)
_ARCHIVE_TYPES = frozenset({"collectionpage", "profilepage", "searchresultspage", "itemlist"})


@dataclass
class _Signals:
    canonical: str | None = None
    og_url: str | None = None
    html_lang: str | None = None
    og_type: str | None = None
    og_title: str | None = None
    site_name: str | None = None
    h1: str | None = None
    meta_dates: list[str] | None = None
    ld_dates: list[str] | None = None
    ld_types: set[str] | None = None
    ld_authors: list[str] | None = None
    ld_lang: str | None = None
    page_classes: frozenset[str] = frozenset()


_PUBLISHED_META = (
    "article:published_time",
    "og:published_time",
    "og:article:published_time",
    "article:published",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "published_time",
    "published-date",
    "dc.date.issued",
    "dcterms.issued",
    "dcterms.created",
    "dc.date.created",
    "sailthru.date",
    "parsely-pub-date",
    "article.published",
    "date",
    "dc.date",
)
_PUBLISHED_RANK = {name: i for i, name in enumerate(_PUBLISHED_META)}


def _iter_ld(obj: Any) -> Iterator[dict[str, Any]]:
    if isinstance(obj, list):
        for item in obj:
            yield from _iter_ld(item)
    elif isinstance(obj, dict):
        yield obj
        for key in ("@graph", "mainEntity", "itemListElement"):
            if key in obj:
                yield from _iter_ld(obj[key])


def _ld_type_names(node: dict[str, Any]) -> set[str]:
    value = node.get("@type")
    values = value if isinstance(value, list) else [value]
    return {str(v).lower().rsplit("/", 1)[-1] for v in values if v}


def _person_names(value: Any) -> list[str]:
    out: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            kinds = _ld_type_names(item)
            if "organization" not in kinds and "newsmediaorganization" not in kinds:
                out.append(item["name"])
    return [o.strip() for o in out if o and o.strip()]


def _read_signals(tree: lxml_html.HtmlElement) -> _Signals:
    sig = _Signals(meta_dates=[], ld_dates=[], ld_types=set(), ld_authors=[])
    root = tree.getroottree().getroot()
    lang = (
        root.get("lang")
        or root.get("xml:lang")
        or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    )
    sig.html_lang = lang
    dated: list[tuple[int, str]] = []
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        content = (meta.get("content") or "").strip()
        if not key or not content:
            equiv = (meta.get("http-equiv") or "").lower()
            if equiv == "content-language" and content and not sig.html_lang:
                sig.html_lang = content
            continue
        if key == "og:type":
            sig.og_type = content.lower()
        elif key == "og:url":
            sig.og_url = content
        elif key == "og:title":
            sig.og_title = content
        elif key in ("og:site_name", "application-name") and not sig.site_name:
            sig.site_name = content
        elif key in ("og:locale", "language", "content-language", "dc.language") and not lang:
            sig.html_lang = sig.html_lang or content
        if key in _PUBLISHED_RANK:
            dated.append((_PUBLISHED_RANK[key], content))
    for el in tree.iterfind(".//*[@itemprop='datePublished']"):
        value = el.get("content") or el.get("datetime")
        if value:
            dated.append((len(_PUBLISHED_META), value.strip()))
            break  # the first one; later ones are often citations or related items
    sig.meta_dates = [v for _, v in sorted(dated, key=lambda t: t[0])]
    for link in tree.iterfind(".//link[@rel]"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            sig.canonical = link.get("href", "").strip()
            break
    classes: list[str] = []
    for tag in ("body", "main"):
        el = tree.find(f".//{tag}")
        if el is not None:
            classes.extend((el.get("class") or "").lower().split())
    sig.page_classes = frozenset(classes)
    h1 = tree.find(".//h1")
    if h1 is not None:
        sig.h1 = " ".join(h1.text_content().split()) or None
    for script in tree.iterfind(".//script[@type]"):
        if "ld+json" not in (script.get("type") or "").lower():
            continue
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            try:
                data = json.loads(re.sub(r"[\x00-\x1f]", " ", raw))
            except ValueError:
                continue
        for node in _iter_ld(data):
            kinds = _ld_type_names(node)
            sig.ld_types.update(kinds)
            if kinds & _ARTICLE_TYPES:
                if isinstance(node.get("datePublished"), str):
                    sig.ld_dates.append(node["datePublished"].strip())
                sig.ld_authors.extend(_person_names(node.get("author")))
                if isinstance(node.get("inLanguage"), str) and not sig.ld_lang:
                    sig.ld_lang = node["inLanguage"]
    return sig


def _is_article_page(sig: _Signals) -> bool:
    return bool(
        (sig.ld_types and sig.ld_types & _ARTICLE_TYPES)
        or (sig.og_type or "").startswith("article")
        or sig.meta_dates
    )


# --------------------------------------------------------------------------------------------
# dates


def _now() -> datetime:
    return datetime.now(UTC)


_FULL_DATE = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4}|\d{4}/\d{1,2}/\d{1,2}|\d{8}|"
    r"\d{1,2}\s+[A-Za-z]{3,}\.?\s+\d{4}|[A-Za-z]{3,}\.?\s+\d{1,2},?\s+\d{4}"
)


def _parse_date(value: str | None) -> tuple[datetime, str] | None:
    """(UTC datetime, calendar day as written on the page) or None."""
    if not value:
        return None
    value = value.strip()
    if not _FULL_DATE.search(value):
        return None  # a bare year or month is not a publication date
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dateutil warns about unknown zone names ("IST")
        try:
            parsed = dateparser.isoparse(value)
        except (ValueError, OverflowError):
            try:
                parsed = dateparser.parse(value, fuzzy=False)
            except (ValueError, OverflowError, TypeError):
                return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    local_day = parsed.date().isoformat()
    try:
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    if parsed.year < 1995 or parsed > _now() + timedelta(days=1):
        return None
    return parsed, local_day


def _to_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _page_date(
    sig: _Signals, htmldate_day: str | None, url: str | None
) -> tuple[datetime, str] | None:
    """Publication time from the page: explicit article metadata (with its time) first,
    htmldate's day (markup, JSON, URL; no free-text guessing) otherwise."""
    raw = (sig.ld_dates or []) + (sig.meta_dates or [])
    explicit = [d for d in map(_parse_date, raw) if d]
    if explicit:
        return explicit[0]
    found = _parse_date(htmldate_day) if htmldate_day else None
    recent = found is not None and abs(found[0] - _now()) < timedelta(days=2)
    if found is not None and recent and not _url_has_day(url, found[0]):
        # htmldate read "today" from the page (news sites print the current date in their
        # header): only trust it when the URL itself carries that day
        return None
    return found


def _url_has_day(url: str | None, day: datetime) -> bool:
    if not url:
        return False
    path = unquote(url)
    y, m, d = day.year, day.month, day.day
    forms = (f"{y}/{m:02d}/{d:02d}", f"{y}/{m}/{d}", f"{y}-{m:02d}-{d:02d}", f"{y}{m:02d}{d:02d}")
    return any(form in path for form in forms)


def _guessed_date(tree: lxml_html.HtmlElement, url: str | None) -> tuple[datetime, str] | None:
    """htmldate's extensive (free-text) search, refused when it lands on the crawl day: news
    pages print today's date in their header, and htmldate falls back to it."""
    try:
        day = find_date(
            tree,
            extensive_search=True,
            original_date=True,
            url=url,
            max_date=(_now() + timedelta(days=1)).strftime("%Y-%m-%d"),
        )
    except Exception:  # htmldate is best effort
        logger.debug("htmldate failed", exc_info=True)
        return None
    parsed = _parse_date(day)
    if parsed is None or abs(parsed[0] - _now()) < timedelta(days=2):
        return None  # the crawl day, or a "today" printed in the page header
    if (parsed[0].month, parsed[0].day) == (1, 1):
        return None  # a bare year (copyright line, "2024" in a headline) read as January 1st
    return parsed


# --------------------------------------------------------------------------------------------
# titles and authors

_TITLE_SEPARATORS = re.compile(r"\s+(?:[|\-–—:·•»«/]|::)\s+")


def _site_tokens(sig: _Signals, sitename: str | None, url: str | None) -> set[str]:
    names = {n for n in (sig.site_name, sitename) if n}
    split = _split(url)
    host = split.hostname if split is not None else None
    if host:
        parts = [p for p in host.split(".") if p not in {"www", "m", "amp", "com", "net", "org"}]
        names.update(parts[:-1] or parts)
    return {_fold(n) for n in names if _fold(n)}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", "", text.casefold())


def clean_title(title: str | None, site: set[str], h1: str | None = None) -> str:
    if not title:
        return (h1 or "").strip()
    title = " ".join(title.split())
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) > 1:
        # drop leading/trailing segments naming the site
        while len(parts) > 1 and _is_site(parts[-1], site):
            parts.pop()
        while len(parts) > 1 and _is_site(parts[0], site):
            parts.pop(0)
        if len(parts) < len(_TITLE_SEPARATORS.split(title)):
            # rebuild with the original separators for the kept span
            kept = _rejoin(title, parts)
            title = kept or title
    if h1 and len(h1) >= 10 and title.startswith(h1) and len(title) - len(h1) < 40:
        title = h1
    return title.strip(" -|–—:")


def _rejoin(title: str, parts: list[str]) -> str:
    start = title.find(parts[0])
    end = title.rfind(parts[-1]) + len(parts[-1])
    return title[start:end] if start >= 0 and end > start else ""


def _is_site(segment: str, site: set[str]) -> bool:
    folded = _fold(segment)
    if not folded:
        return True
    if folded in site:
        return True
    return any(len(s) >= 4 and (folded.startswith(s) or s.startswith(folded)) for s in site if s)


_BYLINE_PREFIX = re.compile(
    r"^\s*(?:بقلم|كتبه|كتبت|كتب|إعداد|اعداد|إعداد وتقديم|حرره|حرر|تحرير|تقرير|متابعة|بواسطة|"
    r"par|by|written by|auteur|author|reportage de|propos recueillis par)"
    r"(?:\s*[:：\-–]\s*|\s+|$)",
    re.I,
)
_EMAIL = re.compile(r"\S+@\S+\.\S+")
_DATEISH = re.compile(
    r"(?:\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}|\d{1,2}:\d{2}|\b(?:19|20)\d{2}\b|"
    r"\b(?:le|on|the)\s+\d|\b(?:published|publié|updated|mis à jour|posted|modifié)\b|"
    r"(?:يناير|فبراير|مارس|أبريل|ابريل|مايو|يونيو|يوليو|أغسطس|اغسطس|سبتمبر|أكتوبر|اكتوبر|"
    r"نوفمبر|ديسمبر|الأحد|الاثنين|الإثنين|الثلاثاء|الأربعاء|الخميس|الجمعة|السبت)).*$",
    re.I,
)


_TRAILING_NUMBERS = re.compile(r"[\s\d\u0660-\u0669,:/|\-–—.]+$")


def clean_author(author: str | None) -> str | None:
    if not author:
        return None
    names: list[str] = []
    for part in re.split(r"\s*[;|\n]\s*", author):
        part = _EMAIL.sub(" ", part)
        part = _DATEISH.sub(" ", part)
        part = _TRAILING_NUMBERS.sub("", " ".join(part.split())).strip(" ,:-–—|/")
        for _ in range(2):
            part = _BYLINE_PREFIX.sub("", part).strip(" ,:-–—|/")
        if part.lower() in {"", "admin", "administrator", "redaction", "rédaction", "unknown"}:
            continue
        if len(part) > 80 or part.startswith(("http", "www.")):
            continue
        if part not in names:
            names.append(part)
    return "; ".join(names) or None


# --------------------------------------------------------------------------------------------
# body post-cleaning

_BOILERPLATE_LINE = re.compile(
    r"^\s*(?:"
    r"اقرأ أيضا|اقرأ أيضاً|إقرأ أيضا|إقرأ أيضاً|اقرأ ايضا|اقرا ايضا|اقرأ المزيد|إقرأ المزيد|"
    r"شارك|شارك المقال|شارك الخبر|تابعونا|تابعوا|تابعنا|للمزيد|المزيد من الأخبار|مواضيع ذات صلة|"
    r"أخبار ذات صلة|اخبار ذات صلة|ذات صلة|"
    r"lire aussi|à lire aussi|a lire aussi|lire également|à lire également|voir aussi|"
    r"partager|partagez|abonnez-vous|suivez-nous|"
    r"read more|read also|related|share this|share on|follow us|sign up|subscribe"
    r")\b.{0,120}$",
    re.I,
)
_SHARE_ONLY = re.compile(
    r"^\s*(?:facebook|twitter|x|whatsapp|linkedin|telegram|email|e-mail|print|imprimer|"
    r"فيسبوك|تويتر|واتساب|طباعة|[\W_]*)\s*$",
    re.I,
)


_BOILERPLATE_TOKEN = re.compile(
    r"(?:^|[\s_-])(?:cookies?|cookiebanner|consent|gdpr|didomi|onetrust|cmp|reactions?|"
    r"alertdialog|dialog)(?:$|[\s_-])",
    re.I,
)
_BOILERPLATE_MAX = 1500  # characters: a wrapper this long is not a banner
_BOILERPLATE_DEPTH = 5  # banners sit near the top of the tree: look no deeper (cost)


def _prune_boilerplate(tree: lxml_html.HtmlElement) -> None:
    """Drop consent banners, dialogs and reaction boxes before extraction: their text is not
    the article's and must not carry a near-empty page over the minimum length."""
    body = tree.find(".//body")
    stack = [(body, 0)] if body is not None else []
    while stack:
        parent, depth = stack.pop()
        for el in list(parent):
            if not isinstance(el.tag, str):
                continue
            marks = f"{el.get('class', '')} {el.get('id', '')} {el.get('role', '')}"
            if (
                el.tag not in {"main", "article"}
                and len(marks) > 2
                and _BOILERPLATE_TOKEN.search(marks)
                and len(el.text_content()) <= _BOILERPLATE_MAX
            ):
                el.drop_tree()
            elif depth < _BOILERPLATE_DEPTH:
                stack.append((el, depth + 1))


def _clean_body(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.replace("\r", "").split("\n")]
    kept: list[str] = []
    for line in lines:
        if not line:
            continue
        if len(line) < 200 and _BOILERPLATE_LINE.match(line):
            continue
        if _SHARE_ONLY.match(line):
            continue
        kept.append(line)
    return "\n\n".join(kept)


# --------------------------------------------------------------------------------------------
# listings and archives

_ARCHIVE_SEGMENTS = frozenset(
    {
        "tag",
        "tags",
        "category",
        "categories",
        "categorie",
        "catégorie",
        "author",
        "authors",
        "auteur",
        "auteurs",
        "writer",
        "writers",
        "journalist",
        "journaliste",
        "topic",
        "topics",
        "keyword",
        "keywords",
        "mot-cle",
        "mots-cles",
        "label",
        "search",
        "recherche",
        "وسم",
        "الوسم",
        "وسوم",
        "كتاب",
        "الكتاب",
        "كاتب",
        "تصنيف",
    }
)
_ARCHIVE_CLASSES = frozenset(
    {
        "archive", "archives", "archive-page", "tag", "tag-page", "tags", "category",
        "category-page", "tax", "taxonomy", "term-page", "author", "search", "search-results",
        "topic", "topic-page", "topics", "keyword", "mot-cle", "section-front", "listing",
    }
)  # fmt: skip
_ARCHIVE_HEADING = re.compile(
    r"^\s*(?:tags?|topics?|category|categories|archives?|keywords?|label|"
    r"mots?[- ]cl[ée]s?|th[èe]mes?|cat[ée]gorie|rubrique|"
    r"الوسم|وسم|الوسوم|كلمة مفتاحية|الكلمة المفتاحية|كلمات مفتاحية|أرشيف|الأرشيف|تصنيف|"
    r"التصنيف|موضوع)\s*[:：]",
    re.I,
)
_ARCHIVE_QUERY = re.compile(r"(?:^|&)(?:tag|cat|category|author|s|q|search)=", re.I)


def _archive_cue(url: str | None) -> str | None:
    if not url:
        return None
    parts = _split(url)
    if parts is None:
        return None
    segments = [unquote(s).lower() for s in parts.path.split("/") if s]
    for seg in segments[:-1] if len(segments) > 1 else segments:
        if seg in _ARCHIVE_SEGMENTS:
            return seg
    if segments and segments[-1] in _ARCHIVE_SEGMENTS:
        return segments[-1]
    if parts.query and _ARCHIVE_QUERY.search(parts.query):
        return parts.query
    return None


_SLUGGY = re.compile(r"(?:[^/]*[-_][^/]*[-_][^/]*[-_]|\d{4,})")
_ID_QUERY = re.compile(r"(?:^|&)[a-z_]*id=\d{3,}(?:&|$)", re.I)  # article.php?id=2318


def _join(base: str | None, href: str) -> str:
    try:
        return urljoin(base or "", href.strip())
    except ValueError:
        return href.strip()


def _split(url: str | None) -> Any:
    try:
        return urlsplit(url) if url else None
    except ValueError:
        return None


@dataclass
class _Links:
    count: int  # article-like links anywhere on the page
    texts: set[str]  # folded texts of those links
    teasers: int  # distinct targets shown as teaser blocks (headline + snippet)
    blocks: list[str]  # folded texts of those teaser blocks
    anchors: set[str]  # every link text of 4 characters or more (menus, share buttons)


_BLOCK_TAGS = frozenset({"li", "article", "div", "td", "tr", "section", "dl", "dd", "figure"})
_TEASER_MAX = 700  # characters: a block longer than this is a container, not one teaser


def _link_stats(
    tree: lxml_html.HtmlElement, url: str | None, titles: tuple[str | None, ...] = ()
) -> _Links:
    """Article-like links on the page, and the teaser blocks (a headline linked to another
    article followed by a short snippet: the unit of listings, tag and topic pages)."""
    base = _split(url)
    host = (base.hostname or "") if base is not None else ""
    here = (base.path.rstrip("/"), base.query) if base is not None else None
    own = {_fold(t) for t in titles if t}
    count = 0
    texts: set[str] = set()
    blocks: dict[str, str] = {}
    cache: dict[Any, str] = {}
    anchors: set[str] = set()
    for a in tree.iter("a"):
        text = " ".join(a.text_content().split())
        if len(text) >= 4:
            anchors.add(text)
        href = a.get("href") or ""
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        if len(text) < 15 or len(text.split()) < 3:
            continue
        target = _split(_join(url, href))
        if target is None:
            continue
        if host and target.hostname and not target.hostname.endswith(host.removeprefix("www.")):
            continue
        if not (_SLUGGY.search(unquote(target.path)) or _ID_QUERY.search(target.query)):
            continue
        count += 1
        folded = _fold(text)
        texts.add(folded)
        key = target.path.rstrip("/") + "?" + target.query
        if key in blocks or (target.path.rstrip("/"), target.query) == here:
            continue
        if folded in own:
            continue  # the page's own headline, linked to itself
        block = _teaser_block(a, text, key, url, cache)
        if block:
            blocks[key] = block
    return _Links(count, texts, len(blocks), list(blocks.values()), anchors)


def _teaser_block(
    a: Any, text: str, key: str, url: str | None, cache: dict[Any, str]
) -> str | None:
    """Folded text of the block around a headline link when the block is a teaser: it starts
    with the headline (give or take a short kicker), links to no other article, and adds a
    snippet of running text outside links."""
    el = a.getparent()
    for _ in range(4):
        if el is None or not isinstance(el.tag, str) or el.tag in {"body", "main", "html"}:
            return None
        if el.tag in _BLOCK_TAGS:
            if el not in cache:
                cache[el] = " ".join(el.text_content().split())
            full = cache[el]
            if len(full) > _TEASER_MAX:
                return None
            if len(full) - len(text) >= 40:
                if not 0 <= full.find(text) <= 40:
                    return None
                linked = 0
                for other in el.iter("a"):
                    other_text = " ".join(other.text_content().split())
                    linked += len(other_text)
                    target = _split(_join(url, other.get("href") or ""))
                    other_key = target.path.rstrip("/") + "?" + target.query if target else key
                    if len(other_text) >= 15 and other_key != key:
                        return None  # a second headline: a list, not one teaser
                return _fold(full) if len(full) - linked >= 40 else None
        el = el.getparent()
    return None


_ELLIPSIS = re.compile(r"(?:…|\.\s?\.\s?\.|\[\s*(?:…|\.\.\.)\s*\])[\s\W]{0,3}$")


def _linked_share(text: str, link_texts: set[str]) -> float:
    if not text or not link_texts:
        return 0.0
    total = linked = 0
    for para in text.split("\n\n"):
        n = len(para)
        total += n
        folded = _fold(para)
        if folded and (folded in link_texts or any(folded in t for t in link_texts if len(t) > 10)):
            linked += n
    return linked / total if total else 0.0


def _teaser_share(text: str, links: _Links) -> tuple[float, int]:
    """Share of the running text (paragraphs of 25 characters or more) that is a headline, a
    snippet cut short with an ellipsis, or the text of a teaser block; and the characters of
    running text left (prose)."""
    total = teaser = 0
    for para in text.split("\n\n"):
        n = len(para)
        if n < 25:
            continue  # labels (section names, h1) say nothing either way
        total += n
        if n <= _TEASER_MAX and _ELLIPSIS.search(para):
            teaser += n
            continue
        folded = _fold(para)
        if len(folded) >= 15 and (folded in links.texts or any(folded in b for b in links.blocks)):
            teaser += n
    return (teaser / total if total else 0.0), total - teaser


# --------------------------------------------------------------------------------------------
# language

_SENSIBLE_LANGS = (
    "ar", "fr", "en", "es", "de", "it", "pt", "nl", "tr", "fa", "ur", "he", "ru", "zh", "ja",
    "ko", "id", "sw", "pl", "sv", "da", "no", "fi", "cs", "ro", "el", "hi", "bn", "uk", "ca",
)  # fmt: skip
_ARABIC_CHAR = re.compile(r"[\u0600-\u06ff]")
_LATIN_CHAR = re.compile(r"[A-Za-z\u00c0-\u024f]")


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(_SENSIBLE_LANGS))
    return ident


def _lang_code(value: str | None) -> str | None:
    if not value:
        return None
    code = re.split(r"[-_]", value.strip().lower())[0]
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


def _language(declared: str | None, text: str, hint: str | None) -> str | None:
    sample = text[:3000]
    arabic = len(_ARABIC_CHAR.findall(sample))
    latin = len(_LATIN_CHAR.findall(sample))
    if declared:
        # templates keep lang="en" on Arabic pages and vice versa: check the script
        if declared in {"ar", "fa", "ur"} and (arabic or not latin):
            return declared
        if declared not in {"ar", "fa", "ur"} and (arabic < latin or arabic < 20):
            return declared
    if len(sample.strip()) < 40:
        return declared or hint
    if arabic > latin:
        return "ar" if not declared or declared not in {"fa", "ur"} else declared
    try:
        lang, prob = _identifier().classify(sample)
    except Exception:  # langid is best effort
        logger.debug("language identification failed", exc_info=True)
        return declared or hint
    if prob < 0.5 and hint:
        return hint
    return str(lang)


# --------------------------------------------------------------------------------------------
# main entry points


def _extractor(url: str | None, focus: str = _FAVOR) -> Extractor:
    date_params = {
        "original_date": True,
        "extensive_search": False,
        "max_date": (_now() + timedelta(days=1)).strftime("%Y-%m-%d"),
    }
    return Extractor(
        output_format="python",
        precision=focus == "precision",
        recall=focus == "recall",
        comments=False,
        tables=_INCLUDE_TABLES,
        dedup=_DEDUP,
        url=url,
        with_metadata=True,
        date_params=date_params,
    )


def _run_trafilatura(tree: lxml_html.HtmlElement, url: str | None, focus: str) -> Any:
    try:
        return bare_extraction(tree, options=_extractor(url, focus))
    except Exception as err:  # trafilatura bugs must not kill a crawl
        logger.warning("trafilatura failed on %s: %s", url, err)
        return None


def _resolve_url(sig: _Signals, url: str | None) -> str | None:
    for candidate in (sig.canonical, sig.og_url):
        if not candidate:
            continue
        resolved = _join(url, candidate)
        parts = _split(resolved)
        if parts is not None and parts.scheme in {"http", "https"} and parts.hostname:
            return resolved
    return url


def extract(
    html: str, url: str | None = None, hints: PageHints | None = None, min_chars: int = 200
) -> Extracted | Rejected:
    """Extract one article from decoded HTML, or say why the page is not one."""
    result, rejected, _ = _extract(html, url, hints, min_chars)
    if rejected is not None:
        return rejected
    assert result is not None
    return result


def _extract(
    html: str, url: str | None, hints: PageHints | None, min_chars: int
) -> tuple[Extracted | None, Rejected | None, str | None]:
    """What would be extracted, the rejection if any, and the publication day as written on
    the page (before conversion to UTC). The benchmark reports all three."""
    hints = hints or PageHints()
    if not isinstance(html, str) or not _looks_like_html(html):
        return None, Rejected("not_html", "no HTML markup found"), None
    try:
        tree = load_html(html)
    except Exception as err:  # lxml can fail on exotic input
        return None, Rejected("not_html", f"unparseable: {err}"), None
    if tree is None:
        return None, Rejected("not_html", "unparseable HTML"), None
    sig = _read_signals(tree)
    page_url = _resolve_url(sig, url)
    article = _is_article_page(sig)
    _prune_boilerplate(tree)

    doc = _run_trafilatura(tree, page_url or url, _FAVOR)
    text = _clean_body((doc.text if doc is not None else "") or "")
    if len(text) < _RETRY_BELOW and _FAVOR != "balanced":
        # precision mode can cut short articles to nothing: retry balanced, keep the longer
        retry = _run_trafilatura(tree, page_url or url, "balanced")
        retry_text = _clean_body((retry.text if retry is not None else "") or "")
        if len(retry_text) > len(text) * _RETRY_RATIO or len(text) < min_chars:
            doc, text = retry, retry_text

    links = _link_stats(tree, page_url or url, (sig.h1, sig.og_title))
    headings = (doc.title,) if doc is not None else ()
    rejected = _rejection(sig, article, url, page_url, text, links, min_chars, headings)

    site = _site_tokens(sig, doc.sitename if doc else None, page_url or url)
    title = clean_title((doc.title if doc else None) or sig.og_title, site, sig.h1)
    if not title and hints.feed_title:
        title = hints.feed_title.strip()

    authors = (doc.author if doc else None) or "; ".join(sig.ld_authors or []) or None
    dated = _page_date(sig, doc.date if doc else None, page_url or url)
    if dated is None and _EXTENSIVE_DATES and not (sig.ld_dates or sig.meta_dates):
        dated = _guessed_date(tree, page_url or url)
    published, local_day = dated if dated else (None, None)
    source: str | None = "page" if published else None
    if published is None and hints.feed_date is not None:
        published, source = _to_utc(hints.feed_date), "feed"
    if published is None and hints.sitemap_date is not None:
        published, source = _to_utc(hints.sitemap_date), "sitemap"

    declared = _lang_code(sig.html_lang) or _lang_code(sig.ld_lang)
    language = _language(declared, text, _lang_code(hints.source_lang))

    result = Extracted(
        url=page_url,
        title=title,
        text=text,
        author=clean_author(authors),
        published=published,
        date_source=source,
        language=language,
        description=(doc.description if doc else None) or None,
        image=_join(page_url, doc.image) if doc and doc.image else None,
        categories=tuple(doc.categories or ()) if doc else (),
        tags=tuple(doc.tags or ()) if doc else (),
    )
    return result, rejected, local_day


def _rejection(
    sig: _Signals,
    article: bool,
    url: str | None,
    page_url: str | None,
    text: str,
    links: _Links,
    min_chars: int,
    headings: tuple[str | None, ...] = (),
) -> Rejected | None:
    n_links = links.count
    share = _linked_share(text, links.texts)
    cue = _archive_cue(page_url) or _archive_cue(url)
    archive_type = bool(sig.ld_types and sig.ld_types & _ARCHIVE_TYPES and not article)
    if sig.og_type == "profile" and not article:
        return Rejected("tag_page", "og:type profile (author page)")
    if (cue or archive_type) and not (article and len(text) >= min_chars and share < 0.5):
        return Rejected("tag_page", f"archive page ({cue or 'CollectionPage'}), {n_links} links")
    if n_links >= _LISTING_MIN_LINKS and share >= _LISTING_LINK_SHARE:
        return Rejected("listing", f"{n_links} article links, {share:.0%} of the text is headlines")
    if text.strip():
        found = _teaser_rejection(sig, article, links, text, min_chars)
        if found is not None:
            return found
    if not text.strip():
        return Rejected("no_content", "no main text found")
    if len(text) < min_chars:
        return Rejected("too_short", f"{len(text)} characters < {min_chars}")
    if len(text) < _RUNNING_CHECK * min_chars:
        running = _running_length(text, (*headings, sig.h1, sig.og_title), links.anchors)
        if running < min_chars:
            return Rejected(
                "too_short", f"{running} characters of running text < {min_chars} ({len(text)})"
            )
    return None


def _running_length(text: str, headings: tuple[str | None, ...], anchors: set[str]) -> int:
    """Length of the text without repeats of the headline and without link texts (kickers,
    share buttons): a caption under a headline is not an article. The standfirst counts: on
    short news it is often the whole article."""
    rest = text
    for piece in sorted({*(" ".join(h.split()) for h in headings if h), *anchors}, key=len)[::-1]:
        if len(piece) >= 4 and piece in rest:
            rest = rest.replace(piece, " ")
    return len(" ".join(rest.split()))


def _archive_marks(sig: _Signals) -> list[str]:
    marks = sorted(sig.page_classes & _ARCHIVE_CLASSES)
    if sig.h1 and _ARCHIVE_HEADING.match(sig.h1):
        marks.append("heading " + sig.h1.split(":")[0].strip())
    if sig.og_type in {"website", "object"}:
        marks.append(f"og:type {sig.og_type}")
    return marks


def _teaser_rejection(
    sig: _Signals, article: bool, links: _Links, text: str, min_chars: int
) -> Rejected | None:
    """Listings and tag/topic pages that reuse the article URL pattern: the text is mostly
    teasers (headline + snippet cut short) rather than running prose. The more the page says
    it is not an article (archive classes, an archive heading, og:type website, no article
    type or date), the less teaser evidence is needed; prose outside teasers always vetoes."""
    share, prose = _teaser_share(text, links)
    detail = f"{links.teasers} teaser blocks, {share:.0%} of the text is teasers"
    if article:
        # declared an article (type or date): only a page with hardly any prose of its own
        if links.teasers >= _TEASER_LISTING and share >= 0.8 and prose < min_chars:
            return Rejected("listing", detail)
        return None
    marks = _archive_marks(sig)
    strong = [m for m in marks if not m.startswith("og:type")]
    kind = "listing" if links.teasers >= _TEASER_LISTING else "tag_page"
    cues = ", ".join(marks) or "no article metadata"
    if strong and (share >= 0.3 or links.teasers >= 3) and prose < 5 * min_chars:
        return Rejected(kind, f"{cues}; {detail}")
    if (
        links.teasers >= 2
        and share >= (0.4 if marks else 0.5)
        and prose < _RUNNING_CHECK * min_chars
    ):
        return Rejected("listing", f"{cues}; {detail}")
    return None


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
