"""Query parameters, validated: a bad value raises :class:`BadRequest` (a 400 page or JSON error
that names the parameter, the value and what is accepted), never a traceback."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from starlette.requests import Request

from crawler.timespec import parse_since

MAX_PARAM_CHARS = 2_000


class BadRequest(Exception):
    """A request the application refuses, with a message for the analyst (status 400)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class NotFound(BadRequest):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=404)


def text_param(request: Request, name: str, default: str = "") -> str:
    value = request.query_params.get(name, default)
    if len(value) > MAX_PARAM_CHARS:
        raise BadRequest(f"{name} is {len(value)} characters long: at most {MAX_PARAM_CHARS}")
    return value.strip()


def list_param(request: Request, name: str, *, limit: int = 50) -> tuple[str, ...]:
    """Every value of *name* (``?topic=a&topic=b`` or ``?topic=a,b``), empty ones dropped."""
    values: list[str] = []
    for raw in request.query_params.getlist(name):
        if len(raw) > MAX_PARAM_CHARS:
            raise BadRequest(f"{name} is {len(raw)} characters long: at most {MAX_PARAM_CHARS}")
        values.extend(v.strip() for v in raw.split(",") if v.strip())
    if len(values) > limit:
        raise BadRequest(f"{name} has {len(values)} values: at most {limit}")
    return tuple(dict.fromkeys(values))


def int_param(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise BadRequest(f"{name}={raw[:40]!r} is not a whole number") from None
    if not low <= value <= high:
        raise BadRequest(f"{name}={value} is out of range: use {low} to {high}")
    return value


def choice_param(request: Request, name: str, choices: Sequence[str], default: str) -> str:
    value = request.query_params.get(name, "").strip() or default
    if value not in choices:
        raise BadRequest(f"{name}={value[:40]!r} is not one of: {', '.join(choices)}")
    return value


def when_param(request: Request, name: str, *, end: bool = False) -> datetime | None:
    """``since``/``until``: an ISO date or datetime, or an age (7d, 24h); empty means no bound."""
    raw = text_param(request, name)
    try:
        return parse_since(raw, end=end)
    except ValueError:
        raise BadRequest(
            f"{name}={raw[:40]!r} is not a date (2024-05-01), a date and time "
            "(2024-05-01T08:00) or an age (90m, 24h, 7d, 2w)"
        ) from None


def id_param(request: Request, name: str, what: str) -> int:
    """A whole-number id from the path (``/articles/{article_id}``): anything else is a 400."""
    raw = str(request.path_params[name])
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise BadRequest(f"{what} id {raw[:40]!r} is not a whole number (an id is like 123)")
    return int(raw)
