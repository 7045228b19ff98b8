"""`marsad extract`: extraction and tagging of saved pages, no database, many files at once."""

from __future__ import annotations

import gzip
import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from crawler.config import Topic
from crawler.extract.core import Rejected
from crawler.extract.pool import PageResult, default_workers, process_page
from crawler.tagging import Tagger
from crawler.text.normalize import clean_text, content_hash

INLINE_BELOW = 4  # starting worker processes costs more than a few pages


def read_page(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _process(path: str, url: str | None) -> PageResult:
    return process_page(read_page(Path(path)), url or "", None, None, compression="none")


def to_record(path: Path, page: PageResult, tagger: Tagger) -> dict[str, Any]:
    record: dict[str, Any] = {"path": str(path), "encoding": page.encoding}
    result = page.result
    if isinstance(result, Rejected):
        return {
            **record,
            "rejected": result.reason,
            "detail": result.detail,
            "url": None,
            "title": None,
            "author": None,
            "date": None,
            "date_source": None,
            "language": None,
            "text": None,
            "content_hash": None,
            "topics": {},
            "matches": [],
        }
    tags = tagger.tag(result.title, result.text, result.language)
    return {
        **record,
        "url": result.url,
        "title": result.title,
        "author": result.author,
        "date": result.published.isoformat() if result.published else None,
        "date_source": result.date_source,
        "language": result.language,
        "description": result.description,
        "image": result.image,
        "categories": list(result.categories),
        "tags": list(result.tags),
        "text": result.text,
        # the stored article's fingerprint: equal for copies whose text differs only in
        # spacing, case, diacritics or Arabic letter variants
        "content_hash": content_hash(clean_text(result.text)),
        "topics": {tag.topic: round(tag.score, 3) for tag in tags},
        "matches": [
            {"topic": tag.topic, **asdict(evidence)} for tag in tags for evidence in tag.evidence
        ],
    }


def extract_files(
    paths: Sequence[Path], topics: Sequence[Topic], url: str | None = None, workers: int = -1
) -> Iterator[dict[str, Any]]:
    """One record per file, in the given order, streamed as soon as each is ready."""
    tagger = Tagger(topics)
    workers = default_workers() if workers < 0 else workers
    if workers == 0 or len(paths) < INLINE_BELOW:
        for path in paths:
            yield to_record(path, _process(str(path), url), tagger)
        return
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pages = pool.map(_process, [str(p) for p in paths], [url] * len(paths), chunksize=4)
        for path, page in zip(paths, pages, strict=True):
            yield to_record(path, page, tagger)
