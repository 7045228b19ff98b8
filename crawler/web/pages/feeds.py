"""Atom feeds: the newest articles of a topic (``/feeds/topic/<name>.atom``) or of a search
(``/feeds/search.atom?q=…``), with no age cut. Built with ElementTree (every title and text
XML-escaped; characters XML cannot hold dropped). Feed readers cannot send headers, so the
access token may ride in the feed's URL (``?token=``, accepted by the TokenGate)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from crawler import db
from crawler.search import Filters, search
from crawler.web.pages.search import check_filters, search_request
from crawler.web.params import NotFound, int_param
from crawler.web.state import context

ATOM = "http://www.w3.org/2005/Atom"
#: Entries of a feed unless ?limit= says otherwise.
FEED_ENTRIES = 50
MAX_FEED_ENTRIES = 500
SUMMARY_CHARS = 600
#: Characters of the text in an entry's content (a reader shows the lead; the page has it all).
CONTENT_CHARS = 3_000
#: Characters XML 1.0 cannot carry (controls other than tab, newline, carriage return).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: str | None) -> str:
    return _NOT_XML.sub("", value or "")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _xml_text(text)
    return element


def _entry_id(request: Request, article_id: int) -> str:
    # a tag URI (RFC 4151): stable for the article whatever its title or URL becomes
    return f"tag:{request.url.hostname or 'localhost'},2024:marsad/article/{article_id}"


def atom_feed(
    request: Request, title: str, feed_id: str, rows: list[dict[str, Any]], texts: dict[int, Any]
) -> bytes:
    """The Atom document of *rows* (search result dicts, newest first)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "title", title)
    _sub(feed, "id", feed_id)
    _sub(feed, "link", rel="self", href=str(request.url))
    _sub(feed, "link", rel="alternate", type="text/html", href=str(request.url_for("search_page")))
    _sub(feed, "generator", "Marsad")
    updated = [r["fetched_at"] for r in rows if r.get("fetched_at")]
    _sub(feed, "updated", max(updated) if updated else datetime.now(UTC).isoformat())
    base = str(request.base_url).rstrip("/")
    for row in rows:
        entry = _sub(feed, "entry")
        _sub(entry, "id", _entry_id(request, row["id"]))
        title_element = _sub(entry, "title", row["title"] or "(no title)", type="text")
        if row.get("language"):
            title_element.set("xml:lang", _xml_text(row["language"]))
        _sub(entry, "link", rel="alternate", type="text/html", href=f"{base}/articles/{row['id']}")
        _sub(entry, "link", rel="related", href=row["url"])
        _sub(entry, "updated", texts.get(row["id"], {}).get("updated") or row["fetched_at"])
        if row.get("published_at"):
            _sub(entry, "published", row["published_at"])
        author = _sub(entry, "author")
        _sub(author, "name", row["source"])
        for topic in row.get("topics") or {}:
            _sub(entry, "category", term=topic)
        for tag in ("summary", "content"):
            value = texts.get(row["id"], {}).get(tag) or ""
            if value:
                element = _sub(entry, tag, value, type="text")
                if row.get("language"):
                    element.set("xml:lang", _xml_text(row["language"]))
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")


def _summaries(session: Any, ids: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    if not ids:
        return out
    stmt = select(
        db.Article.id, db.Article.description, db.Article.text, db.Article.updated_at
    ).where(db.Article.id.in_(ids))
    for article_id, description, text, updated in session.execute(stmt):
        summary = (description or text or "")[:SUMMARY_CHARS]
        out[article_id] = {
            "summary": " ".join(summary.split()),
            "content": (text or "")[:CONTENT_CHARS],
            "updated": db.as_utc(updated).isoformat() if updated else None,
        }
    return out


def _respond(request: Request, title: str, feed_id: str, filters: Filters, query: str) -> Response:
    marsad = context(request)
    limit = int_param(request, "limit", FEED_ENTRIES, low=1, high=MAX_FEED_ENTRIES)
    with marsad.session() as session:
        check_filters(session, marsad.config, filters)
        rows = search(session, query or None, filters, limit=limit, sort="date")
        texts = _summaries(session, [row["id"] for row in rows])
    body = atom_feed(request, title, feed_id, rows, texts)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def topic_feed(request: Request) -> Response:
    name = str(request.path_params["name"])
    marsad = context(request)
    known = [t.key for t in marsad.config.topics]
    if name not in known:
        with marsad.session() as session:
            if not db.stored_values(session, db.ArticleTopic.topic, [name]):
                raise NotFound(
                    f"no topic {name[:80]!r}: the topics are {', '.join(known) or 'none'}"
                )
    return _respond(
        request,
        f"Marsad: topic {name}",
        str(request.base_url).rstrip("/") + f"/topics/{quote(name)}",
        Filters(topics=(name,)),
        "",
    )


def search_feed(request: Request) -> Response:
    wanted = search_request(request)
    described = wanted.query or "all articles"
    base = str(request.base_url).rstrip("/")
    return _respond(
        request,
        f"Marsad: {described}",
        base + wanted.url("/search", page=None, sort=None),
        wanted.filters,
        wanted.query,
    )


routes: list[BaseRoute] = [
    Route("/feeds/topic/{name}.atom", topic_feed),
    Route("/feeds/search.atom", search_feed),
]
