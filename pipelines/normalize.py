"""Canonical URL, clean display text and the Arabic-normalised matching form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crawler.crawl.items import ArticleItem
from crawler.text.normalize import canonical_url, clean_text, content_hash, normalize_text, url_key


def normalize_article(item: ArticleItem, now: datetime | None = None) -> ArticleItem:
    extracted = item.extracted
    item.url = canonical_url(extracted.url or item.fetched_url)
    item.url_key = url_key(item.url)
    seen = {item.url_key}
    aliases = []
    for url in (item.fetched_url, *item.requested_urls):
        key = url_key(url)
        if key not in seen:
            seen.add(key)
            aliases.append(key)
    item.alias_keys = tuple(aliases)
    item.title = clean_text(extracted.title)
    item.text = clean_text(extracted.text)
    item.title_norm = normalize_text(item.title)
    item.text_norm = normalize_text(item.text)
    item.content_hash = content_hash(item.text)
    item.fetched_at = now or datetime.now(UTC)
    return item


class NormalizePipeline:
    def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleItem):
            return normalize_article(item)
        return item
