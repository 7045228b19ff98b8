"""The JSON API (``/api/…``): the same dicts as the library, for scripts and notebooks.

* ``/api/search?q=&topic=&source=&lang=&since=&until=&sort=&page=&per_page=&facets=1``
* ``/api/attention?<the same search>[&format=csv]``
* ``/api/stories?since=7d&order=largest|fastest&limit=20``

Errors are JSON too: ``{"error": "...", "status": 400}``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from crawler.search.attention import DAY_FIELDS, attention, days_csv_rows
from crawler.search.export import csv_chunks
from crawler.search.facets import facets
from crawler.stories import queries as story_queries
from crawler.timespec import parse_age
from crawler.web.pages.search import (
    MAX_PAGE,
    PER_PAGE,
    check_filters,
    one_page,
    search_request,
)
from crawler.web.params import choice_param, int_param, when_param
from crawler.web.state import context

MAX_PER_PAGE = 100
DEFAULT_STORY_SINCE = "7d"
MAX_STORIES = 100


def _json(payload: Any) -> Response:
    body = json.dumps(payload, ensure_ascii=False, default=str, separators=(",", ":"))
    return Response(body, media_type="application/json; charset=utf-8")


def _filters_dict(wanted: Any) -> dict[str, Any]:
    f = wanted.filters
    return {
        "topics": list(f.topics),
        "sources": list(f.sources),
        "languages": list(f.languages),
        "since": f.since.isoformat() if f.since else None,
        "until": f.until.isoformat() if f.until else None,
    }


def api_search(request: Request) -> Response:
    """``{"query", "filters", "sort", "page", "per_page", "total", "results": [...]}``; each
    result is a ``crawler.search.search`` dict plus ``title_segments`` and ``snippet``
    (``[text, is_match]`` pairs); ``facets`` with ``facets=1``."""
    marsad = context(request)
    wanted = search_request(request)
    per_page = int_param(request, "per_page", PER_PAGE, low=1, high=MAX_PER_PAGE)
    with_facets = choice_param(request, "facets", ("0", "1"), "0") == "1"
    with marsad.session() as session:
        total, results = one_page(session, marsad.config, wanted, per_page)
        counted = facets(session, wanted.query, wanted.filters) if with_facets else None
    payload: dict[str, Any] = {
        "query": wanted.query,
        "filters": _filters_dict(wanted),
        "sort": wanted.sort,
        "page": wanted.page,
        "per_page": per_page,
        "max_page": MAX_PAGE,
        "total": total,
        "results": results,
    }
    if counted is not None:
        payload["facets"] = counted
    return _json(payload)


def api_attention(request: Request) -> Response:
    """``crawler.search.attention.attention`` of the search; ``format=csv``: the per-day rows
    (UTF-8 with BOM, the shared CSV writer)."""
    marsad = context(request)
    wanted = search_request(request)
    fmt = choice_param(request, "format", ("json", "csv"), "json")
    words = int_param(request, "words", 30, low=0, high=200)
    with marsad.session() as session:
        check_filters(session, marsad.config, wanted.filters)
        result = attention(
            session, wanted.query, wanted.filters, words=words if fmt == "json" else 0
        )
    if fmt == "csv":
        body = "".join(csv_chunks(days_csv_rows(result), DAY_FIELDS, bom=True))
        return Response(
            body.encode(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="marsad-attention.csv"'},
        )
    return _json({"query": wanted.query, "filters": _filters_dict(wanted), **result})


def api_stories(request: Request) -> Response:
    """``crawler.stories.queries.recent_stories``: stories first seen since ``since``."""
    since = when_param(request, "since") or datetime.now(UTC) - parse_age(DEFAULT_STORY_SINCE)
    order = choice_param(request, "order", story_queries.STORY_ORDERS, "largest")
    limit = int_param(request, "limit", 20, low=1, high=MAX_STORIES)
    with context(request).session() as session:
        rows = story_queries.recent_stories(session, since, order=order, limit=limit)
    return _json({"since": since.isoformat(), "order": order, "stories": rows})


routes: list[BaseRoute] = [
    Route("/api/search", api_search),
    Route("/api/attention", api_attention),
    Route("/api/stories", api_stories),
]

__all__ = ["routes"]
