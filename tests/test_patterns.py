"""URL patterns (article_patterns, deny_patterns, follow_patterns) cannot stall a crawl: they
are matched with RE2 in linear time, and what RE2 cannot do is a configuration error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.config import ConfigError, compile_pattern, load_config

REPO = Path(__file__).resolve().parent.parent
CATASTROPHIC = "(a+)+$"  # Python's re needs 2**40 steps for the URL below
HOSTILE_URL = "http://127.0.0.1:8081/" + "a" * 40 + "!"
TIMEOUT = 120  # seconds: generous for a loaded 2-core machine; the match itself takes microseconds

SOURCE = """
[sources.demo]
name = "Demo"
lang = "ar"
domains = ["127.0.0.1:8081"]
feeds = ["http://127.0.0.1:8081/feed"]
{field} = ['{pattern}']
"""
TOPICS = """
[topics.demo]
label = "Demo"
terms = { ar = ["كلمة"], fr = ["mot"] }
"""


def write(directory: Path, field: str, pattern: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    body = SOURCE.format(field=field, pattern=pattern)  # a TOML literal string: no escapes
    (directory / "sources.toml").write_text(body, encoding="utf-8")
    (directory / "topics.toml").write_text(TOPICS, encoding="utf-8")
    return directory


PROBE = """
import sys
from crawler.config import load_config
from spiders.news import NewsSpider

spider = NewsSpider(config=sys.argv[1])
allow, deny, follow = spider._patterns["demo"]
url = sys.argv[2]
print([p.search(url) is not None for p in allow + deny + follow])
"""


@pytest.mark.parametrize("field", ["deny_patterns", "article_patterns", "follow_patterns"])
def test_a_catastrophic_pattern_matches_a_hostile_url_promptly(tmp_path: Path, field: str) -> None:
    config = write(tmp_path / "config", field, CATASTROPHIC)
    (source,) = load_config(config).sources
    assert getattr(source, field) == (CATASTROPHIC,)
    # The spider's own compiled patterns, in a child process: a backtracking engine would hang
    # it (and hold the GIL), so the timeout, not the test run, would end it.
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(config), HOSTILE_URL],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=REPO,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[False]"
    assert compile_pattern(CATASTROPHIC).search(HOSTILE_URL[:-1]) is not None  # still a regex


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"/(\d+)/\1/", "backreference"),
        (r"/news/(?!video)", "lookaround"),
        (r"(?<=/ar)/\d+", "lookaround"),
    ],
)
def test_a_pattern_re2_cannot_run_is_a_config_error(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], pattern: str, reason: str
) -> None:
    config = write(tmp_path / "config", "deny_patterns", pattern)
    with pytest.raises(ConfigError) as info:
        load_config(config)
    err = info.value
    assert err.file.endswith("sources.toml")
    assert err.key == "sources.demo.deny_patterns[0]"
    assert err.value == pattern
    assert "not supported" in err.problem
    assert "linear time (RE2)" in err.problem
    assert "backreferences" in err.problem and "lookarounds" in err.problem
    assert "rewrite it without them" in err.fix
    assert "deny_patterns" in str(err)
    assert capfd.readouterr().err == ""  # RE2 logs nothing of its own


def test_an_invalid_pattern_keeps_pythons_explanation(tmp_path: Path) -> None:
    config = write(tmp_path / "config", "article_patterns", "/(\\d+")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert "invalid regular expression" in info.value.problem
    assert "missing )" in info.value.problem


CALLBACKS_PROBE = """
import json, sys
from scrapy import Request
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler
from crawler.config import parse_sources
from crawler.crawl.middlewares import DOMAINS_META, SOURCE_META
from spiders.news import NewsSpider

table = {"name": "Atlas", "lang": "ar", "domains": ["atlas.example"],
         "feeds": ["https://atlas.example/feed"], "deny_patterns": [sys.argv[1]],
         "follow_patterns": [sys.argv[1]]}
spider = NewsSpider(sources=parse_sources({"sources": {"atlas": table}}))
spider.crawler = get_crawler(NewsSpider)
spider.crawler.stats.open_spider()
hostile, denied = sys.argv[2], sys.argv[2].rstrip("!")

def fetched(url, body):
    meta = {SOURCE_META: "atlas", DOMAINS_META: ("atlas.example",), "marsad_entry": "x"}
    return TextResponse(url=url, body=body.encode(), encoding="utf-8", request=Request(url, meta=meta))

feed = "<rss><channel>" + "".join(f"<item><link>{u}</link></item>" for u in (hostile, denied))
feed += "</channel></rss>"
links = (hostile + "s!", denied + "/aaa")  # not the feed's: those are queued already
section = "<html><body>" + "".join(f'<a href="{u}">x</a>' for u in links) + "</body></html>"
out = {
    "feed": [r.url for r in spider.parse_feed(fetched("https://atlas.example/feed", feed))],
    "section": [r.url for r in spider.parse_section(fetched("https://atlas.example/s", section))],
    "denied": spider.crawler.stats.get_value("marsad/atlas/denied", 0),
}
print(json.dumps(out))
"""


def test_the_spiders_feed_and_section_callbacks_match_a_catastrophic_pattern_promptly() -> None:
    """Feed links and section links (once matched by LinkExtractor's deny, with Python's re)
    go through the RE2 patterns: the hostile URL is kept, the one ending in a's denied."""
    hostile = "https://atlas.example/" + "a" * 40 + "!"
    run = subprocess.run(
        [sys.executable, "-c", CALLBACKS_PROBE, CATASTROPHIC, hostile],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=REPO,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out == {"feed": [hostile], "section": [hostile + "s!"], "denied": 1}
