"""Load the sample site's content (outlets, articles, traps) from the TOML files in ``data/``.

The content is the project's own fictional writing; only the reference article
(the seed, ``atlas-ar`` id 100001) is a republication of a real wire story.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
OUTLET_KEYS = ("atlas-ar", "sahil-ar", "gazette-fr", "ledger-en")
DISCOVERY = frozenset({"feed", "sitemap", "section"})
ENCODING_MODES = ("header", "meta", "none", "iso-8859-6")
TRAP_KINDS = frozenset(
    {
        "server_error",
        "garbage",
        "not_found",
        "redirect",
        "listing",
        "tag_page",
        "too_short",
        "private",
        "utm_variant",
        "amp_variant",
    }
)


@dataclass(frozen=True)
class Section:
    key: str
    label: str


@dataclass(frozen=True)
class Article:
    outlet: str
    id: int
    path: str  # unquoted path (+ query) on the outlet's server
    title: str
    section: str
    date: datetime  # publication date (aware); always in feeds/sitemaps
    author: str
    paragraphs: tuple[str, ...]
    summary: str
    via: frozenset[str]  # discovery paths that list this article
    page_date: bool  # False: no date anywhere in the HTML page
    tags: tuple[str, ...]
    group: str | None  # syndication group (same wire body on several outlets)
    encoding: str  # one of ENCODING_MODES (only varies on the windows-1256 outlet)

    @property
    def words(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)


@dataclass(frozen=True)
class Trap:
    outlet: str
    kind: str  # one of TRAP_KINDS
    path: str  # unquoted path (+ query)
    linked_from: str  # "feed" | "sitemap" | "section"
    title: str = ""
    paragraphs: tuple[str, ...] = ()
    target: int | None = None  # article id for redirect / utm / amp variants
    section: str | None = None


@dataclass(frozen=True)
class Outlet:
    key: str
    name: str
    lang: str
    country: str | None
    template: str  # template directory
    charset: str  # Python codec for pages
    discovery: frozenset[str]
    per_page: int
    section_path: str  # format with key=
    section_page_path: str  # format with key=, n=
    tag_path: str  # format with slug=, n=
    sections: tuple[Section, ...]
    articles: tuple[Article, ...]
    traps: tuple[Trap, ...]
    comments: tuple[str, ...]
    offsite: str  # an off-site link every page carries (must not be followed)
    files: dict  # feed / sitemap paths served by this outlet
    source: dict  # sources.toml fields, URLs as paths

    def article(self, article_id: int) -> Article:
        for item in self.articles:
            if item.id == article_id:
                return item
        raise KeyError(f"{self.key}: no article {article_id}")


def slugify(text: str, max_words: int = 8) -> str:
    """URL slug: ASCII for Latin text (accents stripped), Arabic letters kept for Arabic text."""
    latin = unicodedata.normalize("NFKD", text)
    if not any("\u0600" <= ch <= "\u06ff" for ch in text):
        text = "".join(ch for ch in latin if not unicodedata.combining(ch))
    words = re.findall(r"[^\W_]+", text.lower())
    return "-".join(words[:max_words])


def _paragraphs(body: str) -> tuple[str, ...]:
    return tuple(" ".join(p.split()) for p in re.split(r"\n\s*\n", body.strip()) if p.strip())


def _article(outlet: str, raw: dict, fmt: str, default_via: frozenset[str], wires: dict) -> Article:
    if "wire" in raw:
        wire = _paragraphs(wires[raw["wire"]]["body"])
        paragraphs = (f"{raw['dateline']} {wire[0]}", *wire[1:])
        if raw.get("boilerplate"):
            paragraphs = (*paragraphs, raw["boilerplate"])
    else:
        paragraphs = _paragraphs(raw["body"])
    path = fmt.format(id=raw["id"], slug=slugify(raw["title"]), section=raw["section"])
    return Article(
        outlet=outlet,
        id=raw["id"],
        path=path,
        title=raw["title"],
        section=raw["section"],
        date=raw["date"],
        author=raw["author"],
        paragraphs=paragraphs,
        summary=raw.get("summary") or paragraphs[0].split(".")[0][:220],
        via=frozenset(raw.get("via", default_via)),
        page_date=raw.get("page_date", True),
        tags=tuple(raw.get("tags", ())),
        group=raw.get("wire"),
        encoding=raw.get("encoding", "header"),
    )


def _check(outlet: Outlet) -> None:
    ids = [a.id for a in outlet.articles]
    assert len(ids) == len(set(ids)), f"{outlet.key}: duplicate article ids"
    section_keys = {s.key for s in outlet.sections}
    for a in outlet.articles:
        where = f"{outlet.key}/{a.id}"
        assert a.via and a.via <= outlet.discovery, f"{where}: via {set(a.via)}"
        assert a.page_date or a.via & {"feed", "sitemap"}, f"{where}: undated, not in feed/sitemap"
        assert a.section in section_keys, f"{where}: section {a.section}"
        assert a.encoding in ENCODING_MODES, f"{where}: encoding {a.encoding}"
    for t in outlet.traps:
        assert t.kind in TRAP_KINDS, f"{outlet.key}: trap kind {t.kind}"
        assert t.linked_from in outlet.discovery, f"{outlet.key}: trap {t.path} linked from"


@cache
def load_outlet(key: str) -> Outlet:
    wires = tomllib.loads((DATA_DIR / "wire.toml").read_text("utf-8"))
    raw = tomllib.loads((DATA_DIR / f"{key}.toml").read_text("utf-8"))
    meta = raw["outlet"]
    discovery = frozenset(meta["discovery"])
    articles = tuple(
        _article(key, item, meta["article_path"], discovery, wires) for item in raw["article"]
    )
    traps = tuple(
        Trap(
            outlet=key,
            kind=t["kind"],
            path=t["path"],
            linked_from=t["linked_from"],
            title=t.get("title", ""),
            paragraphs=_paragraphs(t.get("body", "")),
            target=t.get("target"),
            section=t.get("section"),
        )
        for t in raw.get("trap", ())
    )
    outlet = Outlet(
        key=key,
        name=meta["name"],
        lang=meta["lang"],
        country=meta.get("country"),
        template=meta["template"],
        charset=meta["charset"],
        discovery=discovery,
        per_page=meta["per_page"],
        section_path=meta["section_path"],
        section_page_path=meta["section_page_path"],
        tag_path=meta["tag_path"],
        sections=tuple(Section(s["key"], s["label"]) for s in raw["section"]),
        articles=articles,
        traps=traps,
        comments=tuple(meta.get("comments", ())),
        offsite=meta["offsite"],
        files=raw["files"],
        source=raw["source"],
    )
    _check(outlet)
    return outlet


def load_outlets() -> tuple[Outlet, ...]:
    return tuple(load_outlet(key) for key in OUTLET_KEYS)
