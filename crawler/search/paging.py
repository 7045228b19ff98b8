"""One page of search results deep into the matches, reading about one page of article rows.

``crawler.search.search(offset=…)`` finds page N by planning for offset + limit rows: right for
the first pages, but page 50 then reads a thousand article rows (date order: probes a thousand
articles against the full-text index). For a query without filters this module gets the same
page (same rows, same order) another way:

* relevance: the full-text index ranks (``IndexQuery.ranked``, the same window), and only the
  articles of the page — plus any with a score equal to a score on the page, so that ties are
  ordered by date and id exactly as ``search`` orders them — are read;
* date order: the matching ids come from the index alone (at most ``ID_SET_MAX``), and the date
  index is walked newest first reading ids only, until the page is passed.

Everything else (filters, the first pages, very common words) goes to ``search``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.db import Article
from crawler.search import (
    _LIST_COLUMNS,
    RELEVANCE_WINDOW,
    SORTS,
    Filters,
    _list_row,
    _topics_for,
    _when,
    search,
)
from crawler.search.index import index_for
from crawler.search.query import parse_query

__all__ = ["DEEP_OFFSET", "ID_SET_MAX", "results_page"]

#: From this offset on, a page is found by this module's plans.
DEEP_OFFSET = 100
#: Date order reads every matching id from the index when there are at most this many.
ID_SET_MAX = 250_000
#: Ids read at a time while walking the date index.
WALK_BATCH = 2_000


def results_page(
    session: Session,
    query: str | None,
    filters: Filters = Filters(),  # noqa: B008 - frozen, never mutated
    *,
    limit: int = 50,
    offset: int = 0,
    sort: str = "relevance",
) -> list[dict[str, Any]]:
    """``search(session, query, filters, limit=limit, offset=offset, sort=sort)``: the same
    rows in the same order, cheaper deep into the results."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {SORTS}, not {sort!r}")
    deep = offset >= DEEP_OFFSET and query and query.strip() and filters == Filters()
    if not deep or limit <= 0:
        return search(session, query, filters, limit=limit, offset=offset, sort=sort)
    assert query is not None
    if sort == "relevance":
        return _relevance_page(session, query, limit, offset)
    page = _date_page(session, query, limit, offset)
    if page is None:
        return search(session, query, filters, limit=limit, offset=offset, sort=sort)
    return page


def _rows(session: Session, ids: list[int]) -> dict[int, Any]:
    columns = [*_LIST_COLUMNS, Article.story_id, _when().label("sort_when")]
    stmt = select(*columns).where(index_for(session).among(ids))
    return {row["id"]: row for row in session.execute(stmt).mappings()}


def _relevance_page(session: Session, query: str, limit: int, offset: int) -> list[dict[str, Any]]:
    matched = index_for(session).query(session, parse_query(query))
    k = offset + limit
    while True:
        # scoring the window is the cost, not returning it: with a window, rank it all at once
        # (one pass: every tie across the cut is in it)
        ranked = matched.ranked(None if RELEVANCE_WINDOW else k + 1, RELEVANCE_WINDOW)
        if RELEVANCE_WINDOW or len(ranked) <= k or ranked[k][1] != ranked[k - 1][1]:
            break
        k *= 4  # a tie across the cut: widen until it is not cut (as search does)
    if len(ranked) <= offset:
        return []
    page_scores = {score for _id, score in ranked[offset : offset + limit]}
    # the page's articles and every article tied with one of them: their order is decided by
    # date and id; the articles with a better score than all of them come first
    low, high = min(page_scores), max(page_scores)
    before = sum(1 for _id, score in ranked if score < low)
    wanted = [(i, score) for i, score in ranked if low <= score <= high]
    rows = _rows(session, [i for i, _ in wanted])
    score = dict(wanted)
    ordered = sorted(rows.values(), key=lambda r: r["id"], reverse=True)
    ordered.sort(key=lambda r: (r["sort_when"] is not None, r["sort_when"]), reverse=True)
    ordered.sort(key=lambda r: score[r["id"]])
    page = ordered[offset - before : offset - before + limit]
    topics = _topics_for(session, [r["id"] for r in page])
    return [_list_row(dict(r) | {"rank": score[r["id"]]}, topics[r["id"]]) for r in page]


def _date_page(
    session: Session, query: str, limit: int, offset: int
) -> list[dict[str, Any]] | None:
    matched = index_for(session).query(session, parse_query(query))
    stmt = select(matched.key).select_from(matched.index.table).where(matched.match)
    ids = {int(row[0]) for row in matched.index.read_index(session, stmt.limit(ID_SET_MAX + 1))}
    if len(ids) > ID_SET_MAX:
        return None
    walk = select(Article.id).order_by(_when().desc().nulls_last(), Article.id.desc())
    found: list[int] = []
    result = session.execute(walk.execution_options(yield_per=WALK_BATCH))
    try:
        for (article_id,) in result:
            if article_id in ids:
                found.append(article_id)
                if len(found) >= offset + limit:
                    break
    finally:
        result.close()
    page_ids = found[offset : offset + limit]
    rows = _rows(session, page_ids)
    topics = _topics_for(session, page_ids)
    return [_list_row(rows[i], topics[i]) for i in page_ids]
