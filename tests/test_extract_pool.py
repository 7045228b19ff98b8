"""A page's work in a real extraction worker (crawler/crawl/pagework.py) gives what the
pipelines would compute in the crawl process: clean and normalised text, content hash, tags,
story fingerprint; the tagger is built once per worker from the crawl's topics."""

from __future__ import annotations

import asyncio
from pathlib import Path

from crawler.config import load_config
from crawler.crawl.items import ArticleItem
from crawler.crawl.pagework import PageJob, PageWork, init_worker, work_page
from crawler.extract.core import Extracted
from crawler.extract.pool import PagePool
from crawler.stories import StoryParams, fingerprint
from crawler.tagging import Tagger
from crawler.text.normalize import content_hash
from pipelines.normalize import normalize_article

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"
SENTENCE = (
    "أعلن المغرب وإسبانيا يوم الثلاثاء في الرباط عن اتفاق جديد حول الهجرة والتعاون الأمني "
    "بين البلدين، بحضور وزيري الداخلية وممثلين عن الاتحاد الأوروبي. "
)
PAGE = (
    "<html lang='ar'><head><title>اتفاق الهجرة - موقع</title>"
    "<meta property='article:published_time' content='2026-03-10T08:00:00+01:00'></head>"
    f"<body><article><h1>اتفاق الهجرة</h1>{('<p>' + SENTENCE * 4 + '</p>') * 4}"
    "</article></body></html>"
).encode()
URL = "https://a.ma/news/1.html"


def test_a_worker_prepares_tags_and_fingerprints_as_the_pipelines_would() -> None:
    topics = tuple(load_config(str(REPO_CONFIG)).topics)
    params = StoryParams(threshold=0.3, window_days=7)
    pool = PagePool(
        workers=1, timeout=120, initializer=init_worker, initargs=(PageJob(topics, params),)
    )

    async def in_worker() -> list[PageWork]:
        return [
            await pool.submit(work_page, PAGE, URL, "text/html; charset=utf-8", None)
            for _ in range(2)  # the second page reuses the worker and its tagger
        ]

    try:
        first, second = asyncio.run(in_worker())
    finally:
        pool.close()
    assert first == second
    extracted = first.page.result
    assert isinstance(extracted, Extracted) and first.prepared is not None

    # what normalize, tag and stories compute in the crawl process for an unprepared item
    item = normalize_article(ArticleItem(source="a", fetched_url=URL, extracted=extracted))
    prepared = first.prepared
    assert (prepared.title, prepared.text) == (item.title, item.text)
    assert (prepared.title_norm, prepared.text_norm) == (item.title_norm, item.text_norm)
    assert prepared.content_hash == item.content_hash == content_hash(item.text)
    tags = Tagger(topics).tag(item.title, item.text, extracted.language)
    assert tags and list(first.topics) == tags
    assert first.fingerprint == fingerprint(item.text_norm, params)


def test_a_rejected_page_carries_no_prepared_text() -> None:
    init_worker(PageJob())
    work = work_page(b"<html><body><p>short</p></body></html>", URL, "text/html", None)
    assert not isinstance(work.page.result, Extracted)
    assert work.prepared is None and work.topics == () and work.fingerprint is None
