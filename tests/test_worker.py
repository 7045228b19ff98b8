"""The extraction pool: results match inline work; a stuck page is killed, the pool goes on."""

from __future__ import annotations

import asyncio

import pytest

from crawler.extract.core import Extracted
from crawler.extract.pool import ExtractionTimeout, PagePool, process_page

PARAGRAPH = "<p>" + "وأكدت وزارة الاقتصاد والمالية أن معدل النمو بلغ ثلاثة في المائة. " * 8 + "</p>"
PAGE = (
    "<html lang='ar'><head><title>النمو الاقتصادي - موقع</title></head><body><article>"
    f"<h1>النمو الاقتصادي</h1>{PARAGRAPH * 3}</article></body></html>"
).encode()


def test_pool_matches_inline_and_survives_a_timeout() -> None:
    inline = process_page(PAGE, "https://a.ma/x.html", "text/html; charset=utf-8", None)
    assert isinstance(inline.result, Extracted) and inline.raw is not None

    pool = PagePool(workers=1, timeout=0.05)
    huge = PAGE.replace(b"</article>", b"<div><p>x</p></div>" * 300_000 + b"</article>")

    async def scenario() -> None:
        with pytest.raises(ExtractionTimeout):  # several seconds of work, killed at 50 ms
            await pool.run(huge, "https://a.ma/x.html", "text/html; charset=utf-8", None)
        pool.timeout = 60
        page = await pool.run(PAGE, "https://a.ma/x.html", "text/html; charset=utf-8", None)
        assert page.result == inline.result and page.encoding == inline.encoding

    try:
        asyncio.run(scenario())
    finally:
        pool.close()
