"""`marsad extract`: extraction and tagging of saved pages, no database, many files at once.

A file that cannot be read (missing, a folder, no permission, broken gzip) comes back as an
`Unreadable` in its place, so the batch goes on; a page that is read but rejected is a record.
"""

from __future__ import annotations

import errno
import gzip
import multiprocessing
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from crawler.config import Topic
from crawler.extract.core import Rejected
from crawler.extract.pool import PageResult, default_workers, process_page
from crawler.tagging import Tagger
from crawler.text.normalize import clean_text, content_hash

INLINE_BELOW = 4  # starting worker processes costs more than a few pages


@dataclass(frozen=True)
class Unreadable:
    """A file `marsad extract` could not read, and why (with what to do about it)."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"cannot read {self.path}: {self.reason}"


class UnreadableFile(Exception):
    """Raised by read_page; the message is the reason, for `Unreadable`."""


_OS_REASONS = {
    errno.ENOENT: "no such file; check the path",
    errno.EISDIR: "is a folder; give the files in it (e.g. FOLDER/*.html)",
    errno.EACCES: "permission denied; check the file's permissions",
    errno.EPERM: "permission denied; check the file's permissions",
}


def read_page(path: Path) -> bytes:
    """The page's bytes, gunzipped when they are gzip; UnreadableFile when that fails."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = _OS_REASONS.get(exc.errno or 0, exc.strerror or str(exc))
        raise UnreadableFile(reason) from exc
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as exc:  # truncated, or not gzip past its magic
        raise UnreadableFile(
            f"broken gzip ({exc}); the file is truncated or corrupt, save the page again"
        ) from exc


def _process(path: str, url: str | None) -> PageResult | Unreadable:
    try:
        body = read_page(Path(path))
    except UnreadableFile as exc:
        return Unreadable(path, str(exc))
    return process_page(body, url or "", None, None, compression="none")


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
) -> Iterator[dict[str, Any] | Unreadable]:
    """One record per file (or an Unreadable in its place), in the given order, streamed as
    soon as each is ready."""
    tagger = Tagger(topics)
    workers = default_workers() if workers < 0 else workers

    def record(path: Path, page: PageResult | Unreadable) -> dict[str, Any] | Unreadable:
        return page if isinstance(page, Unreadable) else to_record(path, page, tagger)

    if workers == 0 or len(paths) < INLINE_BELOW:
        for path in paths:
            yield record(path, _process(str(path), url))
        return
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pages = pool.map(_process, [str(p) for p in paths], [url] * len(paths), chunksize=4)
        for path, page in zip(paths, pages, strict=True):
            yield record(path, page)
