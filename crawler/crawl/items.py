"""What flows through the pipelines: a fetched page, then the article made from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crawler.extract.core import Extracted, PageHints
from crawler.stories import Fingerprint
from crawler.tagging import TopicTag


@dataclass
class FetchedPage:
    """An article page as the spider received it; nothing parsed yet."""

    source: str
    url: str  # final URL, after redirects
    requested_urls: tuple[str, ...]  # every URL that led here (redirect chain)
    body: bytes
    content_type: str | None
    hints: PageHints
    forced_encoding: str | None = None

    def __repr__(self) -> str:  # Scrapy logs items it drops: never the page itself
        return f"FetchedPage({self.source!r}, {self.url!r}, {len(self.body)} bytes)"


@dataclass
class ArticleItem:
    """An extracted article on its way to the database."""

    source: str
    fetched_url: str
    extracted: Extracted
    encoding: str | None = None
    content_type: str | None = None
    raw: bytes | None = None  # compressed page bytes
    raw_compression: str | None = None
    requested_urls: tuple[str, ...] = ()  # redirect chain that led to fetched_url
    # set by the normalize pipeline
    url: str = ""
    url_key: str = ""
    alias_keys: tuple[str, ...] = ()  # URL keys of the other URLs that led here
    title: str = ""
    text: str = ""
    title_norm: str = ""
    text_norm: str = ""
    content_hash: str = ""
    fetched_at: datetime | None = None
    # set by the extract pipeline when its worker already cleaned and normalised the text,
    # tagged it and fingerprinted it (the later pipelines then leave them as they are)
    prepared: bool = False
    # set by the dedupe pipeline: the stored article this is a new version of
    update_of: int | None = None
    # set by the tag pipeline
    topics: list[TopicTag] = field(default_factory=list)
    # set by the stories pipeline (the store computes it when missing)
    fingerprint: Fingerprint | None = None
    # set by the store pipeline
    story_id: int | None = None
    new_story: bool = False

    def __repr__(self) -> str:  # Scrapy logs items it drops: never the page or its text
        return f"ArticleItem({self.source!r}, {(self.url or self.fetched_url)!r})"
