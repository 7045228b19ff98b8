"""Attention over time: how much the collection wrote about a search, day by day (pure functions
over a Session, the same dicts for the web page, the API and a CSV download).

* per day (the publisher's day): matching **articles**, and matching **stories** —
  syndicated copies of one story counted once (``coalesce(story_id, -id)``: an article without
  a story is its own) — each as a share of everything collected that day from the same sources
  and languages (the topic and the query left out: the denominator is what *could* have matched);
* per source: articles, stories, and when its first match appeared ("who carried it first");
* top words of a sample of at most ``WORD_SAMPLE`` matching articles (evenly spread over all
  matches), in matching form (hamza, tashkeel, case folded; a leading «ال» dropped), stop words
  of ar/fr/en removed, each shown as the spelling most often seen.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from threading import Lock
from typing import Any

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import Session

from crawler.db import Article, as_utc
from crawler.search import Filters, _apply_filters, _matching, _when, publisher_day
from crawler.search.facets import NO_FILTERS
from crawler.search.index import index_for
from crawler.search.stopwords import is_stop_word
from crawler.text.normalize import normalize_text
from crawler.text.tokens import TOKEN_RE, is_arabic, token_key

__all__ = ["MAX_DAYS", "WORD_SAMPLE", "attention", "days_csv_rows", "top_words"]

#: Longest series of days drawn (the most recent ones, when the matches span more).
MAX_DAYS = 731
#: At most this many matching articles feed the top words.
WORD_SAMPLE = 1_000
#: Characters of each sampled text read for the top words (its title always).
WORD_TEXT_CHARS = 3_000
_ARTICLE_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال")
#: Texts read at most to find how a top word is written (when no title has it).
SPELLING_TEXTS = 300
_CLITICS = ("و", "ف", "ب", "ل", "ك")
_ELIDED_RE = re.compile(r"^(?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu)['’ʼ]", re.IGNORECASE)
_NORM_WORD_RE = re.compile(r"[^\W\d_]{2,}")


def _story_key() -> Any:
    return func.coalesce(Article.story_id, -Article.id)


def _word_key(key: str) -> str:
    for prefix in _ARTICLE_PREFIXES:
        if key.startswith(prefix) and len(key) - len(prefix) >= 3:
            return key[len(prefix) :]
    return key


def top_words(
    session: Session,
    query: str | None,
    filters: Filters = NO_FILTERS,
    *,
    limit: int = 30,
    sample: int = WORD_SAMPLE,
    ids: Sequence[int] | None = None,
) -> dict[str, Any]:
    """``{"sample": n, "words": [{"word", "key", "count"}]}``: the commonest words of at most
    *sample* matching articles (evenly spread over the matches in id order), counted once per
    article (a word repeated in one article does not outweigh one said by many). *ids*: the
    matching ids when the caller has them already."""
    if ids is None:
        ids_stmt, _rank = _matching(session, query, filters, [Article.id])
        ids = [int(i) for (i,) in session.execute(ids_stmt)]
    chosen = sorted(ids)
    if len(chosen) > sample:
        step = len(chosen) / sample
        chosen = [chosen[int(k * step)] for k in range(sample)]
    index = index_for(session)
    words_of: list[set[str]] = []
    titles: list[str] = []
    for start in range(0, len(chosen), 500):
        stmt = select(
            Article.title, Article.title_norm, func.substr(Article.text_norm, 1, WORD_TEXT_CHARS)
        ).where(index.among(chosen[start : start + 500]))
        for title, title_norm, text_norm in session.execute(stmt):
            titles.append(title or "")
            seen = {_word_key(w) for w in _NORM_WORD_RE.findall(f"{title_norm} {text_norm or ''}")}
            words_of.append({k for k in seen if not is_stop_word(k)})
    # «وإسرائيل» counts as «إسرائيل» when the sample also has the bare word (a leading و of
    # «وزير» stays: there is no «زير»)
    vocabulary = set().union(*words_of)
    merged = {
        k: k[1:]
        for k in vocabulary
        if k[:1] in _CLITICS and is_arabic(k[0]) and len(k) > 3 and k[1:] in vocabulary
    }
    per_article: Counter[str] = Counter()
    for words in words_of:
        per_article.update({merged.get(k, k) for k in words})
    best = per_article.most_common(limit)
    spelled = _spellings(session, {k for k, _ in best}, titles, chosen)
    return {
        "sample": len(chosen),
        "words": [{"word": spelled.get(k, k), "key": k, "count": n} for k, n in best],
    }


def _spellings(
    session: Session, keys: set[str], titles: list[str], ids: Sequence[int]
) -> dict[str, str]:
    """The commonest original spelling of each matching-form *key*: among *titles*, then in
    the texts of *ids* (a batch at a time, until every key has one or SPELLING_TEXTS were read)."""
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    cache: dict[str, str] = {}

    def scan(text: str) -> None:
        for raw in TOKEN_RE.findall(text):
            key = cache.get(raw)
            if key is None:
                key = cache[raw] = _word_key(token_key(raw))
            if key in keys:
                shown = _ELIDED_RE.sub("", raw)  # «l'énergie» is shown as «énergie», like its key
                stripped = normalize_text(raw)
                for prefix in _ARTICLE_PREFIXES:  # show «الحكومة» as «حكومة» like its key
                    if stripped.startswith(prefix) and _word_key(stripped) != stripped:
                        shown = raw[len(prefix) :]
                        break
                seen[key][shown] += 1

    for title in titles:
        scan(title)
    index = index_for(session)
    for start in range(0, min(len(ids), SPELLING_TEXTS), 50):
        if keys <= seen.keys():
            break
        stmt = select(func.substr(Article.text, 1, WORD_TEXT_CHARS)).where(
            index.among(list(ids[start : start + 50]))
        )
        for (text,) in session.execute(stmt):
            scan(text or "")
    return {key: spellings.most_common(1)[0][0] for key, spellings in seen.items()}


def _day_range(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    if (end - start).days >= MAX_DAYS:
        start = end - timedelta(days=MAX_DAYS - 1)
    return [(start + timedelta(days=k)).isoformat() for k in range((end - start).days + 1)]


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


#: Denominators kept (per database, scope and days), while no article is added or removed.
_COLLECTED_CACHE: OrderedDict[tuple[Any, ...], dict[str, tuple[int, int]]] = OrderedDict()
_COLLECTED_CACHE_SIZE = 64
_COLLECTED_LOCK = Lock()


def _collected(
    session: Session, filters: Filters, first: str, last: str
) -> dict[str, tuple[int, int]]:
    """Per publisher's day from *first* to *last*: (articles, stories) of everything collected
    from the same sources and languages as *filters* (its topics left out). The same for every
    query, and a pass over all those days' articles: kept while the collection has the same articles
    (its highest id and its count, both read from indexes)."""
    scope = Filters(
        sources=filters.sources,
        languages=filters.languages,
        since=filters.since,
        until=filters.until,
    )
    highest, stored = session.execute(select(func.max(Article.id), func.count())).one()
    bind = session.get_bind()
    key = (str(bind.engine.url), scope, first, last, highest, stored)
    with _COLLECTED_LOCK:
        if key in _COLLECTED_CACHE:
            _COLLECTED_CACHE.move_to_end(key)
            return _COLLECTED_CACHE[key]
    day = publisher_day(session).label("day")
    stmt = _apply_filters(
        select(day, func.count(), func.count(_story_key().distinct())).select_from(Article), scope
    )
    after_last = date.fromisoformat(last) + timedelta(days=1)
    stmt = stmt.where(day >= first, day < after_last.isoformat()).group_by(day)
    collected = {d: (int(a), int(n)) for d, a, n in session.execute(stmt)}
    with _COLLECTED_LOCK:
        _COLLECTED_CACHE[key] = collected
        while len(_COLLECTED_CACHE) > _COLLECTED_CACHE_SIZE:
            _COLLECTED_CACHE.popitem(last=False)
    return collected


def _first(values: Any) -> str | None:
    """The earliest of *values* (datetimes, or SQLite's stored UTC strings) as ISO 8601."""
    earliest = min((v for v in values if v is not None), default=None)
    if earliest is None:
        return None
    if isinstance(earliest, str):
        earliest = datetime.fromisoformat(earliest)
    return as_utc(earliest).isoformat()


def attention(
    session: Session,
    query: str | None,
    filters: Filters = NO_FILTERS,
    *,
    words: int = 30,
    word_sample: int = WORD_SAMPLE,
) -> dict[str, Any]:
    """Attention over time of one search (see the module docstring)::

        {"total": articles, "stories": distinct stories,
         "days": [{"day", "articles", "stories", "collected_articles", "collected_stories",
                   "article_share", "story_share"}],   # every day from the first match to the
                                                     # last (at most MAX_DAYS), zeros included
         "truncated": bool,                          # days before the series were left out
         "sources": [{"source", "articles", "stories", "first_seen"}],  # first carrier first
         "top_words": {"sample", "words": [{"word", "key", "count"}]}}

    One pass reads (id, source, day, story, time) of every match; the denominators take one
    grouped pass over the articles of those days. Raises QuerySyntaxError for a malformed query.
    """
    day = publisher_day(session).label("day")
    story = _story_key().label("story")
    when = type_coerce(_when(), String).label("sort_when")  # compared, never parsed per row
    stmt, _rank = _matching(session, query, filters, [Article.id, Article.source, day, story, when])
    ids: list[int] = []
    articles_by_day: Counter[str] = Counter()
    stories_by_day: dict[str, set[int]] = defaultdict(set)
    by_source: dict[str, dict[str, Any]] = {}
    all_stories: set[int] = set()
    for article_id, source, on, story_key, seen_at in session.execute(stmt):
        ids.append(article_id)
        articles_by_day[on] += 1
        stories_by_day[on].add(story_key)
        all_stories.add(story_key)
        entry = by_source.setdefault(source, {"articles": 0, "stories": set(), "times": []})
        entry["articles"] += 1
        entry["stories"].add(story_key)
        entry["times"].append(seen_at)
    empty: dict[str, Any] = {"sample": 0, "words": []}
    dated = sorted(d for d in articles_by_day if d)
    if not dated:
        return {"total": len(ids), "stories": len(all_stories), "days": [], "truncated": False,
                "sources": [], "top_words": empty}  # fmt: skip
    days = _day_range(dated[0], dated[-1])

    collected = _collected(session, filters, days[0], days[-1])
    series = []
    for d in days:
        all_articles, all_day_stories = collected.get(d, (0, 0))
        n_articles, n_stories = articles_by_day.get(d, 0), len(stories_by_day.get(d, ()))
        series.append(
            {
                "day": d,
                "articles": n_articles,
                "stories": n_stories,
                "collected_articles": all_articles,
                "collected_stories": all_day_stories,
                "article_share": _share(n_articles, all_articles),
                "story_share": _share(n_stories, all_day_stories),
            }
        )
    sources = [
        {
            "source": source,
            "articles": entry["articles"],
            "stories": len(entry["stories"]),
            "first_seen": _first(entry["times"]),
        }
        for source, entry in by_source.items()
    ]
    sources.sort(key=lambda r: (r["first_seen"] is None, r["first_seen"] or "", r["source"]))
    return {
        "total": len(ids),
        "stories": len(all_stories),
        "days": series,
        "truncated": days[0] > dated[0],
        "sources": sources,
        "top_words": top_words(session, query, filters, limit=words, sample=word_sample, ids=ids)
        if words
        else empty,
    }


#: The columns of the per-day CSV download.
DAY_FIELDS = (
    "day",
    "articles",
    "stories",
    "collected_articles",
    "collected_stories",
    "article_share",
    "story_share",
)


def days_csv_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-day rows of an :func:`attention` result, for the shared CSV writer."""
    return [{k: row[k] for k in DAY_FIELDS} for row in result["days"]]
