"""One module per area of the web page; each exports ``routes`` (Starlette routes)."""

from __future__ import annotations

from types import ModuleType

from crawler.web.pages import api, articles, feeds, search, sources, stories, topics

PAGE_MODULES: tuple[ModuleType, ...] = (search, stories, articles, topics, sources, feeds, api)
