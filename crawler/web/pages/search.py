"""The search page (``/search``): the query language and filters of ``marsad search``, the total,
highlighted results, facets, pages, attention over time (first page), and the CSV/NDJSON
downloads of the same search (``/search.csv``, ``/search.ndjson``)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from crawler import db
from crawler.config import Config
from crawler.config.checks import LANGUAGES, suggest
from crawler.search import SORTS, Filters, iter_articles
from crawler.search.attention import attention
from crawler.search.export import csv_chunks, export_fields, ndjson_chunks
from crawler.search.facets import base_language, count, facets
from crawler.search.paging import results_page
from crawler.search.query import parse_query
from crawler.search.snippets import highlighter
from crawler.web.charts import Series, bar_chart, line_chart
from crawler.web.params import (
    BadRequest,
    choice_param,
    int_param,
    list_param,
    text_param,
    when_param,
)
from crawler.web.render import render
from crawler.web.state import context

#: Results per page.
PER_PAGE = 20
#: Deepest page: the plans read about page x PER_PAGE rows, so depth is bounded.
MAX_PAGE = 500
#: Rows of one CSV/NDJSON download unless ?limit= says otherwise (at most EXPORT_MAX).
EXPORT_DEFAULT = 100_000
EXPORT_MAX = 1_000_000
#: Facet values listed per facet (the rest are summed as "others").
FACET_VALUES = 12


@dataclass(frozen=True)
class SearchRequest:
    """A search as the query string gives it, validated."""

    query: str
    filters: Filters
    sort: str
    page: int

    def params(self, **changes: Any) -> dict[str, Any]:
        """Query-string parameters of this search with *changes* (None drops a key)."""
        out: dict[str, Any] = {
            "q": self.query,
            "topic": list(self.filters.topics),
            "source": list(self.filters.sources),
            "lang": list(self.filters.languages),
            "since": self.since_text,
            "until": self.until_text,
            "sort": self.sort if self.sort != default_sort(self.query) else "",
            "page": self.page if self.page > 1 else "",
        }
        out.update(changes)
        return {k: v for k, v in out.items() if v not in (None, "", [])}

    def url(self, path: str = "/search", **changes: Any) -> str:
        query = urlencode(self.params(**changes), doseq=True)
        return path + ("?" + query if query else "")

    #: since/until exactly as typed (7d stays 7d in links)
    since_text: str = ""
    until_text: str = ""


def default_sort(query: str) -> str:
    return "relevance" if query else "date"


def search_request(request: Request) -> SearchRequest:
    """The validated search of *request*'s query string (BadRequest names what is wrong)."""
    query = text_param(request, "q")
    filters = Filters(
        topics=list_param(request, "topic"),
        sources=list_param(request, "source"),
        languages=list_param(request, "lang"),
        since=when_param(request, "since"),
        until=when_param(request, "until", end=True),
    )
    if filters.since and filters.until and filters.since >= filters.until:
        raise BadRequest("since is not before until: nothing can match")
    sort = choice_param(request, "sort", SORTS, default_sort(query))
    page = int_param(request, "page", 1, low=1, high=MAX_PAGE)
    return SearchRequest(
        query,
        filters,
        sort,
        page,
        since_text=text_param(request, "since"),
        until_text=text_param(request, "until"),
    )


def check_filters(session: Session, config: Config, filters: Filters) -> None:
    """An unknown topic, source or language is a 400 listing the known ones (configured or
    stored: the articles of a source since removed from sources.toml stay searchable)."""
    checks: list[tuple[str, Sequence[str], list[str], Any]] = [
        ("topic", filters.topics, [t.key for t in config.topics], db.ArticleTopic.topic),
        ("source", filters.sources, [s.key for s in config.sources], db.Article.source),
    ]
    for name, values, known, column in checks:
        unknown = [v for v in values if v not in known]
        missing = sorted(set(unknown) - db.stored_values(session, column, unknown))
        if missing:
            stored = sorted(
                set(known) | {str(v) for v in session.scalars(select(column).distinct())}
            )
            raise BadRequest(
                f"{name}={missing[0]!r} is not configured and nothing stored has it. "
                f"{suggest(missing[0], stored)}Known: {', '.join(stored) or 'none'}"
            )
    for code in filters.languages:
        if base_language(code) in LANGUAGES:
            continue
        if not db.stored_values(session, db.Article.language, [code]):
            raise BadRequest(
                f"lang={code!r} is not a language of the collection. "
                f"{suggest(code.lower(), LANGUAGES)}Known: {', '.join(LANGUAGES)} "
                "(optionally with a region: fr-MA)"
            )


def _day(row: dict[str, Any]) -> str:
    """The publisher's local date (``published_at`` carries its offset), else the fetch day."""
    return (row.get("published_at") or row.get("fetched_at") or "")[:10]


def with_snippets(session: Session, rows: list[dict[str, Any]], query: str) -> list[dict[str, Any]]:
    marker = highlighter(query)
    ids = [row["id"] for row in rows]
    stmt = select(db.Article.id, db.Article.text).where(db.Article.id.in_(ids))
    texts: dict[int, str] = {article_id: text for article_id, text in session.execute(stmt)}
    out = []
    for row in rows:
        text = texts.get(row["id"]) or ""
        out.append(
            row
            | {
                "day": _day(row),
                "title_segments": marker.segments(row["title"] or ""),
                "snippet": marker.snippet(text),
            }
        )
    return out


def _facet_links(wanted: SearchRequest, counts: dict[str, int], param: str) -> list[dict[str, Any]]:
    active = {
        "topic": wanted.filters.topics,
        "source": wanted.filters.sources,
        "lang": wanted.filters.languages,
    }[param]
    links = []
    for value, n in list(counts.items())[:FACET_VALUES]:
        links.append(
            {
                "value": value,
                "count": n,
                "active": value in active,
                "url": wanted.url("/search", **{param: [value], "page": None}),
            }
        )
    return links


def _day_links(wanted: SearchRequest, days: dict[str, int]) -> list[dict[str, Any]]:
    busiest = sorted(days.items(), key=lambda kv: (-kv[1], kv[0]))[:FACET_VALUES]
    return [
        {"value": d, "count": n, "url": wanted.url(since=d, until=d, page=None)}
        for d, n in sorted(busiest, reverse=True)
    ]


def _pages(wanted: SearchRequest, total: int) -> dict[str, Any]:
    last = max(1, min(MAX_PAGE, math.ceil(total / PER_PAGE)))
    around = sorted({1, last, *range(max(1, wanted.page - 3), min(last, wanted.page + 3) + 1)})
    return {
        "current": wanted.page,
        "last": last,
        "capped": total > MAX_PAGE * PER_PAGE,
        "prev": wanted.url(page=wanted.page - 1) if wanted.page > 1 else None,
        "next": wanted.url(page=wanted.page + 1) if wanted.page < last else None,
        "numbers": [{"n": n, "url": wanted.url(page=n)} for n in around],
    }


def attention_charts(result: dict[str, Any], title: str) -> dict[str, Any]:
    """The SVG charts of an :func:`crawler.search.attention.attention` result (also used by the
    topic page): counts per day, shares per day, articles per source."""
    days = [row["day"] for row in result["days"]]
    counts = line_chart(
        days,
        [
            Series("articles", [row["articles"] for row in result["days"]]),
            Series("stories", [row["stories"] for row in result["days"]]),
        ],
        title=f"{title}: articles and stories per day",
        css_class="chart attention-counts",
    )
    shares = line_chart(
        days,
        [
            Series("share of articles", [row["article_share"] for row in result["days"]]),
            Series("share of stories", [row["story_share"] for row in result["days"]]),
        ],
        title=f"{title}: share of everything collected that day",
        percent=True,
        css_class="chart attention-shares",
    )
    per_source = sorted(result["sources"], key=lambda r: (-r["articles"], r["source"]))[:15]
    sources = bar_chart(
        [(row["source"], row["articles"]) for row in per_source],
        title=f"{title}: articles per source",
    )
    return {"counts": counts, "shares": shares, "sources": sources}


def _downloads(wanted: SearchRequest) -> dict[str, str]:
    same = {"page": None, "sort": None}
    return {
        "csv": wanted.url("/search.csv", **same),
        "ndjson": wanted.url("/search.ndjson", **same),
        "attention_json": wanted.url("/api/attention", **same),
        "attention_csv": wanted.url("/api/attention", format="csv", **same),
        "feed": wanted.url("/feeds/search.atom", **same),
        "facets": wanted.url("/search/facets", **same),
        "attention": wanted.url("/search/attention", **same),
    }


def one_page(
    session: Session, config: Config, wanted: SearchRequest, per_page: int
) -> tuple[int, list[dict[str, Any]]]:
    """The total and the requested page of a search, each result with its snippet: what the
    search page and ``/api/search`` show."""
    check_filters(session, config, wanted.filters)
    total = count(session, wanted.query, wanted.filters)
    offset = (wanted.page - 1) * per_page
    rows: list[dict[str, Any]] = []
    if offset < total:
        rows = results_page(
            session, wanted.query, wanted.filters, limit=per_page, offset=offset, sort=wanted.sort
        )
    return total, with_snippets(session, rows, wanted.query)


def search_page(request: Request) -> Response:
    """The total and one page of results. The facets and attention over time read every match,
    so they come in their own requests (``/search/facets``, ``/search/attention``: marsad.js
    puts them in place; without JavaScript they are links), and this page stays fast."""
    marsad = context(request)
    wanted = search_request(request)
    offset = (wanted.page - 1) * PER_PAGE
    with marsad.session() as session:
        total, results = one_page(session, marsad.config, wanted, PER_PAGE)
    return render(
        request,
        "search.html",
        {
            "nav": "search",
            "wanted": wanted,
            "sorts": SORTS,
            "total": total,
            "first": offset + 1,
            "results": results,
            "pages": _pages(wanted, total),
            "downloads": _downloads(wanted),
        },
    )


def _fragment(request: Request) -> bool:
    return choice_param(request, "fragment", ("0", "1"), "0") == "1"


def facets_page(request: Request) -> Response:
    """Facets of a search (topic, outlet, language, busiest days), each a link that narrows it."""
    marsad = context(request)
    wanted = search_request(request)
    with marsad.session() as session:
        check_filters(session, marsad.config, wanted.filters)
        counted = facets(session, wanted.query, wanted.filters)
    return render(
        request,
        "search_facets.html",
        {
            "nav": "search",
            "wanted": wanted,
            "fragment": _fragment(request),
            "total": counted["total"],
            "facets": {
                "topic": _facet_links(wanted, counted["topics"], "topic"),
                "source": _facet_links(wanted, counted["sources"], "source"),
                "lang": _facet_links(wanted, counted["languages"], "lang"),
                "day": _day_links(wanted, counted["days"]),
            },
            "downloads": _downloads(wanted),
        },
    )


def attention_page(request: Request) -> Response:
    """Attention over time of a search: charts, per outlet, top words, downloads."""
    marsad = context(request)
    wanted = search_request(request)
    with marsad.session() as session:
        check_filters(session, marsad.config, wanted.filters)
        over_time = attention(session, wanted.query, wanted.filters)
    charts = attention_charts(over_time, wanted.query or "all articles")
    return render(
        request,
        "search_attention.html",
        {
            "nav": "search",
            "wanted": wanted,
            "fragment": _fragment(request),
            "attention": over_time,
            "charts": charts,
            "downloads": _downloads(wanted),
        },
    )


def _export(request: Request, kind: str) -> Response:
    """Every matching article, newest first, streamed (memory stays flat), at most ?limit=."""
    marsad = context(request)
    wanted = search_request(request)
    limit = int_param(request, "limit", EXPORT_DEFAULT, low=1, high=EXPORT_MAX)
    with_text = choice_param(request, "text", ("1", "0"), "1") == "1"
    with marsad.session() as session:  # checked before the first byte: a 400 is still possible
        check_filters(session, marsad.config, wanted.filters)
        if wanted.query:
            parse_query(wanted.query)  # a malformed query is a 400, not a broken download

    def records() -> Iterator[dict[str, Any]]:
        with marsad.session() as session:
            found = iter_articles(session, wanted.query, wanted.filters, with_text=with_text)
            for n, record in enumerate(found):
                if n >= limit:
                    break
                yield record

    name = "marsad-search"
    if kind == "csv":
        body = (c.encode() for c in csv_chunks(records(), export_fields(with_text), bom=True))
        media = "text/csv; charset=utf-8"
    else:
        body = (c.encode() for c in ndjson_chunks(records()))
        media = "application/x-ndjson; charset=utf-8"
    return StreamingResponse(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{kind}"'},
    )


def export_csv(request: Request) -> Response:
    return _export(request, "csv")


def export_ndjson(request: Request) -> Response:
    return _export(request, "ndjson")


__all__ = [
    "SearchRequest",
    "attention_charts",
    "check_filters",
    "routes",
    "search_request",
]

routes: list[BaseRoute] = [
    Route("/search", search_page),
    Route("/search/facets", facets_page),
    Route("/search/attention", attention_page),
    Route("/search.csv", export_csv),
    Route("/search.ndjson", export_ndjson),
]
