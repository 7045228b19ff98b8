"""The Jinja2 environment of the web page. Autoescaping is on for every template: crawled titles
and texts are untrusted and reach HTML only escaped."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from crawler.text.bidi import direction


def text_dir(lang: str | None, text: str | None = None) -> str:
    """``rtl`` or ``ltr`` for an element holding *text* in *lang* (the text decides when the
    language is unknown)."""
    return direction(text or "", (lang or "").split("-")[0].lower() or None)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("crawler.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["text_dir"] = text_dir
    return env


def render(
    request: Request, template: str, context: Mapping[str, Any], status: int = 200
) -> HTMLResponse:
    page = environment().get_template(template)
    html = page.render({"request": request, **context})
    return HTMLResponse(html, status_code=status)
