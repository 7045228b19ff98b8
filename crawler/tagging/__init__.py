"""Topic tagging: match each topic's terms (per language) against an article's title and text.

Pipeline for one field (title or text):

1. ``TOKEN_RE`` splits the ORIGINAL text into tokens (letters, digits, Arabic diacritics and
   tatweel stay inside a token; an apostrophe joins ``l'armée`` into one token). Token indexes
   are the ``position`` of evidence, and the token spans give the snippet of original text.
   The tokenizer and the key functions live in ``crawler.text.tokens`` (shared with search).
2. Each distinct raw token is mapped once (then cached) to the set of *term keys* it can stand
   for: ``normalize_text`` (hamza/alef/ta-marbuta/diacritics/tatweel/digits/case/accents),
   French elision (``l'``, ``d'``, ``qu'``...) removed, then candidate stems are looked up in
   the term index -- the token itself, plus Arabic clitic prefixes (و ف ب ل ك ال وال بال لل...)
   and suffixes (ي ية ين ون ات ه ها هم...) stripped, or French/English plural endings removed.
   A stripped candidate only counts when it IS a term key of length >= 3, so stemming never
   invents matches that no term asked for (exception: a shorter word that only occurs inside
   multi-word phrases may lose a one-letter clitic, «وتل أبيب» -> «تل أبيب»).
3. Phrases match as sequences of term keys. A topic's exclusion phrase overlapping one of its
   matches (or, with ``within = N``, at most N words away) cancels that match; a term with
   ``near`` contexts counts only when one of them is at most ``within`` words away, one with
   ``not_near`` contexts only when none is.
   Sense rules (``senses.toml``, named in a term's ``senses``): a "cancel" sense whose context
   phrase is within its reach on its side (or whose prev_word/next_word pattern matches the
   adjacent word) cancels the match; a term with "confirm" senses counts only where one of
   them is found, and its evidence names that sense. A cancelled match still occupies its
   words («conseil de défense sanitaire» cancelled also hides the «défense» inside it); a
   "spread" sense cancels the same term followed by the same word anywhere in the article.
   Of overlapping matches of one topic the longest wins.
4. score = sum of match weights (``TermOptions.weight``, 1.0 for a plain string) times the
   field's weight (``topic.title_weight`` / ``topic.text_weight``; 0 = the field does not
   count); topics scoring >= ``topic.threshold`` are returned, best first. With
   ``topic.corroborate`` (the default) a topic whose matches are all one weak term (weight
   < 1, not confirmed by a sense) in the text is not returned: it needs a strong term, a term
   in the title, or a second distinct term.

Term keys: the normalised token, with a leading Arabic article «ال» dropped when at least three
letters remain (so «المغرب», «مغرب», «بالمغرب», «للمغرب» all meet on «مغرب»).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, compress
from typing import TYPE_CHECKING, Any

from crawler.text.tokens import (
    AR_MAX_PREFIX,
    AR_MAX_SUFFIX,
    AR_PREFIXES,
    AR_SUFFIXES,
    LATIN_RULES,
    MIN_STEM,
    TOKEN_RE,
    is_arabic,
    latin_any,
    term_keys,
    token_key,
)

if TYPE_CHECKING:
    from crawler.config import Sense, Topic

__all__ = ["Evidence", "Tagger", "TopicTag", "tag_record"]

logger = logging.getLogger(__name__)

_SPLIT_RE = re.compile(f"({TOKEN_RE.pattern})")  # [gap, token, gap, ..., gap]

SNIPPET_CHARS = 60
MAX_EVIDENCE_PER_TERM = 3  # per (term, field); the score still counts every match
CACHE_LIMIT = 200_000  # distinct raw tokens remembered per language index


@dataclass(frozen=True)
class Evidence:
    term: str  # the term or phrase as written in the topic configuration
    field: str  # "title" | "text"
    position: int  # index of the first matched token in the field
    snippet: str  # ~60 characters of the ORIGINAL text around the match
    sense: str = ""  # the "confirm" sense rule that made the term count ("" for none)


@dataclass(frozen=True)
class TopicTag:
    topic: str
    score: float
    evidence: tuple[Evidence, ...]

    def stored(self) -> dict[str, Any]:
        """The tag as stored (an ``article_topics`` row without ``article_id``)."""
        return {
            "topic": self.topic,
            "score": self.score,
            "evidence": [dataclasses.asdict(ev) for ev in self.evidence],
        }


@dataclass(frozen=True)
class _Entry:
    topic: int  # index into Tagger.topics (-1 for a context phrase)
    term: str  # surface form as configured
    exclude: bool
    size: int = 0  # letters in the term keys: of equal-length matches the most specific wins
    weight: float = 1.0
    within: int = 0  # words allowed between this match and a context (exclusion: its reach)
    near: frozenset[int] = frozenset()  # context ids, one of which must be within reach
    not_near: frozenset[int] = frozenset()  # context ids that cancel the match within reach
    context: int = -1  # >= 0: a near/not_near context phrase, not a term
    senses: tuple[_SenseRef, ...] = ()


_Match = tuple[int, int, _Entry]  # (first token, end token exclusive, entry)
_ANY_WORD = "\x00any"  # spread = "article": whatever word follows


@dataclass(frozen=True)
class _SenseRef:
    """A sense rule compiled for one language: its context ids and word patterns."""

    name: str
    confirm: bool
    within: int
    side: str
    ids: frozenset[int]
    prev_word: Any = None  # compiled RE2 patterns (fullmatch on the adjacent original word)
    prev_except: Any = None
    next_word: Any = None
    next_except: Any = None
    spread: str = ""  # "", "collocation" or "article"
    article_hits: int = 0  # >0: also found when this many distinct contexts are in the article


@dataclass(frozen=True)
class _Kept:
    start: int
    end: int
    entry: _Entry
    sense: str  # confirming sense, "" for none


class _Index:
    """Compiled terms of one language (or of all languages) with its token cache."""

    def __init__(self, lang: str, phrases: Mapping[tuple[str, ...], Sequence[_Entry]]) -> None:
        self.lang = lang
        self.keys = frozenset(k for phrase in phrases for k in phrase)
        # Short words («تل» in «تل أبيب») may lose a one-letter clitic («وتل أبيب») when they
        # only occur inside multi-word phrases: the rest of the phrase must still follow.
        single = {phrase[0] for phrase in phrases if len(phrase) == 1}
        self.short_in_phrases = frozenset(
            k
            for phrase in phrases
            if len(phrase) > 1
            for k in phrase
            if len(k) < MIN_STEM and k not in single
        )
        starts: dict[str, list[tuple[tuple[str, ...], tuple[_Entry, ...]]]] = {}
        for phrase, entries in phrases.items():
            starts.setdefault(phrase[0], []).append((phrase, tuple(entries)))
        for options in starts.values():
            options.sort(key=lambda option: -len(option[0]))
        self.starts = starts
        self.latin = LATIN_RULES.get(lang, latin_any)
        self.cache: dict[str, frozenset[str] | None] = {}

    def lookup(self, raw: str) -> frozenset[str] | None:
        """Term keys a raw token can stand for (None when none)."""
        token = token_key(raw)
        if not token:
            return None
        keys = self.keys
        found = {token} if token in keys else set()
        if is_arabic(token[0]):
            self._arabic(token, found)
        else:
            found.update(c for c in self.latin(token) if c in keys)
        return frozenset(found) if found else None

    def _arabic(self, token: str, found: set[str]) -> None:
        keys = self.keys
        prefixes = [""]
        prefixes += [token[:n] for n in range(1, AR_MAX_PREFIX + 1) if token[:n] in AR_PREFIXES]
        for prefix in prefixes:
            rest = token[len(prefix) :]
            if len(rest) < MIN_STEM:
                if len(prefix) == 1 and rest in self.short_in_phrases:
                    found.add(rest)
                continue
            if prefix and rest in keys:
                found.add(rest)
            for n in range(1, min(AR_MAX_SUFFIX, len(rest) - 1) + 1):
                endings = AR_SUFFIXES.get(rest[-n:])
                if endings is None:
                    continue
                base = rest[:-n]
                candidates = [base + ending for ending in endings]
                if base.endswith("ت"):  # حكومتها -> حكومت -> حكومه
                    candidates.append(base[:-1] + "ه")
                found.update(c for c in candidates if len(c) >= MIN_STEM and c in keys)

    def keysets(self, tokens: Sequence[str]) -> list[frozenset[str] | None]:
        cache = self.cache
        missing = set(tokens).difference(cache)
        if missing:
            if len(cache) + len(missing) > CACHE_LIMIT:
                cache.clear()
                missing = set(tokens)
            lookup = self.lookup
            for raw in missing:
                cache[raw] = lookup(raw)
        return list(map(cache.__getitem__, tokens))

    def matches(self, tokens: Sequence[str]) -> list[_Match]:
        keysets = self.keysets(tokens)
        n = len(keysets)
        out: list[_Match] = []
        starts = self.starts
        for i in compress(range(n), keysets):
            for key in keysets[i] or ():  # (compress kept only the tokens with keys)
                for phrase, entries in starts.get(key, ()):
                    end = i + len(phrase)
                    if end > n:
                        continue
                    if all(
                        (ks := keysets[j]) is not None and phrase[j - i] in ks
                        for j in range(i + 1, end)
                    ):
                        out.extend((i, end, entry) for entry in entries)
        return out


def _snippet(text: str, start: int, end: int, width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` around [start, end), cut at word boundaries."""
    room = max(width - (end - start), 0)
    left = max(0, start - room // 2)
    right = min(len(text), end + room - (start - left))
    left = max(0, min(left, right - width))
    if left > 0 and not text[left - 1].isspace():
        space = _first_space(text, left, start)
        if space >= 0:
            left = space + 1
    if right < len(text) and not text[right].isspace():
        space = _last_space(text, end, right)
        if space >= 0:
            right = space
    return " ".join(text[left:right].split())


_SPACE_RE = re.compile(r"\s")


def _first_space(text: str, lo: int, hi: int) -> int:
    match = _SPACE_RE.search(text, lo, hi)
    return match.start() if match else -1


def _last_space(text: str, lo: int, hi: int) -> int:
    for i in range(hi - 1, lo - 1, -1):
        if text[i].isspace():
            return i
    return -1


def _lang_code(lang: str | None) -> str | None:
    if not lang:
        return None
    return lang.strip().lower().replace("_", "-").split("-")[0] or None


class Tagger:
    """Compile topics once, then ``tag`` many articles (not safe for concurrent ``tag`` calls
    from several threads: the token caches are plain dicts)."""

    def __init__(self, topics: Sequence[Topic]) -> None:
        self.topics: tuple[Topic, ...] = tuple(topics)
        per_lang: dict[str, dict[tuple[str, ...], list[_Entry]]] = {}
        merged: dict[tuple[str, ...], list[_Entry]] = {}
        contexts: dict[tuple[str, ...], int] = {}

        def add(code: str, keys: tuple[str, ...], entry: _Entry) -> None:
            for target in (per_lang.setdefault(code, {}), merged):
                entries = target.setdefault(keys, [])
                # the same phrase in two languages (Israel / Israel) counts once
                if not any(
                    e.topic == entry.topic
                    and e.exclude == entry.exclude
                    and e.context == entry.context
                    for e in entries
                ):
                    entries.append(entry)

        compiled_senses: dict[tuple[str, str], _SenseRef] = {}

        def sense_ref(code: str, sense: Sense) -> _SenseRef:
            key = (code, sense.name)
            if key not in compiled_senses:
                compiled_senses[key] = _SenseRef(
                    name=sense.name,
                    confirm=sense.confirms,
                    within=sense.within,
                    side=sense.side,
                    ids=context_ids(code, sense.phrases_for(code)),
                    prev_word=_word_re(sense.prev_word),
                    prev_except=_word_re(sense.prev_word_except),
                    next_word=_word_re(sense.next_word),
                    next_except=_word_re(sense.next_word_except),
                    spread=sense.spread,
                    article_hits=sense.article_hits,
                )
            return compiled_senses[key]

        def context_ids(code: str, phrases: Sequence[str]) -> frozenset[int]:
            ids = set()
            for phrase in phrases:
                keys = term_keys(phrase)
                if not keys:
                    continue
                cid = contexts.setdefault(keys, len(contexts))
                add(code, keys, _Entry(-1, phrase, False, context=cid))
                ids.add(cid)
            return frozenset(ids)

        for t_index, topic in enumerate(self.topics):
            for exclude, table in ((False, topic.terms), (True, topic.exclude)):
                for lang, phrases in table.items():
                    code = _lang_code(lang) or lang
                    for phrase in phrases:
                        keys = term_keys(phrase)
                        if not keys:
                            logger.warning(
                                "topic %r: term %r has no matchable words", topic.key, phrase
                            )
                            continue
                        options = topic.options(lang, phrase, exclude)
                        entry = _Entry(
                            t_index,
                            phrase,
                            exclude,
                            sum(map(len, keys)),
                            weight=options.weight,
                            within=options.within,
                            near=context_ids(code, options.near),
                            not_near=context_ids(code, options.not_near),
                            senses=tuple(sense_ref(code, sense) for sense in options.senses),
                        )
                        add(code, keys, entry)
        self._indexes = {code: _Index(code, phrases) for code, phrases in per_lang.items()}
        self._all = _Index("*", merged)
        self._context_size = max((len(keys) for keys in contexts), default=1)

    def index_for(self, lang: str | None) -> _Index:
        """The language's own terms; every language's terms when ``lang`` is None or unknown."""
        code = _lang_code(lang)
        if code is not None and code in self._indexes:
            return self._indexes[code]
        return self._all

    def tag(self, title: str, text: str, lang: str | None = None) -> list[TopicTag]:
        """Topics whose score reaches their threshold, best first (ties by topic key)."""
        return self.tag_explained(title, text, lang)[0]

    def tag_explained(
        self, title: str, text: str, lang: str | None = None
    ) -> tuple[list[TopicTag], list[tuple[str, Evidence]]]:
        """``tag`` and, for the analyst, the matches a sense rule cancelled: (topic key,
        evidence whose ``sense`` names the cancelling rule), in field and position order."""
        if not self.topics:
            return [], []
        index = self.index_for(lang)
        fields: list[tuple[str, str, list[str], list[_Kept], list[str | None]]] = []
        spread: dict[tuple[int, str, str | None], str] = {}
        split: list[tuple[str, str, list[str], list[_Match]]] = []
        in_article: set[int] = set()  # context phrases found anywhere (title or text)
        for field, original in (("title", title or ""), ("text", text or "")):
            if not original:
                continue
            parts = _SPLIT_RE.split(original)  # [gap, token, gap, token, ..., gap]
            found = index.matches(parts[1::2])
            in_article.update(entry.context for _, _, entry in found if entry.context >= 0)
            split.append((field, original, parts, found))
        for field, original, parts, found in split:
            kept, nexts = self._field_matches(parts, found, field, spread, in_article)
            if kept:
                fields.append((field, original, parts, kept, nexts))
        scores: dict[int, float] = {}
        evidence: dict[int, list[Evidence]] = {}
        strong: set[int] = set()
        distinct: dict[int, set[str]] = {}
        cancelled: list[tuple[str, Evidence]] = []
        for field, original, parts, kept, nexts in fields:
            ends = list(accumulate(map(len, parts)))  # token i spans ends[2i]..ends[2i+1]
            per_term: dict[tuple[int, str], int] = {}
            for match, after in zip(kept, nexts, strict=True):
                entry = match.entry
                why = match.sense[1:] if match.sense.startswith("!") else ""
                if spread and not why:
                    why = spread.get((entry.topic, entry.term, after)) or spread.get(
                        (entry.topic, entry.term, _ANY_WORD), ""
                    )
                if why:
                    seen = per_term.get((~entry.topic, entry.term), 0)
                    if seen < MAX_EVIDENCE_PER_TERM:
                        per_term[(~entry.topic, entry.term)] = seen + 1
                        snippet = _snippet(original, ends[2 * match.start], ends[2 * match.end - 1])
                        ev = Evidence(entry.term, field, match.start, snippet, sense=why)
                        cancelled.append((self.topics[entry.topic].key, ev))
                    continue
                weight = entry.weight * self.topics[entry.topic].field_weight(field)
                scores[entry.topic] = scores.get(entry.topic, 0.0) + weight
                if entry.weight >= 1 or match.sense or field == "title":
                    strong.add(entry.topic)
                distinct.setdefault(entry.topic, set()).add(entry.term)
                seen = per_term.get((entry.topic, entry.term), 0)
                if seen < MAX_EVIDENCE_PER_TERM:
                    per_term[(entry.topic, entry.term)] = seen + 1
                    snippet = _snippet(original, ends[2 * match.start], ends[2 * match.end - 1])
                    evidence.setdefault(entry.topic, []).append(
                        Evidence(
                            term=entry.term,
                            field=field,
                            position=match.start,
                            snippet=snippet,
                            sense=match.sense,
                        )
                    )
        tags = [
            TopicTag(
                topic=self.topics[i].key,
                score=score,
                evidence=tuple(evidence.get(i, ())),
            )
            for i, score in scores.items()
            if score > 0
            and score >= self.topics[i].threshold
            and (not self.topics[i].corroborate or i in strong or len(distinct[i]) > 1)
        ]
        tags.sort(key=lambda tag: (-tag.score, tag.topic))
        return tags, cancelled

    def _field_matches(
        self,
        parts: Sequence[str],
        found: list[_Match],
        field: str,
        spread: dict[tuple[int, str, str | None], str],
        in_article: set[int],
    ) -> tuple[list[_Kept], list[str | None]]:
        """Per topic: drop matches an exclusion reaches, matches lacking their ``near`` context
        or having a ``not_near`` one, and apply the terms' sense rules; then keep the longest
        of overlapping matches (leftmost first; a sense-cancelled match takes part, and is
        returned with ``sense`` = "!<rule>"). Returns the kept matches sorted by position and,
        for each, the key of the word that follows it; maps the (topic, term, next word) of
        matches a "spread" sense cancelled to the rule's name in ``spread``."""
        tokens = parts[1::2]
        if not found:
            return [], []
        by_topic: dict[int, tuple[list[tuple[_Match, str | None]], list[tuple[int, int]]]] = {}
        contexts: dict[int, list[tuple[int, int]]] = {}
        for start, end, entry in found:
            if entry.context >= 0:
                contexts.setdefault(entry.context, []).append((start, end))
        starts = {cid: [cs for cs, _ in spans] for cid, spans in contexts.items()}
        reach = _Reach(contexts, starts, self._context_size, in_article)
        for match in found:
            entry = match[2]
            if entry.context >= 0:
                continue
            if self.topics[entry.topic].field_weight(field) == 0:
                continue
            terms, excluded = by_topic.setdefault(entry.topic, ([], []))
            if entry.exclude:
                extra = entry.within + 1 if entry.within else 0  # 0: overlapping only
                excluded.append((match[0] - extra, match[1] + extra))
                continue
            if (entry.near and not reach.any(match, entry.near, entry.within, "both")) or (
                entry.not_near and reach.any(match, entry.not_near, entry.within, "both")
            ):
                continue
            sense = _judge(match, entry.senses, reach, parts if field == "text" else None)
            if sense is None:  # a confirm-only term none of whose senses was found
                continue
            if sense.startswith("!"):
                ref = next(ref for ref in entry.senses if ref.name == sense[1:])
                if ref.spread == "collocation":
                    spread[(entry.topic, entry.term, _next_key(tokens, match[1]))] = ref.name
                elif ref.spread == "article":
                    spread[(entry.topic, entry.term, _ANY_WORD)] = ref.name
            terms.append((match, sense))
        kept: list[_Kept] = []
        for terms, excluded in by_topic.values():
            excluded.sort()
            widest = max((xe - xs for xs, xe in excluded), default=0)
            alive = [(m, sense) for m, sense in terms if not _overlaps(m, excluded, widest)]
            alive.sort(key=lambda item: (item[0][0], item[0][0] - item[0][1], -item[0][2].size))
            last_end = -1
            for (start, end, entry), sense in alive:
                if start >= last_end:
                    last_end = end
                    if sense is not None:
                        kept.append(_Kept(start, end, entry, sense))
        kept.sort(key=lambda m: (m.start, m.entry.topic))
        return kept, [_next_key(tokens, m.end) for m in kept]


def _overlaps(match: _Match, spans: list[tuple[int, int]], widest: int) -> bool:
    """True when one of ``spans`` (sorted, none longer than ``widest``) overlaps ``match``;
    a bisect over the starts, so a long article with many exclusions stays linear."""
    if not spans:
        return False
    start, end = match[0], match[1]
    lo = bisect_left(spans, (start - widest + 1, -1))
    hi = bisect_left(spans, (end, -1))
    return any(xs < end and start < xe for xs, xe in spans[lo:hi])


def _word_re(pattern: str) -> Any:
    if not pattern:
        return None
    import re2  # validated by the configuration loader

    return re2.compile(pattern)


def _next_key(tokens: Sequence[str], end: int) -> str | None:
    return token_key(tokens[end]) if end < len(tokens) else None


class _Reach:
    """Where context phrases are in one field, searched by position (bisect): checking a
    match costs O(log n), so a field is tagged in about linear time."""

    def __init__(
        self,
        spans: dict[int, list[tuple[int, int]]],
        starts: dict[int, list[int]],
        longest: int,
        in_article: set[int],
    ) -> None:
        self.spans = spans
        self.starts = starts
        self.longest = longest
        self.in_article = in_article

    def any(self, match: _Match, ids: frozenset[int], within: int, side: str) -> bool:
        """True when a context phrase in ``ids`` is at most ``within`` words away from
        ``match`` (words strictly between them) on ``side``: "before" (it starts before the
        match), "after" (it ends after it) or "both" (either, or overlapping; the match's own
        span does not count)."""
        start, end = match[0], match[1]
        lo, hi = start - within - 1, end + within + 1
        for cid in ids:
            spans = self.spans.get(cid)
            if not spans:
                continue
            first = bisect_left(self.starts[cid], lo - self.longest + 1)
            last = bisect_left(self.starts[cid], hi)
            for cs, ce in spans[first:last]:
                if not (cs < hi and lo < ce) or (cs, ce) == (start, end):
                    continue
                if side == "before" and not cs < start:
                    continue
                if side == "after" and not ce > end:
                    continue
                return True
        return False


def _judge(
    match: _Match, senses: Sequence[_SenseRef], reach: _Reach, parts: Sequence[str] | None
) -> str | None:
    """The match's sense: "" (no sense rule said anything), a confirming sense's name,
    "!name" when a cancel sense fired, None when the term needs a confirming sense and has
    none here. ``parts`` None: word patterns are not checked (titles: headline
    capitalisation would make every "Israel Says" a name; a "spread" rule carries a name
    found in the text to the title)."""
    if not senses:
        return ""
    confirmed, needs_confirm = "", False
    for ref in senses:
        found = _sense_found(match, ref, reach, parts)
        if ref.confirm:
            needs_confirm = True
            if found and not confirmed:
                confirmed = ref.name
        elif found:
            return "!" + ref.name
    if needs_confirm and not confirmed:
        return None
    return confirmed


def _sense_found(match: _Match, ref: _SenseRef, reach: _Reach, parts: Sequence[str] | None) -> bool:
    start, end = match[0], match[1]
    if parts is None:
        if ref.article_hits and len(ref.ids & reach.in_article) >= ref.article_hits:
            return True
        return bool(ref.ids) and reach.any(match, ref.ids, ref.within, ref.side)
    n = len(parts) // 2
    if ref.prev_word is not None and start > 0 and parts[2 * start].isspace():
        word = parts[2 * start - 1]
        if ref.prev_word.fullmatch(word) and not (
            ref.prev_except is not None and ref.prev_except.fullmatch(word)
        ):
            return True
    if ref.next_word is not None and end < n and parts[2 * end].isspace():
        word = parts[2 * end + 1]
        if ref.next_word.fullmatch(word) and not (
            ref.next_except is not None and ref.next_except.fullmatch(word)
        ):
            return True
    if ref.article_hits and len(ref.ids & reach.in_article) >= ref.article_hits:
        return True
    return bool(ref.ids) and reach.any(match, ref.ids, ref.within, ref.side)


def tag_record(tagger: Tagger, record: Mapping[str, object]) -> dict[str, object]:
    """``{"id", "title", "text", "lang"?}`` -> ``{"id", "topics": {name: score}, "matches": [...]}``

    The output line of ``marsad tag``: only topics at or above their threshold, best first;
    each match is ``{"topic", "term", "field", "position", "snippet", "sense"}`` (``sense``:
    the sense rule that confirmed the term, "" for none; added after the other keys).
    ``cancelled`` (added key) lists the matches a sense rule ruled out, in the same shape,
    ``sense`` naming the rule: the analyst sees why a word did not count.
    """
    title, text, lang = record.get("title"), record.get("text"), record.get("lang")
    tags, cancelled = tagger.tag_explained(
        title if isinstance(title, str) else "",
        text if isinstance(text, str) else "",
        lang if isinstance(lang, str) else None,
    )
    return {
        "id": record.get("id"),
        "topics": {tag.topic: round(tag.score, 3) for tag in tags},
        "matches": [
            {"topic": tag.topic, **dataclasses.asdict(ev)} for tag in tags for ev in tag.evidence
        ],
        "cancelled": [{"topic": topic, **dataclasses.asdict(ev)} for topic, ev in cancelled],
    }
