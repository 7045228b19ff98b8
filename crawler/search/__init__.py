"""Search, show, export and count stored articles: one interface over SQLite FTS5 and PostgreSQL.

Every function takes a Session and never commits it. A query string is parsed and compiled by
``crawler.search.query`` and reaches the database only as a bound parameter. The logic here is
written once: what differs between the backends (the index table, match and rank, id lists,
days, time budgets) comes from the adapter ``crawler.search.index.index_for(session)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, func, or_, select
from sqlalchemy.orm import Session

from crawler.db import Article, ArticleRaw, ArticleTopic, as_utc, publisher_time
from crawler.search.index import AnySelect, IndexQuery, OverBudget, index_for
from crawler.search.query import Node, parse_query

__all__ = [
    "SORTS",
    "Filters",
    "article_detail",
    "iter_articles",
    "search",
    "stats",
]

SORTS = ("relevance", "date")


@dataclass(frozen=True)
class Filters:
    topics: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None


def _when() -> ColumnElement[datetime]:
    return func.coalesce(Article.published_at, Article.fetched_at)


def publisher_day(session: Session) -> ColumnElement[str]:
    """Each article's day as its publisher dated it (``YYYY-MM-DD`` in the publisher's offset;
    the UTC day it was fetched when the page gave no date): what every per-day count uses."""
    return index_for(session).local_day(_when(), Article.__table__.c.published_offset)


def _apply_filters(stmt: AnySelect, filters: Filters, *, walk: bool = False) -> AnySelect:
    """*stmt* restricted by *filters*. With *walk*, the topic and source tests are written so that
    SQLite cannot answer them from an index (``id + 0``, ``source || ''``): the date plan must
    walk the date index and stop early, not look up every article of a topic or source."""
    article_id = Article.id + 0 if walk else Article.id
    source = Article.source.concat("") if walk else Article.source
    if filters.topics:
        stmt = stmt.where(
            article_id.in_(
                select(ArticleTopic.article_id).where(ArticleTopic.topic.in_(filters.topics))
            )
        )
    if filters.sources:
        stmt = stmt.where(source.in_(filters.sources))
    if filters.languages:
        lang = func.lower(Article.language)
        wanted = []
        for code in (c.lower() for c in filters.languages):
            wanted.append(lang == code)
            if "-" not in code:  # "fr" also selects "fr-FR", "fr-MA"
                wanted.append(lang.like(code + "-%"))
        stmt = stmt.where(or_(*wanted))
    if filters.since is not None:
        stmt = stmt.where(_when() >= as_utc(filters.since))
    if filters.until is not None:
        stmt = stmt.where(_when() < as_utc(filters.until))
    return stmt


def _matching(
    session: Session,
    query: str | None,
    filters: Filters,
    columns: Sequence[Any],
) -> tuple[AnySelect, ColumnElement[float] | None]:
    """SELECT *columns* of the articles matching; (statement, rank: lower is better or None)."""
    if query and query.strip():
        matched = index_for(session).query(session, parse_query(query))
        return _matching_node(matched, filters, columns)
    return _apply_filters(select(*columns).select_from(Article), filters), None


def _matching_node(
    matched: IndexQuery, filters: Filters, columns: Sequence[Any]
) -> tuple[AnySelect, ColumnElement[float]]:
    """SELECT *columns* of the articles *matched* selects; (statement, rank)."""
    stmt = (
        select(*columns)
        .select_from(matched.index.table)
        .join(Article, Article.id == matched.key)
        .where(matched.match)
    )
    return _apply_filters(stmt, filters), matched.rank


def _iso(value: datetime | None, offset: int | None = None) -> str | None:
    """ISO 8601; a publication time in the publisher's offset (``published_offset``)."""
    return publisher_time(value, offset).isoformat() if value is not None else None


def _topics_for(session: Session, ids: Sequence[int]) -> dict[int, dict[str, float]]:
    out: dict[int, dict[str, float]] = {i: {} for i in ids}
    if ids:
        rows = session.execute(
            select(ArticleTopic.article_id, ArticleTopic.topic, ArticleTopic.score)
            .where(ArticleTopic.article_id.in_(ids))
            .order_by(ArticleTopic.article_id, ArticleTopic.score.desc(), ArticleTopic.topic)
        )
        for article_id, topic, score in rows:
            out[article_id][topic] = round(score, 2)
    return out


_LIST_COLUMNS = (
    Article.id,
    Article.published_at,
    Article.published_offset,
    Article.fetched_at,
    Article.source,
    Article.language,
    Article.title,
    Article.url,
)


def search(
    session: Session,
    query: str | None,
    filters: Filters = Filters(),
    *,
    limit: int = 50,
    sort: str = "relevance",
    collapse_stories: bool = False,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Matching articles (all, with an empty query), best or newest first, as plain dicts;
    *offset* skips that many first (a page of results: the plans read about offset + limit).

    With *collapse_stories*, one article per story (the best-ranked copy) with its ``copies``.
    Raises QuerySyntaxError for a malformed query.
    """
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {SORTS}, not {sort!r}")
    columns = [*_LIST_COLUMNS, Article.story_id]
    if query and query.strip() and not collapse_stories:
        top = _top(session, parse_query(query), filters, columns, offset + limit, sort)[offset:]
        topics = _topics_for(session, [row["id"] for row in top])
        return [_list_row(row, topics[row["id"]]) for row in top]
    stmt, rank = _matching(session, query, filters, columns)
    when = _when()
    if rank is not None:
        stmt = stmt.add_columns(rank.label("rank"))
    if collapse_stories:
        # rank (bm25) can only be computed next to the FTS5 scan: match in a materialised CTE,
        # number the copies of each story in a second step, keep the first of each.
        matched = stmt.add_columns(when.label("sort_when")).cte("matched")
        matched = matched.prefix_with("MATERIALIZED")
        key = func.coalesce(matched.c.story_id, -matched.c.id)
        if sort == "relevance" and rank is not None:
            order = [matched.c.rank, matched.c.sort_when.desc(), matched.c.id.desc()]
        else:
            order = [matched.c.sort_when.desc().nulls_last(), matched.c.id.desc()]
        numbered = select(
            matched,
            func.row_number().over(partition_by=key, order_by=order).label("rn"),
            func.count().over(partition_by=key).label("copies"),
        ).subquery()
        outer = select(numbered).where(numbered.c.rn == 1)
        if sort == "relevance" and rank is not None:
            outer = outer.order_by(
                numbered.c.rank, numbered.c.sort_when.desc(), numbered.c.id.desc()
            )
        else:
            outer = outer.order_by(numbered.c.sort_when.desc().nulls_last(), numbered.c.id.desc())
        rows = session.execute(outer.limit(limit).offset(offset)).mappings().all()
    else:
        if sort == "relevance" and rank is not None:
            stmt = stmt.order_by(rank, when.desc(), Article.id.desc())
        else:
            stmt = stmt.order_by(when.desc().nulls_last(), Article.id.desc())
        rows = session.execute(stmt.limit(limit).offset(offset)).mappings().all()
    topics = _topics_for(session, [row["id"] for row in rows])
    return [_list_row(row, topics[row["id"]]) for row in rows]


# ---------------------------------------------------------------- LIMIT-aware plans
#
# Sorting every match (the plan of ``_matching``) costs time in proportion to the number of
# matches: a common word matches most of a large archive. ``_top`` answers ``search`` with plans
# that read about LIMIT rows instead, on both backends, with the same results:
#
# * date order: with at most DATE_DIRECT_MAX matches, their ids (newest stored first, read lazily
#   from the full-text index) are filtered and sorted directly; with more, the articles are walked
#   newest first on the date index (``ix_articles_search_when``) and each one is probed against
#   the full-text index until LIMIT pass. A walk that runs over WALK_BUDGET_S (filters that reject
#   almost everything) gives way to the full plan.
# * relevance: the full-text index ranks on its own (bm25 / ts_rank: no article row is read for
#   the matches it does not return); only the RELEVANCE_WINDOW most recently stored matches are
#   ranked (scoring is the cost that grows with matches), in ONE pass over the whole window,
#   sliced here: the best ones (and every one tied with the last of them, so that the order
#   score, date desc, id desc is exact) are joined to articles and filtered, the best first.
#   With RELEVANCE_WINDOW None (every match ranked) the index returns the k best instead, and a
#   tie at the k-th score widens k.

#: Relevance ranks the newest this-many matches of a query (None: every match).
RELEVANCE_WINDOW: int | None = 5_000
#: Relevance with filters checks the best candidates at least this many at a time.
FILTER_CHUNK = 200
#: Date order sorts up to this many matches directly; with more it walks the date index.
DATE_DIRECT_MAX = 5_000
#: Longest walk of the date index (seconds, SQLite) before falling back to the full plan.
WALK_BUDGET_S = 0.5
#: SQLite virtual-machine steps between two looks at the clock during a walk.
WALK_CHECK_STEPS = 20_000


def _top(
    session: Session,
    node: Node,
    filters: Filters,
    columns: Sequence[Any],
    limit: int,
    sort: str,
) -> list[dict[str, Any]]:
    if limit <= 0:
        return []
    index = index_for(session)
    matched = index.query(session, node)
    when = _when()
    if sort == "date":
        order = (when.desc().nulls_last(), Article.id.desc())
        ids = matched.newest_ids(DATE_DIRECT_MAX + 1)
        rows: Sequence[RowMapping]
        if len(ids) <= DATE_DIRECT_MAX:
            stmt = _apply_filters(select(*columns).where(index.among(ids)), filters)
            rows = session.execute(stmt.order_by(*order).limit(limit)).mappings().all()
        else:
            stmt = _apply_filters(select(*columns).where(matched.probe()), filters, walk=True)
            stmt = stmt.order_by(*order).limit(limit)
            try:
                rows = index.run_bounded(session, stmt, WALK_BUDGET_S, WALK_CHECK_STEPS)
            except OverBudget:
                stmt, _rank = _matching_node(matched, filters, columns)
                rows = session.execute(stmt.order_by(*order).limit(limit)).mappings().all()
        return [dict(row) for row in rows]  # no score: it costs a bm25 pass per article

    # Scoring the window is the cost, not returning it: rank it all at once (one pass, ties at
    # any cut already in hand) and check the filters on the best candidates first, a chunk at a
    # time. Without a window (every match ranked), grow k in rounds instead.
    filtered = filters != Filters()
    k: int | None = None if RELEVANCE_WINDOW else limit * 8 if filtered else limit
    chunk = max(limit * 4, FILTER_CHUNK) if filtered else limit
    while True:
        ranked = matched.ranked(None if k is None else k + 1, RELEVANCE_WINDOW)
        exhausted = k is None or len(ranked) <= k
        if k is not None and not exhausted and ranked[k][1] == ranked[k - 1][1]:
            k *= 4  # a tie across the cut: the date order decides, widen until it is not cut
            continue
        cut = ranked if k is None else ranked[:k]
        score = dict(cut)
        passed: list[RowMapping] = []
        start = 0
        while start < len(cut) and len(passed) < limit:
            end = min(len(cut), start + chunk)
            while end < len(cut) and cut[end][1] == cut[end - 1][1]:
                end += 1  # never split equal scores: all better candidates are checked first
            ids = [article_id for article_id, _ in cut[start:end]]
            stmt = select(*columns, when.label("sort_when")).where(index.among(ids))
            passed += session.execute(_apply_filters(stmt, filters)).mappings().all()
            start = end
        if len(passed) >= limit or exhausted:
            break
        # the filters rejected too many of the best: rank the whole window / more of all
        k = None if RELEVANCE_WINDOW or k is None else k * 8
    # (score, date desc, id desc), the order of the full plan: stable sorts, last key first
    ordered = sorted(passed, key=lambda r: r["id"], reverse=True)
    ordered.sort(key=lambda r: (r["sort_when"] is not None, r["sort_when"]), reverse=True)
    ordered.sort(key=lambda r: score[r["id"]])
    return [dict(row) | {"rank": score[row["id"]]} for row in ordered[:limit]]


def _list_row(row: Any, topics: dict[str, float]) -> dict[str, Any]:
    out = {
        "id": row["id"],
        # the publisher's local time with its offset: [:10] is the publisher's day
        "published_at": _iso(row["published_at"], row.get("published_offset")),
        "published_offset": row.get("published_offset"),
        "fetched_at": _iso(row["fetched_at"]),
        "source": row["source"],
        "language": row["language"],
        "title": row["title"],
        "url": row["url"],
        "topics": topics,
    }
    if "story_id" in row:
        out["story_id"] = row["story_id"]
    if "copies" in row:
        out["copies"] = row["copies"]
    if "rank" in row and row["rank"] is not None:
        out["score"] = round(-float(row["rank"]), 4)
    return out


def iter_articles(
    session: Session,
    query: str | None,
    filters: Filters = Filters(),
    *,
    batch: int = 500,
    with_text: bool = True,
) -> Iterator[dict[str, Any]]:
    """Every matching article, newest first, streamed (server-side cursor on PostgreSQL,
    *batch* rows in memory at a time)."""
    columns = [*_LIST_COLUMNS, Article.author, Article.description]
    if with_text:
        columns.append(Article.text)
    stmt, _rank = _matching(session, query, filters, columns)
    stmt = stmt.order_by(_when().desc().nulls_last(), Article.id.desc())
    result = session.execute(stmt.execution_options(yield_per=batch))
    try:
        for part in result.mappings().partitions():
            topics = _topics_for(session, [row["id"] for row in part])
            for row in part:
                record = _list_row(row, topics[row["id"]])
                record["author"] = row["author"]
                record["description"] = row["description"]
                if with_text:
                    record["text"] = row["text"]
                yield record
    finally:
        result.close()


def article_detail(session: Session, article_id: int) -> dict[str, Any] | None:
    """One article in full: its tags with evidence, story siblings, whether raw HTML is kept."""
    columns = [
        *_LIST_COLUMNS,
        Article.author,
        Article.description,
        Article.text,
        Article.date_source,
        Article.categories,
        Article.tags,
        Article.version,
        Article.story_id,
    ]
    row = session.execute(select(*columns).where(Article.id == article_id)).mappings().first()
    if row is None:
        return None
    out = _list_row(row, {})
    for key in ("author", "description", "text", "date_source", "categories", "tags", "version"):
        out[key] = row[key]
    out["topics"] = [
        {"topic": t.topic, "score": round(t.score, 2), "evidence": list(t.evidence or [])}
        for t in session.scalars(
            select(ArticleTopic)
            .where(ArticleTopic.article_id == article_id)
            .order_by(ArticleTopic.score.desc(), ArticleTopic.topic)
        )
    ]
    raw = session.execute(
        select(ArticleRaw.compression, func.length(ArticleRaw.content)).where(
            ArticleRaw.article_id == article_id
        )
    ).first()
    out["raw"] = {"stored": raw is not None} | (
        {"compression": raw[0], "bytes": int(raw[1])} if raw is not None else {}
    )
    out["story_siblings"] = []
    if row["story_id"] is not None:
        siblings = session.execute(
            select(
                Article.id,
                Article.source,
                Article.published_at,
                Article.published_offset,
                Article.title,
                Article.url,
            )
            .where(Article.story_id == row["story_id"], Article.id != article_id)
            .order_by(Article.published_at.asc().nulls_last(), Article.id)
        )
        out["story_siblings"] = [
            {
                "id": s.id,
                "source": s.source,
                "published_at": _iso(s.published_at, s.published_offset),
                "title": s.title,
                "url": s.url,
            }
            for s in siblings
        ]
    return out


def stats(
    session: Session, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """Article counts in total, per topic, per source and per publisher's day."""
    filters = Filters(since=since, until=until)
    day = publisher_day(session)
    total = session.execute(_apply_filters(select(func.count()).select_from(Article), filters))
    per_topic = _apply_filters(
        select(ArticleTopic.topic, func.count())
        .select_from(ArticleTopic)
        .join(Article, Article.id == ArticleTopic.article_id),
        filters,
    ).group_by(ArticleTopic.topic)
    per_source = _apply_filters(
        select(Article.source, func.count()).select_from(Article), filters
    ).group_by(Article.source)
    per_day = _apply_filters(select(day.label("day"), func.count()).select_from(Article), filters)
    per_day = per_day.group_by(day).order_by(day)

    def ranked(stmt: AnySelect) -> dict[str, int]:
        pairs = [(str(k), int(n)) for k, n in session.execute(stmt)]
        return dict(sorted(pairs, key=lambda kv: (-kv[1], kv[0])))

    return {
        "articles": int(total.scalar_one()),
        "topics": ranked(per_topic),
        "sources": ranked(per_source),
        "days": {str(k): int(n) for k, n in session.execute(per_day) if k is not None},
    }
