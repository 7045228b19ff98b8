"""URL patterns (article_patterns, deny_patterns, follow_patterns) cannot stall a crawl: they
are matched with RE2 in linear time, and what RE2 cannot do is a configuration error."""

from __future__ import annotations

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
