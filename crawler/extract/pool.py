"""CPU-heavy page work (decode, extract, compress), run in worker processes off the reactor."""

from __future__ import annotations

import asyncio
import gzip
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass
from typing import Any, TypeVar

from pebble import ProcessPool

from crawler.extract.core import MIN_CHARS, Extracted, PageHints, Rejected, extract
from crawler.text.encoding import decode_html

logger = logging.getLogger(__name__)

COMPRESSIONS = ("gzip", "none")

T = TypeVar("T")


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
    min_chars: int = MIN_CHARS,
) -> PageResult:
    """Decode and extract one page; keep its bytes compressed when it is an article."""
    html, encoding = decode_html(body, content_type, forced_encoding)
    result = extract(html, url, hints, min_chars=min_chars)
    if isinstance(result, Rejected) or compression == "none":
        return PageResult(result, encoding, None, None)
    raw = gzip.compress(body, compresslevel=6, mtime=0)  # the same page, the same bytes
    return PageResult(result, encoding, raw, compression)


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


class ExtractionTimeout(Exception):
    """A page took longer than the per-page limit; its worker was killed and replaced."""


class PagePool:
    """Extraction worker processes (or inline work when *workers* is 0).

    pebble kills a worker stuck on a pathological page after *timeout* seconds and replaces
    it, and recycles each worker after *max_tasks* pages so memory stays flat on long crawls.
    *initializer* (with *initargs*) runs once in each new worker (or once, before the first
    inline task): what every task of the crawl shares is sent once per worker, not per page.
    """

    def __init__(
        self,
        workers: int,
        timeout: float,
        max_tasks: int = 500,
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
    ):
        self.workers = workers
        self.timeout = timeout
        self.max_tasks = max_tasks
        self.initializer = initializer
        self.initargs = initargs
        self._pool: ProcessPool | None = None
        self._initialized_inline = False

    def _start(self) -> ProcessPool:
        if self._pool is None:
            # forkserver: children never inherit the reactor's threads or sockets.
            self._pool = ProcessPool(
                max_workers=self.workers,
                max_tasks=self.max_tasks,
                context=multiprocessing.get_context("forkserver"),
                initializer=self.initializer,
                initargs=self.initargs,
            )
        return self._pool

    async def submit(self, function: Callable[..., T], *args: Any) -> T:
        """function(*args) in a worker process (or inline); *function* must be importable."""
        if self.workers <= 0:
            if self.initializer is not None and not self._initialized_inline:
                self.initializer(*self.initargs)
                self._initialized_inline = True
            return function(*args)
        future = self._start().schedule(function, args=args, timeout=self.timeout)
        try:
            result: T = await asyncio.wrap_future(future)
        except FuturesTimeout as exc:
            raise ExtractionTimeout(f"extraction took longer than {self.timeout:g}s") from exc
        return result

    async def run(
        self,
        body: bytes,
        url: str,
        content_type: str | None,
        hints: PageHints | None,
        forced_encoding: str | None = None,
        compression: str = "gzip",
        min_chars: int = MIN_CHARS,
    ) -> PageResult:
        """process_page(...) in a worker process (or inline)."""
        args = (body, url, content_type, hints, forced_encoding, compression, min_chars)
        return await self.submit(process_page, *args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None
