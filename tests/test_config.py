"""Tests for crawler.config: the shipped configuration and every validation error."""

from __future__ import annotations

import dataclasses
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler import config as cfg
from crawler.config import (
    Config,
    ConfigError,
    Schedule,
    Source,
    Topic,
    load_config,
    parse_interval,
    parse_sources,
    parse_topics,
    resolve_config_dir,
    url_in_domains,
)
from crawler.config.schedule import crontab_weekdays

REPO_CONFIG = Path(cfg.__file__).resolve().parents[2] / "config"

MINIMAL_SOURCE = """
[sources.demo]
name = "Demo"
lang = "ar"
domains = ["example.com"]
feeds = ["https://www.example.com/feed"]
"""

MINIMAL_TOPICS = """
[topics.demo]
label = "Demo"
terms = { ar = ["كلمة"], fr = ["mot"] }
"""


def write(directory: Path, sources: str = MINIMAL_SOURCE, topics: str | None = MINIMAL_TOPICS):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sources.toml").write_text(textwrap.dedent(sources), encoding="utf-8")
    if topics is not None:
        (directory / "topics.toml").write_text(textwrap.dedent(topics), encoding="utf-8")
    return directory


def source_error(tmp_path: Path, body: str) -> ConfigError:
    write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    return info.value


def source_toml(**fields: str) -> str:
    """A valid [sources.demo] table with some fields replaced (values are TOML text)."""
    base = {
        "name": '"Demo"',
        "lang": '"ar"',
        "domains": '["example.com"]',
        "feeds": '["https://www.example.com/feed"]',
    }
    base.update(fields)
    lines = [f"{k} = {v}" for k, v in base.items() if v is not None and v != "<drop>"]
    return "[sources.demo]\n" + "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- shipped config


@pytest.fixture(scope="module")
def shipped() -> Config:
    return load_config(REPO_CONFIG)


def test_shipped_config_loads(shipped: Config) -> None:
    assert len(shipped.sources) >= 12
    keys = [s.key for s in shipped.sources]
    assert len(keys) == len(set(keys))
    for expected in (
        "hespress-ar",
        "hespress-fr",
        "le360-fr",
        "le360-ar",
        "moroccoworldnews",
        "northafricapost",
        "alyaoum24",
        "barlamane-ar",
        "timesofisrael",
        "i24news-ar",
        "aljazeera-ar",
        "bbc-arabic",
        "aawsat-ar",
        "anadolu-ar",
    ):
        assert expected in keys
    assert {s.lang for s in shipped.sources} == {"ar", "fr", "en"}
    for source in shipped.sources:
        assert source.feeds or source.sitemaps or source.sections
        assert source.interval is not None or source.cron is not None
        assert source.country and len(source.country) == 2
        assert source.max_age_days == 3


def test_shipped_topics_cover_three_languages(shipped: Config) -> None:
    assert [t.key for t in shipped.topics] == ["defense", "israel", "morocco"]
    for topic in shipped.topics:
        for lang in ("ar", "fr", "en"):
            assert topic.terms[lang], (topic.key, lang)
        assert topic.threshold > 0


def test_shipped_topics_mention_reference_terms(shipped: Config) -> None:
    terms = {t.key: {w for words in t.terms.values() for w in words} for t in shipped.topics}
    assert {"إسرائيل", "الجيش الإسرائيلي", "تل أبيب", "Tsahal", "Israël"} <= terms["israel"]
    assert {"المغرب", "الرباط", "Maroc", "Morocco"} <= terms["morocco"]
    assert {"وزارة الدفاع", "الدفاع", "القوات المسلحة الملكية", "FAR", "military"} <= terms[
        "defense"
    ]
    excludes = {t.key: {w for ws in t.exclude.values() for w in ws} for t in shipped.topics}
    # the sunset prayer, the Maghreb and the Children of Israel are sense rules (senses.toml)
    by_key = {t.key: t for t in shipped.topics}
    assert {"prayer", "region"} <= {
        s.name for s in by_key["morocco"].options("ar", "المغرب").senses
    }
    assert "scripture" in {s.name for s in by_key["israel"].options("ar", "إسرائيل").senses}
    assert {"خط الدفاع", "هيئة الدفاع", "defense attorney"} <= excludes["defense"]


def test_shipped_source_urls_match_their_patterns(shipped: Config) -> None:
    samples = {
        "hespress-ar": "https://www.hespress.com/المغرب-وإسرائيل-مذكرة-1234567.html",
        "hespress-fr": "https://fr.hespress.com/234567-le-maroc-et-israel.html",
        "le360-fr": "https://fr.le360.ma/politique/le-maroc-signe_ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
        "northafricapost": "https://northafricapost.com/96624-morocco-israel-sign.html",
        "aljazeera-ar": "https://www.aljazeera.net/news/2021/11/24/المغرب-وإسرائيل",
        "bbc-arabic": "https://www.bbc.com/arabic/articles/c1234abcd5o",
        "anadolu-ar": "https://www.aa.com.tr/ar/الدول-العربية/المغرب-وإسرائيل/2431234",
        "i24news-ar": "https://www.i24news.tv/ar/أخبار/دولي/امريكا/artc-40d078de",
    }
    import re

    for key, url in samples.items():
        source = shipped.source(key)
        assert source.allows(url), (key, url)
        assert any(re.search(p, url) for p in source.article_patterns), (key, url)
        assert not any(re.search(p, url) for p in source.deny_patterns), (key, url)


def test_config_source_lookup_suggests(shipped: Config) -> None:
    assert shipped.source("hespress-ar").lang == "ar"
    with pytest.raises(KeyError, match="did you mean 'hespress-ar'"):
        shipped.source("hespres-ar")


def test_dataclasses_are_frozen(shipped: Config) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        shipped.sources[0].name = "x"  # type: ignore[misc]
    assert isinstance(shipped.sources[0], Source)
    assert isinstance(shipped.topics[0], Topic)


# --------------------------------------------------------------------------- defaults


def test_defaults_applied(tmp_path: Path) -> None:
    conf = load_config(write(tmp_path))
    (src,) = conf.sources
    assert src.interval == timedelta(hours=1)
    assert src.cron is None
    assert src.depth == 1
    assert src.enabled is True
    assert src.max_age_days is None
    assert src.country is None
    assert src.encoding is None
    assert src.article_patterns == src.deny_patterns == src.follow_patterns == ()
    (topic,) = conf.topics
    assert topic.threshold == 1.0
    assert topic.title_weight == 2.0
    assert topic.terms == {"ar": ("كلمة",), "fr": ("mot",), "en": ()}
    assert topic.exclude == {"ar": (), "fr": (), "en": ()}


def test_defaults_table_supplies_source_fields(tmp_path: Path) -> None:
    body = """
    [defaults]
    interval = "30m"
    depth = 3
    max_age_days = 5
    deny_patterns = ['/tag/']
    enabled = false

    [sources.a]
    name = "A"
    lang = "fr"
    domains = ["a.example"]
    sections = ["https://a.example/news"]

    [sources.b]
    name = "B"
    lang = "en"
    domains = ["b.example"]
    feeds = ["http://b.example/rss"]
    cron = "*/20 6-23 * * *"
    deny_patterns = []
    max_age_days = 0
    """
    a, b = load_config(write(tmp_path, body)).sources
    assert a.interval == timedelta(minutes=30)
    assert (a.depth, a.max_age_days, a.enabled, a.deny_patterns) == (3, 5, False, ("/tag/",))
    assert b.cron == "*/20 6-23 * * *" and b.interval is None
    assert a.schedule == Schedule.every(timedelta(minutes=30))
    assert b.schedule == Schedule.crontab("*/20  6-23 * * *")  # whitespace normalised
    assert b.deny_patterns == ()
    assert b.max_age_days is None


def test_port_domain_and_encoding(tmp_path: Path) -> None:
    body = source_toml(
        domains='["127.0.0.1:8081"]',
        feeds='["http://127.0.0.1:8081/feed.xml"]',
        encoding='"windows-1256"',
    )
    (src,) = load_config(write(tmp_path, body)).sources
    assert src.domains == ("127.0.0.1:8081",)
    assert src.encoding == "cp1256"


# --------------------------------------------------------------------------- errors


SOURCE_ERRORS = [
    # (fields replaced in the demo table, key, value shown, words in problem/fix)
    ({"lang": '"arabic"'}, "sources.demo.lang", "'arabic'", ["unknown language", "'ar'"]),
    ({"lang": "<drop>"}, "sources.demo.lang", None, ["required", "lang ="]),
    ({"name": "<drop>"}, "sources.demo.name", None, ["required", "name ="]),
    ({"name": "42"}, "sources.demo.name", "42", ["string"]),
    ({"domains": "<drop>"}, "sources.demo.domains", None, ["required", "domains ="]),
    ({"domains": "[]"}, "sources.demo.domains", "[]", ["empty", "at least one host"]),
    (
        {"domains": '["https://example.com/"]', "feeds": "<drop>"},
        "sources.demo.domains[0]",
        "'https://example.com/'",
        ["bare host", "'example.com'"],
    ),
    ({"feeds": '"https://www.example.com/feed"'}, "sources.demo.feeds", None, ["list", "["]),
    ({"feeds": "<drop>"}, "sources.demo.feeds", None, ["nothing can be crawled", "sitemaps"]),
    (
        {"feeds": '["ftp://example.com/feed"]'},
        "sources.demo.feeds[0]",
        "'ftp://example.com/feed'",
        ["http://", "https://"],
    ),
    (
        {"feeds": '["https://other.org/feed"]'},
        "sources.demo.feeds[0]",
        "'https://other.org/feed'",
        ["not covered", "add 'other.org' to domains"],
    ),
    (
        {"sitemaps": '["https://notexample.com/sitemap.xml"]'},
        "sources.demo.sitemaps[0]",
        "'https://notexample.com/sitemap.xml'",
        ["not covered"],
    ),
    (
        {"domains": '["127.0.0.1:8081"]', "feeds": '["http://127.0.0.1:8082/feed"]'},
        "sources.demo.feeds[0]",
        "'http://127.0.0.1:8082/feed'",
        ["not covered", "127.0.0.1:8082"],
    ),
    (
        {"article_patterns": "['/(\\d+']"},
        "sources.demo.article_patterns[0]",
        "'/(\\\\d+'",
        ["invalid regular expression", "missing )"],
    ),
    ({"interval": '"15 minutes"'}, "sources.demo.interval", "'15 minutes'", ["'15m'", "'2h'"]),
    ({"interval": "15"}, "sources.demo.interval", "15", ["duration string", "'15m'"]),
    ({"interval": '"0s"'}, "sources.demo.interval", "'0s'", ["at least 1s"]),
    ({"cron": '"* * * *"'}, "sources.demo.cron", "'* * * *'", ["5 fields", "minute hour"]),
    ({"cron": '"61 * * * *"'}, "sources.demo.cron", "'61 * * * *'", ["invalid cron", "59"]),
    (
        {"cron": '"0 * * * *"', "interval": '"1h"'},
        "sources.demo.cron",
        "'0 * * * *'",
        ["both interval and cron", "either"],
    ),
    ({"depth": "0"}, "sources.demo.depth", "0", ["1..10", "between 1"]),
    ({"depth": "11"}, "sources.demo.depth", "11", ["1..10"]),
    ({"depth": '"2"'}, "sources.demo.depth", "'2'", ["integer", "no quotes"]),
    ({"enabled": '"yes"'}, "sources.demo.enabled", "'yes'", ["true or false"]),
    ({"max_age_days": "-1"}, "sources.demo.max_age_days", "-1", [">= 0"]),
    ({"country": '"Morocco"'}, "sources.demo.country", "'Morocco'", ["two-letter", "'MA'"]),
    ({"encoding": '"klingon"'}, "sources.demo.encoding", "'klingon'", ["unknown text encoding"]),
    ({"feed": '["https://www.example.com/rss"]'}, "sources.demo.feed", None, ["'feeds'"]),
    (
        {"domains": '["example.com", "com"]'},
        "sources.demo.domains[1]",
        "'com'",
        ["public suffix", "'hespress.com'"],
    ),
    (
        {"domains": '["co.uk"]'},
        "sources.demo.domains[0]",
        "'co.uk'",
        ["public suffix"],
    ),
    ({"domains": '["MA."]'}, "sources.demo.domains[0]", "'MA.'", ["public suffix"]),
]


@pytest.mark.parametrize(("fields", "key", "value", "words"), SOURCE_ERRORS)
def test_source_errors_name_file_key_value_and_fix(
    tmp_path: Path, fields: dict[str, str], key: str, value: str | None, words: list[str]
) -> None:
    err = source_error(tmp_path, source_toml(**fields))
    msg = str(err)
    assert msg.startswith(str(tmp_path / "sources.toml") + ": ") or "sources.toml: " in msg
    assert "sources.toml" in err.file
    assert err.key == key
    assert f"key '{key}'" in msg
    if value is not None:
        assert f"= {value}:" in msg, msg
    assert "Fix: " in msg and err.fix
    for word in words:
        assert word in msg, (word, msg)


def test_error_message_format(tmp_path: Path) -> None:
    err = source_error(tmp_path, source_toml(lang='"arr"'))
    assert str(err) == (
        f"{err.file}: key 'sources.demo.lang' = 'arr': unknown language. "
        "Fix: use one of 'ar', 'fr', 'en'."
    )
    assert err.value == "arr"


def test_error_file_is_relative_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "config", source_toml(lang='"xx"'))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("config")
    assert str(info.value).startswith("config/sources.toml: key 'sources.demo.lang' = 'xx'")


def test_unknown_key_suggestion(tmp_path: Path) -> None:
    err = source_error(tmp_path, source_toml(intervall='"15m"'))
    assert err.key == "sources.demo.intervall"
    assert "unknown key" in str(err)
    assert "did you mean 'interval'?" in str(err)


def test_unknown_top_level_table(tmp_path: Path) -> None:
    err = source_error(tmp_path, '[hespress]\nname = "x"\n')
    assert err.key == "hespress"
    assert "[sources.<key>]" in str(err)


def test_bad_source_key(tmp_path: Path) -> None:
    err = source_error(tmp_path, MINIMAL_SOURCE.replace("[sources.demo]", '[sources."Hes Press"]'))
    assert err.key == "sources.Hes Press"
    assert "[sources.hes-press]" in str(err)


def test_defaults_errors_name_defaults(tmp_path: Path) -> None:
    err = source_error(tmp_path, '[defaults]\nname = "x"\n' + MINIMAL_SOURCE)
    assert err.key == "defaults.name"
    err = source_error(tmp_path, '[defaults]\nintrval = "1h"\n' + MINIMAL_SOURCE)
    assert "did you mean 'interval'?" in str(err)
    err = source_error(tmp_path, "[defaults]\ndepth = 99\n" + MINIMAL_SOURCE)
    assert err.key == "defaults.depth"


def test_no_sources(tmp_path: Path) -> None:
    err = source_error(tmp_path, "[defaults]\n")
    assert err.key == "sources"
    assert "no sources" in str(err)


def test_lang_alias_hint(tmp_path: Path) -> None:
    err = source_error(tmp_path, source_toml(lang='"French"'))
    assert "did you mean 'fr'?" in str(err)


def test_toml_syntax_error(tmp_path: Path) -> None:
    err = source_error(tmp_path, '[sources.demo]\nname = "Demo\nlang = "ar"\n')
    msg = str(err)
    assert msg.startswith(err.file + ": TOML syntax error")
    assert "line 2" in msg
    assert "column" in msg
    assert "Fix: correct the TOML at line 2" in msg


def test_missing_file_names_path_and_how_to_point_elsewhere(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nowhere")
    msg = str(info.value)
    assert str(tmp_path / "nowhere" / "sources.toml") in msg
    assert "--config DIR" in msg and "MARSAD_CONFIG" in msg


def test_missing_topics_file_is_allowed(tmp_path: Path) -> None:
    conf = load_config(write(tmp_path, topics=None))
    assert conf.topics == ()
    assert len(conf.sources) == 1


def test_duplicate_domains_across_sources_allowed() -> None:
    data = {
        "sources": {
            k: {"name": k, "lang": "en", "domains": ["x.org"], "feeds": ["https://x.org/f"]}
            for k in ("one", "two")
        }
    }
    assert [s.key for s in parse_sources(data)] == ["one", "two"]


def test_parse_sources_default_file_name() -> None:
    with pytest.raises(ConfigError) as info:
        parse_sources({"sources": {"x": {"name": "x"}}})
    assert str(info.value).startswith("sources.toml: key 'sources.x.lang'")


# --------------------------------------------------------------------------- topics


TOPIC_ERRORS = [
    ({"threshold": "0"}, "topics.t.threshold", "0", ["> 0"]),
    ({"threshold": '"high"'}, "topics.t.threshold", "'high'", ["number"]),
    ({"title_weight": "-1"}, "topics.t.title_weight", "-1", [">= 0"]),
    ({"terms": "<drop>"}, "topics.t.terms", None, ["required", "ar = "]),
    ({"terms": "{ ar = [] }"}, "topics.t.terms", None, ["no terms in any language"]),
    ({"terms": '{ de = ["Krieg"] }'}, "topics.t.terms.de", "['Krieg']", ["unknown language"]),
    ({"terms": '{ arabic = ["x"] }'}, "topics.t.terms.arabic", None, ["did you mean 'ar'?"]),
    ({"terms": '{ ar = "x" }'}, "topics.t.terms.ar", "'x'", ["list of strings"]),
    ({"terms": '{ ar = ["x", ""] }'}, "topics.t.terms.ar[1]", "''", ["non-empty"]),
    ({"exclude": '{ xx = ["a"] }'}, "topics.t.exclude.xx", None, ["unknown language"]),
    ({"treshold": "2"}, "topics.t.treshold", "2", ["did you mean 'threshold'?"]),
    ({"label": "3"}, "topics.t.label", "3", ["non-empty string"]),
]


@pytest.mark.parametrize(("fields", "key", "value", "words"), TOPIC_ERRORS)
def test_topic_errors(
    tmp_path: Path, fields: dict[str, str], key: str, value: str | None, words: list[str]
) -> None:
    base = {"label": '"T"', "terms": '{ en = ["war"] }'}
    base.update(fields)
    body = "[topics.t]\n" + "".join(f"{k} = {v}\n" for k, v in base.items() if v != "<drop>")
    write(tmp_path, topics=body)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    err = info.value
    msg = str(err)
    assert "topics.toml" in err.file
    assert msg.startswith(err.file + ": ")
    assert err.key == key
    if value is not None:
        assert f"key '{key}' = {value}:" in msg, msg
    assert "Fix: " in msg
    for word in words:
        assert word in msg, (word, msg)


def test_topic_parse_normalises_and_dedupes() -> None:
    (topic,) = parse_topics(
        {"topics": {"x": {"terms": {"fr": ["  Tel   Aviv ", "Tel Aviv"]}, "threshold": 2}}}
    )
    assert topic.label == "x"
    assert topic.threshold == 2.0
    assert topic.terms["fr"] == ("Tel Aviv",)


# --------------------------------------------------------------------------- resolution


def test_resolve_explicit_beats_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARSAD_CONFIG", str(tmp_path / "env"))
    assert resolve_config_dir(tmp_path / "explicit") == tmp_path / "explicit"


def test_marsad_config_env_respected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_dir = write(tmp_path / "elsewhere", source_toml(name='"From env"'))
    monkeypatch.setenv("MARSAD_CONFIG", str(env_dir))
    monkeypatch.chdir(tmp_path)
    assert resolve_config_dir() == env_dir
    conf = load_config()
    assert conf.directory == env_dir
    assert conf.sources[0].name == "From env"


def test_resolve_cwd_config_then_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MARSAD_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_config_dir() == REPO_CONFIG  # ./config absent
    (tmp_path / "config").mkdir()
    assert resolve_config_dir() == REPO_CONFIG  # ./config without sources.toml
    write(tmp_path / "config")
    assert resolve_config_dir() == tmp_path / "config"


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(minutes=90)),
    ],
)
def test_parse_interval(text: str, expected: timedelta) -> None:
    assert parse_interval(text) == expected


@pytest.mark.parametrize("text", ["", "15", "m", "1w", "0m", "1.5h"])
def test_parse_interval_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_interval(text)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (schedule, latest start, now, next due, period, describe())
SCHEDULES = [
    pytest.param(
        Schedule.every(timedelta(minutes=15)),
        None,
        "2026-01-05T08:00",
        "2026-01-05T08:00",
        timedelta(minutes=15),
        "every 15m",
        id="interval-never-run-is-due-now",
    ),
    pytest.param(
        Schedule.every(parse_interval("1h30m")),
        "2026-01-05T08:00",
        "2026-01-05T08:10",
        "2026-01-05T09:30",
        timedelta(minutes=90),
        "every 1h30m",
        id="interval-from-latest-start",
    ),
    pytest.param(
        Schedule.every(timedelta(seconds=90)),
        "2026-01-01T00:00",
        "2026-01-05T08:00",
        "2026-01-01T00:01:30",
        timedelta(seconds=90),
        "every 1m30s",
        id="interval-after-downtime-one-overdue-due-time",
    ),
    pytest.param(
        Schedule.every(timedelta(days=1)),
        "2026-01-05T08:00",
        "2026-01-05T08:00",
        "2026-01-06T08:00",
        timedelta(days=1),
        "every 1d",
        id="interval-days",
    ),
    pytest.param(
        Schedule.crontab("*/20 6-23 * * *"),
        "2026-01-05T23:40",
        "2026-01-06T01:00",
        "2026-01-06T06:00",
        timedelta(minutes=20),
        "cron */20 6-23 * * *",
        id="cron-overnight-gap-period-is-the-usual-gap",
    ),
    pytest.param(
        Schedule.crontab("0 6,18 * * *"),
        None,
        "2026-01-05T08:00",
        "2026-01-05T18:00",
        timedelta(hours=12),
        "cron 0 6,18 * * *",
        id="cron-never-run-next-slot-from-now",
    ),
    pytest.param(
        Schedule.crontab("0 6,18 * * *"),
        "2026-01-05T06:00",
        "2026-01-07T08:00",
        "2026-01-05T18:00",
        timedelta(hours=12),
        "cron 0 6,18 * * *",
        id="cron-after-downtime-first-missed-slot",
    ),
    pytest.param(
        Schedule.crontab("0 9 * * mon-fri"),
        "2026-01-09T09:00",
        "2026-01-09T10:00",
        "2026-01-12T09:00",
        timedelta(days=1),
        "cron 0 9 * * mon-fri",
        id="cron-weekday-names",
    ),
    pytest.param(
        Schedule.crontab("0 9 * * 1-5"),
        "2026-01-09T09:00",
        "2026-01-09T10:00",
        "2026-01-12T09:00",
        timedelta(days=1),
        "cron 0 9 * * 1-5",
        id="cron-weekday-numbers",  # crontab's 1-5 is Monday to Friday (APScheduler 3: Tue-Sat)
    ),
    pytest.param(
        Schedule.crontab("30 8 * * 0"),
        "2026-01-04T08:30",  # a Sunday
        "2026-01-05T08:00",
        "2026-01-11T08:30",
        timedelta(days=7),
        "cron 30 8 * * 0",
        id="cron-sunday-is-0",
    ),
    pytest.param(
        Schedule.crontab("0 7 * * *", "Europe/Paris"),
        "2026-01-05T06:00",
        "2026-01-05T07:00",
        "2026-01-06T06:00",
        timedelta(days=1),
        "cron 0 7 * * * (Europe/Paris)",
        id="cron-in-a-timezone",
    ),
    pytest.param(
        Schedule.crontab("0 7 * * *", "Europe/Paris"),
        "2026-03-28T06:00",
        "2026-03-28T07:00",
        "2026-03-29T05:00",
        timedelta(days=1),
        "cron 0 7 * * * (Europe/Paris)",
        id="dst-spring-forward-7am-local-is-23h-later",
    ),
    pytest.param(
        Schedule.crontab("0 7 * * *", "Europe/Paris"),
        "2026-10-24T05:00",
        "2026-10-24T06:00",
        "2026-10-25T06:00",
        timedelta(days=1),
        "cron 0 7 * * * (Europe/Paris)",
        id="dst-fall-back-7am-local-is-25h-later",
    ),
    pytest.param(
        Schedule.crontab("30 2 * * *", "Europe/Paris"),
        "2026-03-28T01:30",
        "2026-03-28T12:00",
        "2026-03-29T01:30",
        timedelta(days=1),
        "cron 30 2 * * * (Europe/Paris)",
        id="dst-slot-inside-the-skipped-hour-still-runs-that-day",
    ),
]


@pytest.mark.parametrize(("schedule", "latest", "now", "due", "period", "text"), SCHEDULES)
def test_schedule(
    schedule: Schedule,
    latest: str | None,
    now: str,
    due: str,
    period: timedelta,
    text: str,
) -> None:
    latest_start = _utc(latest) if latest is not None else None
    assert schedule.next_due(latest_start, _utc(now)) == _utc(due)
    assert schedule.next_due(latest_start, _utc(now)).tzinfo is not None
    assert schedule.period == period
    assert schedule.describe() == text


def test_schedule_next_fire_is_for_crontabs_only() -> None:
    cron = Schedule.crontab("0 7 * * *", "Africa/Tunis")
    assert cron.next_fire(_utc("2026-01-05T06:00")) == _utc("2026-01-05T06:00")  # at or after
    assert cron.next_fire(_utc("2026-01-05T06:00:01")) == _utc("2026-01-06T06:00")
    assert Schedule.every(timedelta(hours=1)).next_fire(_utc("2026-01-05T06:00")) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "either an interval or a cron"),
        ({"interval": timedelta(hours=1), "cron": "0 * * * *"}, "either an interval or a cron"),
        ({"interval": timedelta(0)}, "positive"),
        ({"cron": "61 * * * *"}, "59"),
    ],
)
def test_schedule_rejects(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Schedule(**kwargs)  # type: ignore[arg-type]  # a table of deliberately wrong values


@pytest.mark.parametrize(
    ("url", "domains", "ok"),
    [
        ("https://www.hespress.com/x", ["hespress.com"], True),
        ("https://fr.hespress.com/x", ["www.hespress.com"], False),
        ("https://nothespress.com/x", ["hespress.com"], False),
        ("http://127.0.0.1:8081/a", ["127.0.0.1:8081"], True),
        ("http://127.0.0.1:8082/a", ["127.0.0.1:8081"], False),
        ("http://127.0.0.1:8082/a", ["127.0.0.1"], False),  # no port written: 80/443 only
        ("http://127.0.0.1/a", ["127.0.0.1"], True),
        ("https://www.hespress.com:8443/x", ["hespress.com"], False),
        ("https://www.hespress.com:443/x", ["hespress.com"], True),
        ("http://hespress.com:443/x", ["hespress.com"], False),
        ("http://localhost/a", ["localhost:80"], True),
        ("not a url", ["example.com"], False),
    ],
)
def test_url_in_domains(url: str, domains: list[str], ok: bool) -> None:
    assert url_in_domains(url, domains) is ok


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ("1-5", "mon,tue,wed,thu,fri"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("5-7", "fri,sat,sun"),
        ("fri-sun", "fri,sat,sun"),
        ("*/2", "tue,thu,sat,sun"),  # days 0, 2, 4, 6
        ("1-5/2", "mon,wed,fri"),
        ("sat,SUN,1", "mon,sat,sun"),
        ("*", "*"),
    ],
)
def test_crontab_weekdays_count_from_sunday(spec: str, names: str) -> None:
    assert crontab_weekdays(spec) == names


@pytest.mark.parametrize("spec", ["5-1", "8", "funday", "1/0", "*/x"])
def test_crontab_weekday_errors(spec: str) -> None:
    with pytest.raises(ValueError):
        crontab_weekdays(spec)
