"""Attention over time: how much the collection wrote about a search, day by day (pure functions
over a Session, the same dicts for the web page, the API and a CSV download).

* per day (UTC): matching **articles**, and matching **stories** — syndicated copies of one
  story counted once (``coalesce(story_id, -id)``: an article without a story is its own) — each
  as a share of everything collected that day from the same sources and languages (the topic
  and the query left out: the denominator is what *could* have matched);
* per source: articles, stories, and when its first match appeared ("who carried it first");
* top words of a sample of at most ``WORD_SAMPLE`` matching articles (evenly spread over all
  matches), in matching form (hamza, tashkeel, case folded; a leading «ال» dropped), stop words
  of ar/fr/en removed, each shown as the spelling most often seen.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.db import Article
from crawler.search import Filters, _apply_filters, _matching, _when
from crawler.search.facets import NO_FILTERS, Matches, matches
from crawler.search.index import index_for
from crawler.search.stopwords import is_stop_word
from crawler.text.normalize import normalize_text
from crawler.text.tokens import TOKEN_RE, token_key

__all__ = ["MAX_DAYS", "WORD_SAMPLE", "attention", "days_csv_rows", "top_words"]

#: Longest series of days drawn (the most recent ones, when the matches span more).
MAX_DAYS = 731
#: At most this many matching articles feed the top words.
WORD_SAMPLE = 1_000
#: Characters of each sampled text read for the top words (its title always).
WORD_TEXT_CHARS = 3_000
_ARTICLE_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال")
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
) -> dict[str, Any]:
    """``{"sample": n, "words": [{"word", "key", "count"}]}``: the commonest words of at most
    *sample* matching articles, counted once per article (a word repeated in one article does
    not outweigh one said by many)."""
    ids_stmt, _rank = _matching(session, query, filters, [Article.id])
    ids = sorted(int(i) for (i,) in session.execute(ids_stmt))
    if len(ids) > sample:
        step = len(ids) / sample
        ids = [ids[int(k * step)] for k in range(sample)]
    index = index_for(session)
    per_article: Counter[str] = Counter()
    titles: list[str] = []
    for start in range(0, len(ids), 500):
        stmt = select(
            Article.title, Article.title_norm, func.substr(Article.text_norm, 1, WORD_TEXT_CHARS)
        ).where(index.among(ids[start : start + 500]))
        for title, title_norm, text_norm in session.execute(stmt):
            titles.append(title or "")
            seen = {_word_key(w) for w in _NORM_WORD_RE.findall(f"{title_norm} {text_norm or ''}")}
            per_article.update(k for k in seen if not is_stop_word(k))
    best = per_article.most_common(limit)
    spelled = _spellings({k for k, _ in best}, titles)
    return {
        "sample": len(ids),
        "words": [{"word": spelled.get(k, k), "key": k, "count": n} for k, n in best],
    }


def _spellings(keys: set[str], titles: list[str]) -> dict[str, str]:
    """The commonest original spelling of each matching-form *key* among *titles*."""
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    for title in titles:
        for raw in TOKEN_RE.findall(title):
            key = _word_key(token_key(raw))
            if key in keys:
                shown = raw
                stripped = normalize_text(raw)
                for prefix in _ARTICLE_PREFIXES:  # show «الحكومة» as «حكومة» like its key
                    if stripped.startswith(prefix) and _word_key(stripped) != stripped:
                        shown = raw[len(prefix) :]
                        break
                seen[key][shown] += 1
    return {key: spellings.most_common(1)[0][0] for key, spellings in seen.items()}


def _day_range(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    if (end - start).days >= MAX_DAYS:
        start = end - timedelta(days=MAX_DAYS - 1)
    return [(start + timedelta(days=k)).isoformat() for k in range((end - start).days + 1)]


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def attention(
    session: Session,
    query: str | None,
    filters: Filters = NO_FILTERS,
    *,
    grouped: Matches | None = None,
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

    *grouped* reuses :func:`crawler.search.facets.matches` of the same search.
    Raises QuerySyntaxError for a malformed query.
    """
    grouped = grouped or matches(session, query, filters)
    index = index_for(session)
    day = index.day(_when()).label("day")
    empty: dict[str, Any] = {"sample": 0, "words": []}
    dated = [g for g in grouped.groups if g.day]
    if not dated:
        return {"total": grouped.total, "stories": 0, "days": [], "truncated": False,
                "sources": [], "top_words": empty}  # fmt: skip
    days = _day_range(min(g.day for g in dated), max(g.day for g in dated))
    articles_by_day: Counter[str] = Counter()
    for group in dated:
        articles_by_day[group.day] += group.articles

    story = _story_key()
    stmt, _rank = _matching(session, query, filters, [day, func.count(story.distinct())])
    stories_by_day = {d: int(n) for d, n in session.execute(stmt.group_by(day)) if d}
    stmt, _rank = _matching(session, query, filters, [func.count(story.distinct())])
    story_total = int(session.execute(stmt).scalar_one())

    # the denominator: everything collected on those days from the same sources and languages
    scope = Filters(
        sources=filters.sources,
        languages=filters.languages,
        since=filters.since,
        until=filters.until,
    )
    collected_stmt = _apply_filters(
        select(day, func.count(), func.count(story.distinct())).select_from(Article), scope
    )
    first_day = date.fromisoformat(days[0])
    after_last = date.fromisoformat(days[-1]) + timedelta(days=1)
    collected_stmt = collected_stmt.where(
        day >= first_day.isoformat(), day < after_last.isoformat()
    )
    collected = {d: (int(a), int(s)) for d, a, s in session.execute(collected_stmt.group_by(day))}

    series = []
    for d in days:
        all_articles, all_stories = collected.get(d, (0, 0))
        n_articles, n_stories = articles_by_day.get(d, 0), stories_by_day.get(d, 0)
        series.append(
            {
                "day": d,
                "articles": n_articles,
                "stories": n_stories,
                "collected_articles": all_articles,
                "collected_stories": all_stories,
                "article_share": _share(n_articles, all_articles),
                "story_share": _share(n_stories, all_stories),
            }
        )

    source = Article.source
    per_source_stmt, _rank = _matching(
        session,
        query,
        filters,
        [source, func.count(), func.count(story.distinct()), func.min(_when())],
    )
    sources = [
        {
            "source": s,
            "articles": int(n),
            "stories": int(k),
            "first_seen": first.isoformat() if first is not None else None,
        }
        for s, n, k, first in session.execute(per_source_stmt.group_by(source))
    ]
    sources.sort(key=lambda r: (r["first_seen"] is None, r["first_seen"] or "", r["source"]))
    return {
        "total": grouped.total,
        "stories": story_total,
        "days": series,
        "truncated": len(days) == MAX_DAYS and days[0] > min(g.day for g in dated),
        "sources": sources,
        "top_words": top_words(session, query, filters, limit=words, sample=word_sample)
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
