"""Saved searches as alerts: an alert rule with a full-text ``query`` (alone or with topics),
checked at load with the search parser, delivered exactly once through a real SMTP server."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler import db
from crawler.config import Config, ConfigError, load_config
from crawler.config.alerts import AlertsConfig, parse_alerts
from crawler.db import DigestDelivery
from crawler.digest import preview, run_rule
from crawler.text.normalize import normalize_text
from tests.test_digest import NOW, SmtpServer, ev, parts
from tests.test_digest import add_article as add_raw_article

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config"
MEMO_QUERY = '"مذكرة تفاهم" AND (المغرب OR الرباط)'
MEMO_TEXT = "وقّع المغرب وإسرائيل مذكرة تفاهم في مجال الدفاع، وقالت الرباط إنها خطوة أولى"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(REPO_CONFIG)


def add_article(session: Session, n: int, **fields: Any) -> db.Article:
    """tests.test_digest's article, with the normalised columns the search index reads (what
    crawler/store.py writes for a crawled article)."""
    article = add_raw_article(session, n, **fields)
    article.title_norm = normalize_text(article.title or "")
    article.text_norm = normalize_text(article.text or "")
    session.flush()
    return article


def rule_table(**fields: Any) -> dict[str, Any]:
    return {
        "name": "مذكرة تفاهم — المغرب",
        "schedule": "0 8 * * *",
        "channels": {"mail": {"type": "email", "to": ["desk@example.org"]}},
        **fields,
    }


def alerts_for(smtp_port: int, **fields: Any) -> AlertsConfig:
    data = {
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none",
                 "sender": "Marsad <marsad@example.org>", "timeout": 5},
        "rules": {"memo": rule_table(**fields)},
    }  # fmt: skip
    smtp, rules = parse_alerts(data, "alerts.toml")
    return AlertsConfig(file=Path("alerts.toml"), smtp=smtp, rules=rules)


def load_error(**fields: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_alerts({"rules": {"memo": rule_table(**fields)}}, "config/alerts.toml")
    return caught.value


def sent(engine) -> list[int]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return sorted(
            s.scalars(select(DigestDelivery.article_id).where(DigestDelivery.status == "sent"))
        )


def seed(engine, n0: int = 0, fetched=NOW - timedelta(hours=2)) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    """A memorandum story carried by two Arabic outlets, an article with the phrase but neither
    place, one with the words apart (no phrase), and a French article; their ids by role."""
    ids: dict[str, list[int]] = {"story": [], "other_place": [], "apart": [], "french": []}
    with Session(engine) as s, s.begin():
        story = db.Story(canonical_article_id=None, article_count=2,
                         sources=["map-ar", "hespress-ar"])  # fmt: skip
        s.add(story)
        s.flush()
        for i, source in enumerate(["map-ar", "hespress-ar"]):
            a = add_article(
                s, n0 + i, source=source, title="مذكرة تفاهم دفاعية جديدة", text=MEMO_TEXT,
                lang="ar", story_id=story.id, fetched=fetched,
                topics={"defense": (3.0, [ev("الدفاع", "مذكرة تفاهم في مجال الدفاع")])},
            )  # fmt: skip
            ids["story"].append(a.id)
        story.canonical_article_id = ids["story"][0]
        ids["other_place"].append(
            add_article(
                s, n0 + 10, source="hespress-ar", title="تونس والجزائر", lang="ar",
                text="وقعت تونس والجزائر مذكرة تفاهم في مجال الطاقة", fetched=fetched, topics={},
            ).id
        )  # fmt: skip
        ids["apart"].append(
            add_article(
                s, n0 + 20, source="le360-ar", title="المغرب يستقبل وفدا", lang="ar",
                text="قدم الوفد مذكرة إلى المغرب بعد تفاهم سابق", fetched=fetched, topics={},
            ).id
        )  # fmt: skip
        ids["french"].append(
            add_article(
                s, n0 + 30, source="hespress-fr", title="Le Maroc signe un mémorandum", lang="fr",
                text="Rabat et Tel-Aviv ont signé un mémorandum d'entente.", fetched=fetched,
                topics={"defense": (2.0, [ev("défense", "un mémorandum d'entente")])},
            ).id
        )  # fmt: skip
    return ids


# --------------------------------------------------------------------------- loading


def test_a_query_rule_needs_no_topics_and_keeps_the_query_as_written() -> None:
    alerts = alerts_for(2525, query=f"  {MEMO_QUERY} ")
    rule = alerts.rules[0]
    assert rule.topics == () and rule.query == MEMO_QUERY


@pytest.mark.parametrize(
    ("query", "position", "problem"),
    [
        ('"مذكرة تفاهم" AND (المغرب OR', 29, "unexpected end of query"),
        ('"مذكرة تفاهم AND المغرب', 1, "unclosed"),
        ("-المغرب", 1, "cannot only exclude"),
    ],
)
def test_a_query_syntax_error_stops_the_load_naming_file_rule_and_position(
    query: str, position: int, problem: str
) -> None:
    err = load_error(query=query)
    assert err.file == "config/alerts.toml" and err.key == "rules.memo.query"
    message = str(err)
    assert message.startswith("config/alerts.toml: key 'rules.memo.query' = ")
    assert f"at character {position}" in message, message
    assert problem in message.lower(), message
    assert "Fix:" in message and "marsad search" in message


def test_a_rule_without_topics_or_query_is_refused_with_both_ways_out() -> None:
    err = load_error()
    assert err.key == "rules.memo.topics"
    assert "a rule needs topics or a query" in str(err) and "query = " in str(err)
    assert load_error(query="  ").key == "rules.memo.query"
    # a topic setting on a rule without topics would be silently ignored: refused instead
    err = load_error(query=MEMO_QUERY, min_score=2.0)
    assert err.key == "rules.memo.min_score" and "applies to topics" in str(err)


def test_the_commented_example_in_the_shipped_file_loads_once_uncommented(config) -> None:  # type: ignore[no-untyped-def]
    text = (REPO_CONFIG / "alerts.toml").read_text(encoding="utf-8")
    block = re.search(r"^# \[rules\.memorandum-watch\]\n(?:#.*\n)+", text, re.MULTILINE)
    assert block is not None, "the saved-search example is missing from config/alerts.toml"
    example = tomllib.loads(re.sub(r"^# ?", "", block.group(), flags=re.MULTILINE))
    data = tomllib.loads(text)
    data["rules"] |= example["rules"]
    topics = [t.key for t in config.topics]
    sources = [s.key for s in config.sources]
    _smtp, rules = parse_alerts(data, "config/alerts.toml", topics, sources)
    watch = next(r for r in rules if r.key == "memorandum-watch")
    assert watch.query == MEMO_QUERY and watch.topics == () and watch.languages == ("ar",)


# --------------------------------------------------------------------------- delivery


def test_a_saved_search_is_delivered_exactly_once_through_smtp(db_url, smtp, config) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(db_url)
    ids = seed(engine)
    alerts = alerts_for(smtp.port, query=MEMO_QUERY)
    rule = alerts.rules[0]

    # SMTP down first: the run fails and nothing counts as delivered.
    smtp.stop()
    failed = run_rule(engine, config, alerts, rule, now=NOW)
    assert [o.status for o in failed.outcomes] == ["failed"] and sent(engine) == []
    smtp.start()

    # The story (two copies, one item), and nothing the phrase or the places do not match.
    result = run_rule(engine, config, alerts, rule, now=NOW + timedelta(minutes=1))
    assert [(o.status, o.items, o.articles) for o in result.outcomes] == [("sent", 1, 2)]
    assert sent(engine) == sorted(ids["story"])
    assert len(smtp.inbox.messages) == 1
    html, text = parts(smtp.inbox.messages[0][1])
    assert html.count("مذكرة تفاهم دفاعية جديدة") == 1 and "Carried by 2 outlets" in html
    assert MEMO_QUERY.replace('"', "&#34;") in html  # the section is named after the query
    assert ">مذكرة تفاهم</mark>" in html  # where it matched, marked
    assert 'lang="ar" dir="rtl"' in html
    for absent in ("تونس والجزائر", "المغرب يستقبل وفدا", "Le Maroc signe"):
        assert absent not in html and absent not in text

    # Run again: nothing new, nothing re-sent.
    again = run_rule(engine, config, alerts, rule, now=NOW + timedelta(minutes=2))
    assert [o.status for o in again.outcomes] == ["empty"]
    assert len(smtp.inbox.messages) == 1

    # A later matching article (a new clitic form of the place) goes out alone, once.
    later = NOW + timedelta(hours=3)
    with Session(engine) as s, s.begin():
        new_id = add_article(
            s, 100, source="le360-ar", title="تفاصيل المذكرة", lang="ar", fetched=later,
            text="نص مذكرة تفاهم جديدة بين الرباط وشركائها", topics={},
        ).id  # fmt: skip
    third = run_rule(engine, config, alerts, rule, now=later + timedelta(minutes=5))
    assert [(o.status, o.items) for o in third.outcomes] == [("sent", 1)]
    assert len(smtp.inbox.messages) == 2
    html2, _ = parts(smtp.inbox.messages[1][1])
    assert "تفاصيل المذكرة" in html2 and "مذكرة تفاهم دفاعية جديدة" not in html2
    assert sent(engine) == sorted([*ids["story"], new_id])
    with Session(engine) as s:
        rows = s.scalar(select(func.count()).select_from(DigestDelivery))
    assert rows == 3  # one row per delivered article, never two
    engine.dispose()


def test_a_query_with_topics_needs_both_and_keeps_sections(tmp_path, smtp, config) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    ids = seed(engine)
    # "mémorandum OR مذكرة" matches the story, the two other Arabic articles and the French one;
    # the defense topic keeps the story and the French article.
    alerts = alerts_for(smtp.port, query="mémorandum OR مذكرة", topics=["defense"])
    result = run_rule(engine, config, alerts, alerts.rules[0], now=NOW)
    assert [(o.status, o.items, o.articles) for o in result.outcomes] == [("sent", 2, 3)]
    assert sent(engine) == sorted([*ids["story"], *ids["french"]])
    html, _ = parts(smtp.inbox.messages[0][1])
    assert "Defense / الدفاع" in html and "Le Maroc signe un mémorandum" in html
    engine.dispose()


def test_the_excerpt_shows_where_the_phrase_matched_not_the_first_common_word(
    tmp_path, config
) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    filler = " ".join(["وأضاف المتحدث أن الاجتماع تناول قضايا عديدة"] * 12)
    with Session(engine) as s, s.begin():
        add_article(
            s, 1, source="map-ar", title="لقاء في الرباط", lang="ar", topics={},
            text=f"احتضنت الرباط لقاء. {filler} وفي الختام وقع الطرفان مذكرة تفاهم للتعاون.",
        )  # fmt: skip
    alerts = alerts_for(2525, query=MEMO_QUERY)
    digest, _rendered = preview(engine, config, alerts.rules[0], now=NOW)
    [item] = digest.items
    marked = [seg.text for seg in item.excerpt if seg.hl]
    assert "مذكرة تفاهم" in marked, [seg.text for seg in item.excerpt]
    assert item.excerpt[0].text.startswith("… ")  # cut before, around the match
    engine.dispose()
