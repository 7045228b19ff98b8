"""The JSON API and the downloads, served over SQLite and the real PostgreSQL server: the same
dicts as the library, CSV with a BOM and neutralised formulas, NDJSON, hostile text escaped."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.web_hostile import CONFIG, HOSTILE_TEXT, HOSTILE_TITLE, build
from tests.webserver import RunningWeb, running_web

ISRAEL = "اسرائيل"


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[RunningWeb, dict[str, int]]]:
    ids = build(db_url)
    with running_web(db_url, CONFIG) as web:
        yield web, ids


def test_api_search_counts_pages_and_marks_snippets(
    served: tuple[RunningWeb, dict[str, int]],
) -> None:
    web, ids = served
    found = httpx.get(web.url("/api/search"), params={"q": ISRAEL}).json()
    assert found["total"] == 3
    assert {r["id"] for r in found["results"]} == {ids["hostile"], ids["wire1"], ids["wire2"]}
    wire = next(r for r in found["results"] if r["id"] == ids["wire1"])
    assert ["وإسرائيل", True] in wire["snippet"] and ["وإسرائيل", True] in wire["title_segments"]
    assert wire["topics"] == {"israel": 2.0, "defense": 2.0}
    paged = httpx.get(web.url("/api/search"), params={"q": ISRAEL, "per_page": 2, "page": 2})
    assert paged.json()["total"] == 3 and len(paged.json()["results"]) == 1
    faceted = httpx.get(web.url("/api/search"), params={"q": ISRAEL, "facets": 1}).json()
    assert faceted["facets"]["sources"] == {"hespress-ar": 2, "le360-ar": 1}
    assert faceted["facets"]["topics"] == {"israel": 3, "defense": 2}
    assert faceted["facets"]["languages"] == {"ar": 3}
    assert faceted["facets"]["days"] == {"2026-03-10": 1, "2026-03-11": 2}
    # a day facet's link (since=day&until=day) selects that day's articles
    day = httpx.get(web.url("/api/search"), params={"since": "2026-03-11", "until": "2026-03-11"})
    assert day.json()["total"] == faceted["facets"]["days"]["2026-03-11"]
    everything = httpx.get(web.url("/api/search")).json()
    assert everything["total"] == 5 and everything["sort"] == "date"
    bad = httpx.get(web.url("/api/search"), params={"per_page": 1000})
    assert (
        bad.status_code == 400
        and bad.json()["error"] == "per_page=1000 is out of range: use 1 to 100"
    )


def test_api_attention_counts_stories_once(served: tuple[RunningWeb, dict[str, int]]) -> None:
    web, _ids = served
    result = httpx.get(web.url("/api/attention"), params={"q": ISRAEL}).json()
    assert result["total"] == 3 and result["stories"] == 2  # the two wire copies: one story
    assert [(d["day"], d["articles"], d["stories"]) for d in result["days"]] == [
        ("2026-03-10", 1, 1),
        ("2026-03-11", 2, 1),
    ]
    assert [d["collected_articles"] for d in result["days"]] == [1, 2]
    assert [d["story_share"] for d in result["days"]] == [1.0, 1.0]
    assert [s["source"] for s in result["sources"]] == ["hespress-ar", "le360-ar"]  # first first
    french = httpx.get(web.url("/api/attention"), params={"q": "israel"}).json()
    assert french["days"] == [
        {"day": "2026-03-12", "articles": 1, "stories": 1, "collected_articles": 1,
         "collected_stories": 1, "article_share": 1.0, "story_share": 1.0}
    ]  # fmt: skip
    everything = httpx.get(web.url("/api/attention")).json()
    assert len(everything["days"]) == 4 and everything["stories"] == 4
    words = [w["key"] for w in everything["top_words"]["words"]]
    assert "مغرب" in words and "في" not in words and "et" not in words


def test_api_stories(served: tuple[RunningWeb, dict[str, int]]) -> None:
    web, ids = served
    stories = httpx.get(web.url("/api/stories"), params={"since": "2000-01-01"}).json()
    assert len(stories["stories"]) == 1
    assert stories["stories"][0]["canonical"]["id"] == ids["wire1"]
    assert httpx.get(web.url("/api/stories?order=slowest")).status_code == 400


def test_csv_download_has_a_bom_and_neutralised_formulas(
    served: tuple[RunningWeb, dict[str, int]],
) -> None:
    web, ids = served
    response = httpx.get(web.url("/search.csv"), params={"q": ISRAEL})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbfid,published_at,")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert len(rows) == 3
    hostile = next(r for r in rows if r["id"] == str(ids["hostile"]))
    assert hostile["description"] == "'@description" and hostile["title"] == HOSTILE_TITLE
    assert hostile["text"] == HOSTILE_TEXT and hostile["topics"] == "israel"
    limited = httpx.get(web.url("/search.csv"), params={"limit": 2, "text": 0})
    lines = limited.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 3 and not lines[0].endswith(",text")


def test_ndjson_download_is_one_article_per_line(served: tuple[RunningWeb, dict[str, int]]) -> None:
    web, _ids = served
    response = httpx.get(web.url("/search.ndjson"), params={"lang": "ar"})
    assert response.headers["content-type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in response.text.splitlines()]
    assert len(records) == 3 and all(r["language"] == "ar" for r in records)
    assert records[0]["published_at"] >= records[-1]["published_at"]  # newest first


def test_hostile_text_is_escaped_on_every_search_view(
    served: tuple[RunningWeb, dict[str, int]],
) -> None:
    web, _ids = served
    for path in ("/search", "/search/facets", "/search/attention"):
        html = httpx.get(web.url(path), params={"q": ISRAEL}).text
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "onmouseover=alert" not in html.replace("onmouseover=alert(2)&gt;", "")
    page = httpx.get(web.url("/search"), params={"q": ISRAEL}).text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "&lt;b onmouseover=alert(2)&gt;bold&lt;/b&gt;" in page
