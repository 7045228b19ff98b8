"""A fetched page's whole CPU work, done in an extraction worker: decode, extract, clean and
normalise the text once, tag it and fingerprint it for stories (all pure).

The crawl process is left with what needs the crawl's state or the database (scope of the
canonical URL, duplicates, the write). Each worker builds the ``Tagger`` once, from the topics
the crawl loaded at start (``init_worker``, pebble's initializer); ``work_page`` is what the
pool runs per page.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from crawler.config import Topic
from crawler.extract.core import MIN_CHARS, Extracted, PageHints
from crawler.extract.pool import PageResult, process_page
from crawler.stories import Fingerprint, StoryParams, fingerprint
from crawler.tagging import Tagger, TopicTag
from crawler.text.normalize import clean_text, content_hash_of_normalized, normalize_text

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedText:
    """An article's display text, its matching form and its content hash, computed once."""

    title: str
    text: str
    title_norm: str
    text_norm: str
    content_hash: str


def prepare(extracted: Extracted) -> PreparedText:
    """Clean display text and the Arabic-normalised matching form of an extracted article."""
    title, text = clean_text(extracted.title), clean_text(extracted.text)
    text_norm = normalize_text(text)
    return PreparedText(
        title, text, normalize_text(title), text_norm, content_hash_of_normalized(text_norm)
    )


@dataclass(frozen=True)
class PageJob:
    """What every page of one crawl is processed with (sent to each worker once)."""

    topics: tuple[Topic, ...] = ()
    story_params: StoryParams = field(default_factory=StoryParams)
    compression: str = "gzip"
    min_chars: int = MIN_CHARS


@dataclass(frozen=True)
class PageWork:
    """One page's result: the extraction, and for an article its text, topics and fingerprint."""

    page: PageResult
    prepared: PreparedText | None = None
    topics: tuple[TopicTag, ...] = ()
    fingerprint: Fingerprint | None = None


class _Worker:
    """This process's job and tagger (one per worker process; inline work uses its own)."""

    job: PageJob | None = None
    tagger: Tagger | None = None


_worker = _Worker()


def init_worker(job: PageJob) -> None:
    """pebble's initializer: keep the crawl's job and build its tagger once per worker."""
    _worker.job = job
    _worker.tagger = Tagger(job.topics) if job.topics else None


def work_page(
    body: bytes,
    url: str,
    content_type: str | None,
    hints: PageHints | None,
    forced_encoding: str | None = None,
) -> PageWork:
    """process_page, then (for an article) prepare, tag and fingerprint it."""
    job = _worker.job
    if job is None:  # a worker started without init_worker: a crawl with no topics
        init_worker(PageJob())
        job = _worker.job
        assert job is not None
    page = process_page(
        body, url, content_type, hints, forced_encoding, job.compression, job.min_chars
    )
    if not isinstance(page.result, Extracted):
        return PageWork(page)
    prepared = prepare(page.result)
    topics: Sequence[TopicTag] = ()
    if _worker.tagger is not None:
        topics = _worker.tagger.tag(prepared.title, prepared.text, page.result.language)
    return PageWork(
        page,
        prepared,
        tuple(topics),
        fingerprint(prepared.text_norm, job.story_params),
    )
