"""Where a query matched: highlighted segments of a title or text (pure).

A query's positive words and phrases (not those under NOT) are expanded exactly as the index
matches them (``crawler.search.query.expand``: clitics, hamza, plurals, prefixes), and the
ORIGINAL text is scanned token by token in its matching form, so «اسرائيل» marks «وإسرائيل» and
«الإسرائيلية» the way search found them. The result is a list of ``(text, is_match)`` segments:
HTML gets them escaped, each match wrapped in ``<mark>`` by the template, never markup built
from crawled text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from crawler.search.query import (
    Alternative,
    And,
    Node,
    Or,
    Phrase,
    Term,
    expand,
    parse_query,
    search_tokens,
)
from crawler.text.tokens import TOKEN_RE

__all__ = ["Highlighter", "Segment", "highlighter"]

Segment = tuple[str, bool]  # (text, is_match)

#: Characters of text shown around the first match.
SNIPPET_CHARS = 260
#: Characters kept before the first match.
LEAD_CHARS = 70
#: Characters scanned for a first match (a match further into a long text is not shown).
SCAN_CHARS = 60_000

_SPACE_RE = re.compile(r"\s+")


def _positive_leaves(node: Node) -> Iterator[Term | Phrase]:
    if isinstance(node, Term | Phrase):
        yield node
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from _positive_leaves(child)
    # a Not matches nothing to highlight


@lru_cache(maxsize=50_000)
def _words(raw: str) -> tuple[str, ...]:
    return tuple(search_tokens(raw))


@dataclass(frozen=True)
class _Word:
    key: str
    start: int
    end: int


class Highlighter:
    """The positive alternatives of one parsed query, and the segments they mark in a text."""

    def __init__(self, node: Node | None) -> None:
        alternatives: list[Alternative] = []
        if node is not None:
            for leaf in _positive_leaves(node):
                alternatives.extend(expand(leaf))
        self.alternatives = tuple(dict.fromkeys(alternatives))
        self.longest = max((len(a) for a in self.alternatives), default=1)
        # one word: a set and a tuple of prefixes (checked in C); phrases by their first word
        self.exact = {a[0][0] for a in self.alternatives if len(a) == 1 and not a[0][1]}
        self.prefixes = tuple(a[0][0] for a in self.alternatives if len(a) == 1 and a[0][1])
        self.phrases: dict[str, list[Alternative]] = {}
        self.other_phrases: list[Alternative] = []
        for alt in self.alternatives:
            if len(alt) > 1:
                if alt[0][1]:
                    self.other_phrases.append(alt)
                else:
                    self.phrases.setdefault(alt[0][0], []).append(alt)

    def _matches_at(self, words: list[_Word], i: int) -> int:
        """How many words from *i* on one alternative matches (0: none)."""
        key = words[i].key
        best = 1 if key in self.exact or (self.prefixes and key.startswith(self.prefixes)) else 0
        for alt in (*self.phrases.get(key, ()), *self.other_phrases):
            if len(alt) <= best or i + len(alt) > len(words):
                continue
            if all(
                words[i + k].key.startswith(lex) if prefix else words[i + k].key == lex
                for k, (lex, prefix) in enumerate(alt)
            ):
                best = len(alt)
        return best

    def spans(
        self, text: str, start: int = 0, end: int = SCAN_CHARS, *, first: bool = False
    ) -> list[tuple[int, int]]:
        """(start, end) character spans of the matches in ``text[start:end]`` (only the first
        one with *first*)."""
        if not self.alternatives:
            return []
        words: list[_Word] = []
        out: list[tuple[int, int]] = []
        i = 0
        for m in TOKEN_RE.finditer(text, start, min(len(text), end)):
            words.extend(_Word(key, m.start(), m.end()) for key in _words(m.group()))
            # a phrase needs the words after its first: match up to `longest` words behind
            while i < len(words) - self.longest + 1:
                i = self._step(words, i, out)
                if first and out:
                    return out
        while i < len(words):
            i = self._step(words, i, out)
            if first and out:
                return out
        return out

    def _step(self, words: list[_Word], i: int, out: list[tuple[int, int]]) -> int:
        n = self._matches_at(words, i)
        if not n:
            return i + 1
        begin, finish = words[i].start, words[i + n - 1].end
        if out and out[-1][1] >= begin:
            begin = out.pop()[0]
        out.append((begin, finish))
        return i + n

    def segments(self, text: str) -> list[Segment]:
        """All of *text* (a title), its matches marked."""
        return _cut(text, self.spans(text), 0, len(text))

    def snippet(self, text: str, width: int = SNIPPET_CHARS) -> list[Segment]:
        """About *width* characters of *text* around its first match (its start when nothing
        matches in it), whitespace collapsed, matches marked; '…' where it was cut."""
        text = _SPACE_RE.sub(" ", text[:SCAN_CHARS]).strip()
        found = self.spans(text, first=True)
        start = 0
        if found and found[0][0] > LEAD_CHARS:
            start = text.find(" ", found[0][0] - LEAD_CHARS, found[0][0])
            start = found[0][0] - LEAD_CHARS if start < 0 else start + 1
        end = min(len(text), start + width)
        if end < len(text):
            space = text.rfind(" ", start + width // 2, end)
            end = space if space > 0 else end
        segments = _cut(text, self.spans(text, start, end) if found else [], start, end)
        if start > 0:
            segments.insert(0, ("…", False))
        if end < len(text):
            segments.append(("…", False))
        return segments


def _cut(text: str, spans: list[tuple[int, int]], start: int, end: int) -> list[Segment]:
    out: list[Segment] = []
    at = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        if s > at:
            out.append((text[at:s], False))
        out.append((text[s:e], True))
        at = e
    if at < end:
        out.append((text[at:end], False))
    return out


def highlighter(query: str | None) -> Highlighter:
    """The highlighter of *query* (nothing marked for an empty one); QuerySyntaxError if bad."""
    return Highlighter(parse_query(query) if query and query.strip() else None)
