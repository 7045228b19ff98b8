"""The search page (being built)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from crawler.web.render import render


def search_page(request: Request) -> Response:
    return render(request, "error.html", {"status": 200, "message": "search is being built"})


routes: list[BaseRoute] = [Route("/search", search_page)]
