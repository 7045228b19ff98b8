"""/articles/<id>: one article's original text (its own direction), its tags with their evidence
highlighted in the text, its versions with a word-level diff, links to the original URL and to
the raw page; /articles/<id>/raw: the page as fetched, served as plain text, never as HTML."""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from crawler.search import article_detail
from crawler.search.detail import article_versions, raw_page
from crawler.tagging import Tagger
from crawler.text.tokens import TOKEN_RE
from crawler.web.pages._format import local_when, outlet_names, utc_when
from crawler.web.params import NotFound, id_param
from crawler.web.render import render
from crawler.web.state import context

#: words (and the spaces between them) compared by a diff; past this the rest is not compared
MAX_DIFF_TOKENS = 20_000
#: an unchanged stretch longer than this is shown by its ends only
KEEP_UNCHANGED = 600
UNCHANGED_CONTEXT = 200
#: diffs shown: the latest changes (every version is listed)
MAX_DIFFS = 5


# --------------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class Segment:
    """A stretch of a field's original text; *labels* ("topic: term") when evidence covers it."""

    text: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    label: str


def _term_tokens(term: str) -> int:
    return max(1, len(TOKEN_RE.findall(term)))


def _place(
    text: str, tokens: Sequence[tuple[int, int]], ev: Mapping[str, Any]
) -> tuple[int, int] | None:
    """Where stored evidence sits in *text*: its token position and the term's length, checked
    against its snippet (a text that changed since tagging moves the words)."""
    position, term = ev.get("position"), str(ev.get("term") or "")
    if not isinstance(position, int) or position < 0 or not term:
        return None
    last = position + _term_tokens(term) - 1
    if last >= len(tokens):
        return None
    start, end = tokens[position][0], tokens[last][1]
    if " ".join(text[start:end].split()) not in str(ev.get("snippet") or ""):
        return None
    return start, end


def segments(text: str, spans: Iterable[_Span]) -> list[Segment]:
    """*text* cut into plain and highlighted segments (overlapping spans merge their labels)."""
    spans = [s for s in spans if 0 <= s.start < s.end <= len(text)]
    cuts = sorted({0, len(text), *(s.start for s in spans), *(s.end for s in spans)})
    out: list[Segment] = []
    for left, right in pairwise(cuts):
        labels = tuple(dict.fromkeys(s.label for s in spans if s.start <= left and right <= s.end))
        if out and out[-1].labels == labels:
            out[-1] = Segment(out[-1].text + text[left:right], labels)
        else:
            out.append(Segment(text[left:right], labels))
    return out


@dataclass(frozen=True)
class Highlighted:
    title: list[Segment]
    text: list[Segment]
    retagged: bool  # the spans come from re-tagging the stored text with today's topics
    unplaced: int  # evidence that could not be placed in the text at all
    #: id() of each placed stored evidence dict -> the words it matched (as its snippet has them)
    matched: Mapping[int, str] = dataclasses.field(default_factory=dict)

    def snippet(self, ev: Mapping[str, Any]) -> list[Segment]:
        """A stored evidence's snippet with the words it matched marked (when it was placed)."""
        snippet = str(ev.get("snippet") or "")
        words = self.matched.get(id(ev), "")
        at = snippet.find(words) if words else -1
        if at < 0:
            return [Segment(snippet)]
        return segments(snippet, [_Span(at, at + len(words), str(ev.get("term") or ""))])


def highlight(
    title: str,
    text: str,
    tags: Sequence[Mapping[str, Any]],
    retag: Any = None,
) -> Highlighted:
    """The title and text with each tag's evidence marked.

    Stored evidence carries the token position of its match: it is placed there when the words
    at that position are the ones its snippet shows. When some cannot be placed (the text or
    the tokenizer changed since tagging), *retag* (``() -> tags`` as ``Tagger.tag`` returns
    them) is asked for today's evidence of the same topics instead, and the result says so.
    """
    fields = {"title": title or "", "text": text or ""}
    tokens = {name: [m.span() for m in TOKEN_RE.finditer(value)] for name, value in fields.items()}
    placed: dict[str, list[_Span]] = {"title": [], "text": []}
    matched: dict[int, str] = {}
    missing = 0
    for tag in tags:
        for ev in tag.get("evidence") or ():
            field = ev.get("field")
            if field not in fields:
                continue
            where = _place(fields[field], tokens[field], ev)
            if where is None:
                missing += 1
            else:
                placed[field].append(_Span(*where, f"{tag['topic']}: {ev.get('term')}"))
                matched[id(ev)] = " ".join(fields[field][where[0] : where[1]].split())
    retagged = False
    if missing and retag is not None:
        wanted = {tag["topic"] for tag in tags}
        fresh = [t for t in retag() if t.topic in wanted]
        placed = {"title": [], "text": []}
        missing = 0
        for tag in fresh:
            for ev in tag.evidence:
                stored = {"term": ev.term, "position": ev.position, "snippet": ev.snippet}
                where = _place(fields[ev.field], tokens[ev.field], stored)
                if where is None:
                    missing += 1
                else:
                    placed[ev.field].append(_Span(*where, f"{tag.topic}: {ev.term}"))
        retagged = True
    return Highlighted(
        segments(fields["title"], placed["title"]),
        segments(fields["text"], placed["text"]),
        retagged,
        missing,
        matched,
    )


# --------------------------------------------------------------------------- versions


_WORDS_RE = re.compile(r"\s+|\S+")


@dataclass(frozen=True)
class Change:
    op: str  # "=" unchanged, "+" inserted, "-" deleted, "~" unchanged and not shown
    text: str


def word_diff(old: str, new: str, max_tokens: int = MAX_DIFF_TOKENS) -> list[Change]:
    """A word-level diff of two texts (spaces kept), long unchanged stretches shortened."""
    a, b = _WORDS_RE.findall(old)[:max_tokens], _WORDS_RE.findall(new)[:max_tokens]
    out: list[Change] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.extend(_unchanged("".join(a[i1:i2]), first=i1 == 0, last=i2 == len(a)))
            continue
        if op in ("replace", "delete"):
            out.append(Change("-", "".join(a[i1:i2])))
        if op in ("replace", "insert"):
            out.append(Change("+", "".join(b[j1:j2])))
    return out


def _unchanged(text: str, *, first: bool, last: bool) -> list[Change]:
    if len(text) <= KEEP_UNCHANGED:
        return [Change("=", text)]
    head = "" if first else text[:UNCHANGED_CONTEXT]
    tail = "" if last else text[-UNCHANGED_CONTEXT:]
    hidden = len(text) - len(head) - len(tail)
    return [
        *([Change("=", head)] if head else []),
        Change("~", f" [… {hidden:,} unchanged characters …] "),
        *([Change("=", tail)] if tail else []),
    ]


def _version_diffs(versions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The latest MAX_DIFFS changes, newest first: each version against the one before it."""
    pairs = list(pairwise(versions))[-MAX_DIFFS:]
    return [
        {
            "old": old["version"],
            "new": new["version"],
            "fetched": utc_when(new["fetched_at"]),
            "title": word_diff(old["title"] or "", new["title"] or ""),
            "text": word_diff(old["text"] or "", new["text"] or ""),
        }
        for old, new in reversed(pairs)
    ]


# --------------------------------------------------------------------------- pages


def web_url(url: str | None) -> str | None:
    """*url* when it is an http(s) URL a browser may follow, else None (shown as text)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def article_page(request: Request) -> Response:
    article_id = id_param(request, "article_id", "article")
    marsad = context(request)
    with marsad.session() as session:
        article = article_detail(session, article_id)
        if article is None:
            raise NotFound(f"no article with id {article_id}")
        versions = article_versions(session, article_id)
    topics = {topic.key: topic for topic in marsad.config.topics}
    known = [t for t in article["topics"] if t["topic"] in topics]

    def retag() -> Any:
        # a fresh Tagger: its caches are not safe to share between request threads
        tagger = Tagger([topics[t["topic"]] for t in known])
        return tagger.tag(article["title"], article["text"], article["language"])

    marked = highlight(article["title"], article["text"], article["topics"], retag)
    for tag in article["topics"]:
        tag["label"] = topics[tag["topic"]].label if tag["topic"] in topics else None
        for ev in tag["evidence"]:
            ev["parts"] = marked.snippet(ev)
    for sibling in article["story_siblings"]:
        sibling["published"] = local_when(sibling["published_at"])
    return render(
        request,
        "article.html",
        {
            "nav": "search",
            "article": article,
            "outlets": outlet_names(marsad.config),
            "published": local_when(article["published_at"]),
            "fetched": utc_when(article["fetched_at"]),
            "original_url": web_url(article["url"]),
            "marked": marked,
            "versions": [
                v
                | {"published": local_when(v["published_at"]), "fetched": utc_when(v["fetched_at"])}
                for v in versions
            ],
            "diffs": _version_diffs(versions),
        },
    )


def raw_page_text(request: Request) -> Response:
    article_id = id_param(request, "article_id", "article")
    with context(request).session() as session:
        raw = raw_page(session, article_id)
    if raw is None:
        raise NotFound(f"no raw page is stored for article {article_id}")
    notes = []
    if raw.problem:
        notes.append(raw.problem)
    if raw.truncated:
        notes.append("only the start of the page is shown")
    body = "".join(f"[marsad: {note}]\n" for note in notes) + raw.text
    return PlainTextResponse(
        body,
        headers={
            "content-type": "text/plain; charset=utf-8",
            "content-disposition": f'inline; filename="article-{article_id}.html.txt"',
        },
    )


routes: list[BaseRoute] = [
    Route("/articles/{article_id}", article_page),
    Route("/articles/{article_id}/raw", raw_page_text),
]
