"""The web application: routes from ``pages/``, read-only database sessions, error pages."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from crawler import db
from crawler.config import load_config
from crawler.search.query import QuerySyntaxError
from crawler.web.pages import PAGE_MODULES
from crawler.web.params import BadRequest
from crawler.web.render import render
from crawler.web.security import SecurityHeaders, TokenGate
from crawler.web.state import WebContext, WebSettings, context

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"


def read_only(engine: Engine) -> Engine:
    """Every connection of *engine* refuses writes (SQLite ``query_only``; PostgreSQL read-only
    transactions), so no page can change the collection, whatever it runs."""

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if engine.dialect.name == "sqlite":
                cursor.execute("PRAGMA query_only = ON")
            else:
                cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        finally:
            cursor.close()
        if engine.dialect.name != "sqlite":
            dbapi_connection.commit()

    engine.dispose()  # connections opened before (the schema check) were not made read-only
    return engine


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def _error(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


async def _bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequest)
    return _error(request, exc.status, exc.message)


async def _query_syntax(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, QuerySyntaxError)
    return _error(request, 400, f"the search query is not valid: {exc.pretty()}")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: "no such page", 405: "this page only answers GET"}.get(
        exc.status_code, str(exc.detail)
    )
    return _error(request, exc.status_code, message)


async def _database_error(request: Request, exc: Exception) -> Response:
    marsad = context(request)
    logger.error(
        "database error on %s: %s",
        request.url.path,
        db.scrub(
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__, marsad.settings.db_url
        ),
    )
    return _error(
        request,
        503,
        f"the database {db.safe_url(marsad.settings.db_url)} did not answer; the page works again "
        "once it is back (the error is in the server's log)",
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Starlette re-raises it after this response, so the server logs the traceback once
    return _error(request, 500, "something went wrong on this page; the server's log says what")


def _home(_request: Request) -> Response:
    return RedirectResponse("/search", status_code=302)


def routes() -> list[BaseRoute]:
    collected: list[BaseRoute] = [Route("/", _home)]
    for module in PAGE_MODULES:
        collected.extend(module.routes)
    collected.append(Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"))
    return collected


def create_app(settings: WebSettings, engine: Engine | None = None) -> Starlette:
    """The application over *settings*' database, opened read-only (an existing database at the
    current schema revision: :func:`crawler.db.open_existing` errors say what to fix)."""
    engine = read_only(engine or db.open_existing(settings.db_url))
    app = Starlette(
        routes=routes(),
        middleware=[Middleware(SecurityHeaders), Middleware(TokenGate, token=settings.token)],
        exception_handlers={
            BadRequest: _bad_request,
            QuerySyntaxError: _query_syntax,
            HTTPException: _http_error,
            DBAPIError: _database_error,
            Exception: _unexpected,
        },
    )
    app.state.marsad = WebContext(settings, engine, load_config(settings.config_dir))
    return app
