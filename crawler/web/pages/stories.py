"""/stories: the largest and the fastest-spreading recent stories; /stories/<id>: its copies
side by side. Thin: the numbers come from :mod:`crawler.stories.queries`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from crawler.stories import queries
from crawler.timespec import parse_age
from crawler.web.pages._format import duration, local_when, number, outlet_names, utc_when
from crawler.web.params import NotFound, id_param, int_param, when_param
from crawler.web.render import render
from crawler.web.state import context

DEFAULT_SINCE = "7d"
MAX_LIMIT = 100


def _story_view(row: dict[str, Any]) -> dict[str, Any]:
    """A story row with its numbers and times formatted for the page."""
    return row | {
        "first_seen": utc_when(row["first_seen_at"]),
        "spread": duration(row["spread_seconds"]),
        "rate": number(row["outlets_per_hour"], 2),
        "first_copy": utc_when(row["first_copy_at"]),
        "last_copy": utc_when(row["last_copy_at"]),
        "canonical_published": local_when((row["canonical"] or {}).get("published_at")),
    }


def stories_page(request: Request) -> Response:
    since = when_param(request, "since") or datetime.now(UTC) - parse_age(DEFAULT_SINCE)
    limit = int_param(request, "limit", 20, low=1, high=MAX_LIMIT)
    with context(request).session() as session:
        largest = queries.recent_stories(session, since, order="largest", limit=limit)
        fastest = queries.recent_stories(session, since, order="fastest", limit=limit)
    return render(
        request,
        "stories.html",
        {
            "nav": "stories",
            "since": utc_when(since),
            "since_param": request.query_params.get("since", DEFAULT_SINCE),
            "largest": [_story_view(row) for row in largest],
            "fastest": [_story_view(row) for row in fastest],
            "min_hours": queries.MIN_SPREAD_HOURS,
            "outlets": outlet_names(context(request).config),
        },
    )


def story_page(request: Request) -> Response:
    story_id = id_param(request, "story_id", "story")
    with context(request).session() as session:
        story = queries.story_detail(session, story_id)
    if story is None:
        raise NotFound(f"no story with id {story_id}")
    for copy in story["articles"]:
        copy["published"] = local_when(copy["published_at"])
        copy["fetched"] = utc_when(copy["fetched_at"])
    return render(
        request,
        "story.html",
        {
            "nav": "stories",
            "story": _story_view(story),
            "outlets": outlet_names(context(request).config),
        },
    )


routes: list[BaseRoute] = [
    Route("/stories", stories_page),
    Route("/stories/{story_id}", story_page),
]
