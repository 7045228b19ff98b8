"""How many articles a search matches, and how they spread: facets (topic, source, language, day)
for the web page and the API. Pure functions over a Session, no dialect branches.

One grouped pass over the matches, by (source, language, day), gives the total, the source,
language and day facets and the per-source and per-day counts of attention over time
(:mod:`crawler.search.attention`); topics take a second pass over ``article_topics``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.db import Article, ArticleTopic
from crawler.search import Filters, _matching, publisher_day
from crawler.search.index import index_for
from crawler.search.query import parse_query

__all__ = ["NO_FILTERS", "Group", "Matches", "base_language", "count", "facets", "matches"]

#: No filter at all (a shared default).
NO_FILTERS = Filters()


class Group(NamedTuple):
    """Matching articles of one source, language and publisher's day."""

    source: str
    language: str  # base code, lower case ("fr" for fr-MA); "" when unknown
    day: str  # YYYY-MM-DD, the publisher's day
    articles: int


def base_language(code: str | None) -> str:
    return (code or "").lower().replace("_", "-").split("-")[0]


@dataclass(frozen=True)
class Matches:
    """The grouped matches of one search (computed once, read by facets and attention)."""

    query: str | None
    filters: Filters
    groups: tuple[Group, ...]

    @property
    def total(self) -> int:
        return sum(g.articles for g in self.groups)


def matches(session: Session, query: str | None, filters: Filters = NO_FILTERS) -> Matches:
    """Every match of *query* and *filters*, counted per (source, language, day).
    Raises QuerySyntaxError for a malformed query."""
    day = publisher_day(session).label("day")
    language = func.lower(func.coalesce(Article.language, "")).label("language")
    stmt, _rank = _matching(
        session, query, filters, [Article.source, language, day, func.count().label("n")]
    )
    stmt = stmt.group_by(Article.source, language, day)
    counted: Counter[Group] = Counter()
    for source, lang, when, n in session.execute(stmt):
        counted[Group(source, base_language(lang), when or "", 0)] += int(n)
    groups = tuple(sorted(g._replace(articles=n) for g, n in counted.items()))
    return Matches(query, filters, groups)


def count(session: Session, query: str | None, filters: Filters = NO_FILTERS) -> int:
    """How many stored articles match (every one with an empty query). Without filters the
    full-text index counts alone (no article row is read)."""
    if query and query.strip() and filters == Filters():
        matched = index_for(session).query(session, parse_query(query))
        stmt = select(func.count()).select_from(matched.index.table).where(matched.match)
        return int(matched.index.read_index(session, stmt)[0][0])
    stmt, _rank = _matching(session, query, filters, [func.count()])
    return int(session.execute(stmt).scalar_one())


def topic_counts(
    session: Session, query: str | None, filters: Filters = NO_FILTERS
) -> dict[str, int]:
    """Matching articles per topic, most first."""
    ids, _rank = _matching(session, query, filters, [Article.id])
    stmt = (
        select(ArticleTopic.topic, func.count())
        .where(ArticleTopic.article_id.in_(ids.scalar_subquery()))
        .group_by(ArticleTopic.topic)
    )
    return _ranked((str(t), int(n)) for t, n in session.execute(stmt))


def _ranked(pairs: Any) -> dict[str, int]:
    return dict(sorted(pairs, key=lambda kv: (-kv[1], kv[0])))


def facets(
    session: Session,
    query: str | None,
    filters: Filters = NO_FILTERS,
    *,
    grouped: Matches | None = None,
) -> dict[str, Any]:
    """``{"total", "topics", "sources", "languages", "days"}``: counts of the matching articles,
    most first (days: in date order). *grouped* reuses :func:`matches` of the same search."""
    grouped = grouped or matches(session, query, filters)
    sources: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    days: Counter[str] = Counter()
    for group in grouped.groups:
        sources[group.source] += group.articles
        languages[group.language] += group.articles
        days[group.day] += group.articles
    return {
        "total": grouped.total,
        "topics": topic_counts(session, query, filters) if grouped.total else {},
        "sources": _ranked(sources.items()),
        "languages": _ranked((k, n) for k, n in languages.items() if k),
        "days": dict(sorted((k, n) for k, n in days.items() if k)),
    }
