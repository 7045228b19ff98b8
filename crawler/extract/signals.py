"""What a parsed page says about itself: meta tags, JSON-LD, canonical link, h1, page classes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from lxml import html as lxml_html

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


@dataclass
class PageSignals:
    canonical: str | None = None
    og_url: str | None = None
    html_lang: str | None = None
    og_type: str | None = None
    og_title: str | None = None
    title: str | None = None  # the <title> element
    site_name: str | None = None
    h1: str | None = None
    meta_dates: list[str] = field(default_factory=list)
    ld_dates: list[str] = field(default_factory=list)
    ld_types: set[str] = field(default_factory=set)
    ld_authors: list[str] = field(default_factory=list)
    ld_lang: str | None = None
    page_classes: frozenset[str] = frozenset()
    # the article's date as printed for readers ("الأحد 1 ديسمبر 2024 - 02:00 م", "il y a 3
    # heures") and the datetime attributes of <time> elements, in page order, bounded
    date_lines: list[str] = field(default_factory=list)
    time_values: list[str] = field(default_factory=list)


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


def read_signals(tree: lxml_html.HtmlElement) -> PageSignals:
    sig = PageSignals()
    root = tree.getroottree().getroot()
    lang = (
        root.get("lang")
        or root.get("xml:lang")
        or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    )
    sig.html_lang = lang
    found = _by_tag(tree)
    dated: list[tuple[int, str]] = []
    for meta in found["meta"]:
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
    holders, published = _marked(tree)
    for el in published:
        value = el.get("content") or el.get("datetime")
        if value:
            dated.append((len(_PUBLISHED_META), value.strip()))
            break  # the first one; later ones are often citations or related items
    sig.meta_dates = [v for _, v in sorted(dated, key=lambda t: t[0])]
    for link in found["link"]:
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            sig.canonical = link.get("href", "").strip()
            break
    classes: list[str] = []
    for el in found["body"][:1] + found["main"][:1]:
        classes.extend((el.get("class") or "").lower().split())
    sig.page_classes = frozenset(classes)
    for title in found["title"][:1]:
        sig.title = " ".join((title.text_content() or "").split())[:1000] or None
    for h1 in found["h1"][:1]:
        sig.h1 = " ".join(h1.text_content().split()) or None
    _read_date_lines(holders, sig)
    for script in found["script"]:
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


_DATE_HOLDER = re.compile(r"date|time|publi|posted|byline|تاريخ", re.I)
_NOT_PUBLISHED = re.compile(
    r"updat|modif|today|current|header-?date|top-?bar|clock|weather|widget|timer|live|comment", re.I
)
_OUTSIDE_ARTICLE = frozenset({"nav", "aside"})
MAX_DATE_LINES = 12
MAX_DATE_LINE_CHARS = 120


_SITE_BLOCK = re.compile(r"site|masthead|global|banner|top|nav|menu", re.I)


def _outside_article(el: lxml_html.HtmlElement) -> bool:
    """In the site's navigation or sidebar, or in the site's own header or footer (where sites
    print today's date): one outside any article that holds a menu or says it is the site's.
    An article's own header and footer hold its date."""
    if next(el.iterancestors(*_OUTSIDE_ARTICLE), None) is not None:
        return True
    if next(el.iterancestors("article", "main"), None) is not None:
        return False
    return any(_is_site_block(a) for a in el.iterancestors("header", "footer"))


def _is_site_block(block: lxml_html.HtmlElement) -> bool:
    marks = " ".join(block.get(k) or "" for k in ("class", "id", "role"))
    return bool(_SITE_BLOCK.search(marks)) or block.find(".//nav") is not None


# attribute values come back as strings: only the elements they select become Python objects
_MARKS = etree.XPath(
    "descendant-or-self::time | descendant-or-self::*/@class | descendant-or-self::*/@id"
    " | descendant-or-self::*/@itemprop"
)


def _marked(
    tree: lxml_html.HtmlElement,
) -> tuple[list[lxml_html.HtmlElement], list[lxml_html.HtmlElement]]:
    """In page order, the <time> elements and those whose class, id or itemprop names a date
    (a superset of the date holders: no mark matches across the space joining them), and the
    elements below *tree* with itemprop="datePublished"."""
    holders: list[lxml_html.HtmlElement] = []
    published: list[lxml_html.HtmlElement] = []
    items: Any = _MARKS(tree)
    for item in items:
        if isinstance(item, etree._Element):
            el = item  # a <time>
        else:  # an attribute value, which knows its element
            if not _DATE_HOLDER.search(item):  # "datePublished" matches
                continue
            el = item.getparent()
            if item == "datePublished" and item.attrname == "itemprop" and el is not tree:
                published.append(el)
        if not holders or holders[-1] is not el:
            holders.append(el)
    return holders, published


def _read_date_lines(holders: list[lxml_html.HtmlElement], sig: PageSignals) -> None:
    for el in holders:
        if len(sig.date_lines) >= MAX_DATE_LINES and len(sig.time_values) >= MAX_DATE_LINES:
            return
        marks = " ".join(el.get(k) or "" for k in ("class", "id", "itemprop"))
        is_time = el.tag == "time"
        if not is_time and not _DATE_HOLDER.search(marks):
            continue
        if _NOT_PUBLISHED.search(marks) or _outside_article(el):
            continue
        if is_time and el.get("datetime") and len(sig.time_values) < MAX_DATE_LINES:
            sig.time_values.append(el.get("datetime", "").strip()[:MAX_DATE_LINE_CHARS])
        text = _short_text(el, MAX_DATE_LINE_CHARS)
        if text and len(text) >= 6 and len(sig.date_lines) < MAX_DATE_LINES:
            sig.date_lines.append(text)


def _short_text(el: lxml_html.HtmlElement, limit: int) -> str | None:
    """The element's text, or None when longer than *limit* (read lazily: a container holding
    the whole article costs no more than its first pieces)."""
    pieces: list[str] = []
    length = 0
    for piece in el.itertext():
        pieces.append(piece)
        length += len(piece)
        if length > 3 * limit:
            return None
    text = " ".join("".join(pieces).split())
    return text if len(text) <= limit else None


_READ_TAGS = ("meta", "link", "body", "main", "title", "h1", "script")


def _by_tag(tree: lxml_html.HtmlElement) -> dict[str, list[lxml_html.HtmlElement]]:
    """The elements read_signals reads, by tag and in page order, from one walk of the tree:
    its descendants, and *tree* itself for <meta> as tree.iter gives it."""
    found: dict[str, list[lxml_html.HtmlElement]] = {tag: [] for tag in _READ_TAGS}
    for el in tree.iter(*_READ_TAGS):
        if el is not tree or el.tag == "meta":
            found[el.tag].append(el)
    return found


def is_article_page(sig: PageSignals) -> bool:
    return bool(
        sig.ld_types & _ARTICLE_TYPES or (sig.og_type or "").startswith("article") or sig.meta_dates
    )
