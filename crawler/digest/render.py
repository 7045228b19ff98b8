"""Render a digest (HTML e-mail, plain text, Markdown, JSON). Pure: no database.

Every crawled string reaches HTML through Jinja2 autoescaping (templates in
``crawler/digest/templates/``); Markdown output escapes its own metacharacters; plain text
wraps right-to-left values in Unicode isolates (:func:`crawler.text.bidi.isolate`) so an
Arabic title after a Latin outlet name keeps its word order. The subject line is a template
of ``alerts.toml``, rendered by :mod:`crawler.config.subject` from :func:`subject_context`.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from crawler.text.bidi import RTL_LANGS, clean_line, direction, isolate, strip_controls
from crawler.text.tokens import TOKEN_RE, term_keys, token_key

EXCERPT_CHARS = 240

LABELS: dict[str, dict[str, str]] = {
    "en": {"digest": "Digest", "stories": "stories", "carried": "Carried by {n} outlets",
           "topics": "Topics", "empty": "No new matches.", "generated": "Generated",
           "footer": "Sent by Marsad for the alert rule", "more": "Read"},
    "fr": {"digest": "Revue", "stories": "sujets", "carried": "Repris par {n} médias",
           "topics": "Thèmes", "empty": "Aucun nouvel article.", "generated": "Générée le",
           "footer": "Envoyé par Marsad pour la règle d'alerte", "more": "Lire"},
    "ar": {"digest": "نشرة", "stories": "مواضيع", "carried": "نشرته {n} منابر",
           "topics": "المواضيع", "empty": "لا جديد.", "generated": "أُعدّت في",
           "footer": "أرسلها مرصد لقاعدة التنبيه", "more": "اقرأ"},
}  # fmt: skip


@dataclass
class Segment:
    text: str
    hl: bool = False


@dataclass
class DigestItem:
    title: str
    url: str
    outlet: str  # display name of the canonical copy's outlet
    published: str | None  # local date-time text
    lang: str | None
    excerpt: list[Segment]
    topics: list[str]  # labels
    outlets: list[str]  # every outlet carrying the story (display names), first seen first
    article_ids: list[int]
    story_id: int | None = None
    score: float = 0.0

    @property
    def dir(self) -> str:
        return direction(self.title, self.lang)


@dataclass
class DigestSection:
    topic: str
    label: str
    items: list[DigestItem] = field(default_factory=list)


@dataclass
class Digest:
    rule: str  # key
    name: str
    lang: str  # language of labels
    generated: str  # local time text
    timezone: str
    sections: list[DigestSection]

    @property
    def items(self) -> list[DigestItem]:
        return [item for section in self.sections for item in section.items]

    @property
    def dir(self) -> str:
        return "rtl" if self.lang in RTL_LANGS else "ltr"

    @property
    def labels(self) -> dict[str, str]:
        return LABELS.get(self.lang, LABELS["en"])


# --------------------------------------------------------------------------- excerpts


def highlight(snippet: str, terms: list[str], limit: int = EXCERPT_CHARS) -> list[Segment]:
    """Split *snippet* into segments, marking tokens that match one of the configured *terms*.

    Matching mirrors the tagger loosely: a token is marked when its matching form equals a
    term key or contains one of at least three letters (Arabic clitics, plurals).
    """
    snippet = clean_line(snippet)
    if len(snippet) > limit:
        cut = snippet.rfind(" ", 0, limit)
        snippet = snippet[: cut if cut > limit // 2 else limit] + " …"
    keys = {k for term in terms for k in term_keys(term)}
    segments: list[Segment] = []
    pos = 0
    for match in TOKEN_RE.finditer(snippet):
        key = token_key(match.group())
        hit = key in keys or any(len(k) >= 3 and k in key for k in keys)
        if not hit:
            continue
        if match.start() > pos:
            segments.append(Segment(snippet[pos : match.start()]))
        segments.append(Segment(match.group(), True))
        pos = match.end()
    if pos < len(snippet):
        segments.append(Segment(snippet[pos:]))
    return _merge(segments)


def _merge(segments: list[Segment]) -> list[Segment]:
    """Join a highlight, a lone space and the next highlight, so phrases are one mark."""
    out: list[Segment] = []
    for seg in segments:
        if seg.hl and len(out) >= 2 and out[-2].hl and not out[-1].hl and out[-1].text.isspace():
            space = out.pop()
            out[-1] = Segment(out[-1].text + space.text + seg.text, True)
        else:
            out.append(seg)
    return out


# --------------------------------------------------------------------------- rendering


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("crawler.digest", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["isolate"] = isolate
    env.filters["md"] = md_escape
    env.filters["clean"] = clean_line
    return env


def subject_context(digest: Digest) -> dict[str, Any]:
    items = digest.items
    return {
        "rule": digest.name,
        "key": digest.rule,
        "count": len(items),
        "articles": sum(len(item.article_ids) for item in items),
        "date": digest.generated.split(" ")[0],
        "topics": ", ".join(s.label for s in digest.sections if s.items),
        "first_title": clean_line(items[0].title) if items else "",
    }


def render_html(digest: Digest) -> str:
    return _env().get_template("digest.html").render(d=digest)


def render_text(digest: Digest) -> str:
    return _env().get_template("digest.txt").render(d=digest)


def render_markdown(digest: Digest) -> str:
    return _env().get_template("digest.md").render(d=digest)


def render_json(digest: Digest) -> str:
    data = asdict(digest)
    for section in data["sections"]:
        for item in section["items"]:
            item["highlights"] = [seg["text"] for seg in item["excerpt"] if seg["hl"]]
            item["excerpt"] = "".join(seg["text"] for seg in item["excerpt"])
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


# The characters crawler.text.bidi.clean_line removes, without joining lines: Markdown keeps
# the spacing and line breaks of the value.
def md_escape(value: Any) -> str:
    """Markdown-safe text: metacharacters backslash-escaped, control characters dropped."""
    return _MD_SPECIAL.sub(r"\\\1", strip_controls(str(value)))


def local_time(value: datetime | None, tz: Any) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
