"""CPU-heavy page work (decode, extract, compress), run in worker processes off the reactor."""

from __future__ import annotations

import asyncio
import gzip
import logging
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from crawler.encoding import decode_html
from crawler.extract import Extracted, PageHints, Rejected, extract

logger = logging.getLogger(__name__)

COMPRESSIONS = ("gzip", "none")


@dataclass(frozen=True)
class PageResult:
    result: Extracted | Rejected
    encoding: str
    raw: bytes | None
    raw_compression: str | None


def process_page(
    body: bytes,
    url: str,
    content_type: str | None,
    hints: PageHints | None,
    forced_encoding: str | None = None,
    compression: str = "gzip",
    min_chars: int = 200,
) -> PageResult:
    """Decode and extract one page; keep its bytes compressed when it is an article."""
    html, encoding = decode_html(body, content_type, forced_encoding)
    result = extract(html, url, hints, min_chars=min_chars)
    if isinstance(result, Rejected) or compression == "none":
        return PageResult(result, encoding, None, None)
    return PageResult(result, encoding, gzip.compress(body, compresslevel=6), compression)


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


class PagePool:
    """A pool of extraction processes (or inline work when *workers* is 0)."""

    def __init__(self, workers: int):
        self.workers = workers
        self._executor: Executor | None = None

    def _start(self) -> Executor:
        if self._executor is None:
            # forkserver: children never inherit the reactor's threads or sockets.
            context = multiprocessing.get_context("forkserver")
            self._executor = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._executor

    async def run(self, *args: object) -> PageResult:
        if self.workers <= 0:
            return process_page(*args)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._start(), process_page, *args)
        except BrokenProcessPool:
            logger.warning("an extraction worker died; restarting the pool")
            self.close()
            raise

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
