"""Is a page an article? The rejection heuristics for listings, tag/author pages and stubs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from lxml import html as lxml_html

from crawler.extract.meta import fold
from crawler.extract.signals import PageSignals
from crawler.extract.urls import join_url, split_url


@dataclass(frozen=True)
class Rejected:
    reason: str  # "not_html" | "listing" | "tag_page" | "too_short" | "no_content"
    detail: str


# tuning knobs (measured on the extraction dev set with bench/extraction_eval.py)
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


def looks_like_html(html: str) -> bool:
    head = html[:4096].lstrip("\ufeff \t\r\n")
    if not head:
        return False
    if head.startswith(("{", "[", "%PDF", "GIF8", "\x89PNG")):
        return False
    if head.startswith("<?xml") and any(t in head for t in ("<rss", "<feed", "<urlset", "<sitem")):
        return False
    return bool(_MARKUP.search(html[:65536]))


# --------------------------------------------------------------------------------------------
# listings and archives

_ARCHIVE_TYPES = frozenset({"collectionpage", "profilepage", "searchresultspage", "itemlist"})
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
    parts = split_url(url)
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


@dataclass
class Links:
    count: int  # article-like links anywhere on the page
    texts: set[str]  # folded texts of those links
    teasers: int  # distinct targets shown as teaser blocks (headline + snippet)
    blocks: list[str]  # folded texts of those teaser blocks
    anchors: set[str]  # every link text of 4 characters or more (menus, share buttons)


_BLOCK_TAGS = frozenset({"li", "article", "div", "td", "tr", "section", "dl", "dd", "figure"})
_TEASER_MAX = 700  # characters: a block longer than this is a container, not one teaser


def link_stats(
    tree: lxml_html.HtmlElement, url: str | None, titles: tuple[str | None, ...] = ()
) -> Links:
    """Article-like links on the page, and the teaser blocks (a headline linked to another
    article followed by a short snippet: the unit of listings, tag and topic pages)."""
    base = split_url(url)
    host = (base.hostname or "") if base is not None else ""
    domain = host.removeprefix("www.")
    here = (base.path.rstrip("/"), base.query) if base is not None else None
    own = {fold(t) for t in titles if t}
    page = _Page(url)
    count = 0
    texts: set[str] = set()
    blocks: dict[str, str] = {}
    anchors: set[str] = set()
    for a in tree.iter("a"):
        text = page.text(a)
        if len(text) >= 4:
            anchors.add(text)
        href = a.get("href") or ""
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        if len(text) < 15 or len(text.split()) < 3:
            continue
        target = page.target(href)
        if target is None:
            continue
        hostname = target.hostname
        if host and hostname and not hostname.endswith(domain):
            continue
        if not (_SLUGGY.search(unquote(target.path)) or _ID_QUERY.search(target.query)):
            continue
        count += 1
        folded = fold(text)
        texts.add(folded)
        path = target.path.rstrip("/")
        key = path + "?" + target.query
        if key in blocks or (path, target.query) == here:
            continue
        if folded in own:
            continue  # the page's own headline, linked to itself
        block = _teaser_block(a, text, key, page)
        if block:
            blocks[key] = block
    return Links(count, texts, len(blocks), list(blocks.values()), anchors)


class _Page:
    """Element texts and link targets of one page, each worked out once: teaser blocks read
    the links and blocks the page-wide pass has already read."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.texts: dict[Any, str] = {}
        self.targets: dict[str, Any] = {}

    def text(self, el: Any) -> str:
        text = self.texts.get(el)
        if text is None:
            # an element holding text only: its .text, without text_content()'s XPath call
            raw = el.text_content() if len(el) else el.text or ""
            text = self.texts[el] = " ".join(raw.split())
        return text

    def target(self, href: str) -> Any:
        if href not in self.targets:
            self.targets[href] = split_url(join_url(self.url, href))
        return self.targets[href]


def _teaser_block(a: Any, text: str, key: str, page: _Page) -> str | None:
    """Folded text of the block around a headline link when the block is a teaser: it starts
    with the headline (give or take a short kicker), links to no other article, and adds a
    snippet of running text outside links."""
    el = a.getparent()
    for _ in range(4):
        if el is None or not isinstance(el.tag, str) or el.tag in {"body", "main", "html"}:
            return None
        if el.tag in _BLOCK_TAGS:
            full = page.text(el)
            if len(full) > _TEASER_MAX:
                return None
            if len(full) - len(text) >= 40:
                if not 0 <= full.find(text) <= 40:
                    return None
                linked = 0
                for other in el.iter("a"):
                    other_text = page.text(other)
                    linked += len(other_text)
                    target = page.target(other.get("href") or "")
                    other_key = target.path.rstrip("/") + "?" + target.query if target else key
                    if len(other_text) >= 15 and other_key != key:
                        return None  # a second headline: a list, not one teaser
                return fold(full) if len(full) - linked >= 40 else None
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
        folded = fold(para)
        if folded and (folded in link_texts or any(folded in t for t in link_texts if len(t) > 10)):
            linked += n
    return linked / total if total else 0.0


def _teaser_share(text: str, links: Links) -> tuple[float, int]:
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
        folded = fold(para)
        if len(folded) >= 15 and (folded in links.texts or any(folded in b for b in links.blocks)):
            teaser += n
    return (teaser / total if total else 0.0), total - teaser


# --------------------------------------------------------------------------------------------
# the verdict


def rejection(
    sig: PageSignals,
    article: bool,
    url: str | None,
    page_url: str | None,
    text: str,
    links: Links,
    min_chars: int,
    headings: tuple[str | None, ...] = (),
) -> Rejected | None:
    n_links = links.count
    share = _linked_share(text, links.texts)
    cue = _archive_cue(page_url) or _archive_cue(url)
    archive_type = bool(sig.ld_types & _ARCHIVE_TYPES and not article)
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


def _archive_marks(sig: PageSignals) -> list[str]:
    marks = sorted(sig.page_classes & _ARCHIVE_CLASSES)
    if sig.h1 and _ARCHIVE_HEADING.match(sig.h1):
        marks.append("heading " + sig.h1.split(":")[0].strip())
    if sig.og_type in {"website", "object"}:
        marks.append(f"og:type {sig.og_type}")
    return marks


def _teaser_rejection(
    sig: PageSignals, article: bool, links: Links, text: str, min_chars: int
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
