"""Articles written through the normal pipeline functions (normalize, dedupe, tag, store), for
tests that need a few hand-made articles in a real database."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from datetime import datetime

from crawler.config import Topic
from crawler.crawl.items import ArticleItem
from crawler.extract.core import Extracted
from crawler.store import ArticleStore, Saved
from crawler.tagging import Tagger
from pipelines.dedupe import DedupePipeline
from pipelines.normalize import normalize_article


def make_item(
    body: str,
    url: str,
    source: str,
    *,
    title: str = "headline",
    published: datetime | None = None,
    lang: str = "ar",
    raw_html: str | None = None,
) -> ArticleItem:
    extracted = Extracted(
        url=url,
        title=title,
        text=body,
        author=None,
        published=published,
        date_source="page" if published else None,
        language=lang,
        description=None,
        image=None,
        categories=(),
        tags=(),
        published_offset=(
            int(published.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]  # aware
            if published is not None and published.utcoffset() is not None
            else None
        ),
    )
    item = ArticleItem(source=source, fetched_url=url, extracted=extracted)
    if raw_html is not None:
        item.raw, item.raw_compression = gzip.compress(raw_html.encode("utf-8")), "gzip"
        item.encoding, item.content_type = "utf-8", "text/html; charset=utf-8"
    return normalize_article(item)


def store_article(store: ArticleStore, item: ArticleItem, topics: Sequence[Topic] = ()) -> Saved:
    """*item* through dedupe (a changed text of a stored URL becomes a new version), tagging
    with *topics* and the store; the saved article."""
    item = DedupePipeline(store).process_item(item)
    item.topics = Tagger(topics).tag(item.title, item.text, item.extracted.language)
    saved = store.store(item)
    assert saved is not None, f"{item.url} was not stored"
    return saved
