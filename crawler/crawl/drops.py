"""Typed reasons for dropping an item, so Scrapy and the crawl report count them by kind."""

from __future__ import annotations

from scrapy.exceptions import DropItem


class RejectedPage(DropItem):
    """The page is not an article (listing, tag page, too short, not HTML...)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"rejected ({reason}): {detail}".rstrip(": "))
        self.reason = reason


class DuplicateArticle(DropItem):
    """The article is already stored, or was already seen in this crawl."""


class ExtractionFailed(DropItem):
    """Extraction crashed on this page; it is logged and counted, the crawl goes on."""
