"""/sources: per-source health (the flags of `marsad status`), recent runs with their outcomes,
each source's yield per day as a small chart, and the history of alert digests. Thin: the
numbers come from :mod:`crawler.schedule` and :mod:`crawler.digest`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from crawler.digest import recent_runs as recent_digests
from crawler.schedule import health, runs
from crawler.schedule.yields import daily_yield
from crawler.web.charts import Series, line_chart
from crawler.web.pages._format import duration, number, outlet_names, utc_when
from crawler.web.params import int_param
from crawler.web.render import render
from crawler.web.state import context

YIELD_DAYS = 30


def _health_view(h: health.SourceHealth) -> dict[str, Any]:
    return h.to_dict() | {
        "last_run": utc_when(h.last_run_at),
        "last_success": utc_when(h.last_success_at),
        "next": utc_when(h.next_due),
        "usual": "-" if h.usual_articles is None else f"{h.usual_articles:g}",
        "last_stored": number(h.last_articles),
        "state": ", ".join(h.flags) if h.flags else ("disabled" if not h.enabled else "ok"),
    }


def _run_view(run: dict[str, Any]) -> dict[str, Any]:
    return run | {
        "started": utc_when(run["started_at"]),
        "took": duration(run["duration_seconds"]),
        "errors_text": ", ".join(f"{k} ×{v}" for k, v in sorted(run["errors"].items())),
    }


def _digest_view(run: Any) -> dict[str, Any]:
    return {
        "id": run.id,
        "rule": run.rule,
        "trigger": run.trigger,
        "started": utc_when(run.started_at),
        "status": run.status,
        "items": run.items,
        "channels": [
            {
                "channel": c.channel,
                "type": c.channel_type,
                "status": c.status,
                "items": c.items,
                "error": c.error,
            }
            for c in run.channels
        ],
    }


def sources_page(request: Request) -> Response:
    run_limit = int_param(request, "runs", 50, low=1, high=500)
    marsad = context(request)
    sources = marsad.config.sources
    now = datetime.now(UTC)
    with marsad.session() as session:
        healths = health.assess(session, sources, now)
        recent = [runs.run_to_dict(run) for run in runs.recent_runs(session, None, run_limit)]
        days, stored = daily_yield(session, [s.key for s in sources], YIELD_DAYS, now)
        digests = [_digest_view(run) for run in recent_digests(session, None, 20)]
    charts = {
        key: line_chart(
            days,
            [Series("articles stored", values)],
            title=f"{key}: articles stored per day, last {YIELD_DAYS} days (UTC)",
            width=480,
            height=130,
            css_class="chart yield",
        )
        for key, values in stored.items()
    }
    return render(
        request,
        "sources.html",
        {
            "nav": "sources",
            "outlets": outlet_names(marsad.config),
            "healths": [_health_view(h) for h in healths],
            "flagged": sum(1 for h in healths if h.flags),
            "runs": [_run_view(run) for run in recent],
            "charts": charts,
            "totals": {key: sum(values) for key, values in stored.items()},
            "yield_days": YIELD_DAYS,
            "digests": digests,
            "now": utc_when(now),
        },
    )


routes: list[BaseRoute] = [Route("/sources", sources_page)]
