"""`marsad tag`, `marsad retag` and `marsad topics test` through click's CliRunner."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler import db
from crawler.cli import cli
from crawler.db import Article, ArticleTopic
from crawler.timespec import parse_since

REPO = Path(__file__).resolve().parent.parent

TOPICS_V1 = """
[topics.morocco]
label = "Morocco"
terms = { ar = ["المغرب"], fr = ["Maroc"], en = ["Morocco"] }
exclude = { ar = ["صلاة المغرب"] }

[topics.israel]
label = "Israel"
terms = { ar = ["إسرائيل"], fr = ["Israël"], en = ["Israel"] }
"""
# v2 (an analyst's edit): Rabat now counts for morocco, the English term is dropped
TOPICS_V2 = TOPICS_V1.replace('fr = ["Maroc"], en = ["Morocco"]', 'fr = ["Maroc", "Rabat"]')

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
ARTICLES = [
    # (title, text, language, age in days)
    ("Le Maroc et Israël", "Rencontre à Rabat.", "fr", 1),
    ("Sommet à Rabat", "Les ministres se réunissent.", "fr", 2),
    ("Morocco wins", "Morocco beat Spain.", "en", 3),
    ("بعد صلاة المغرب", "خرج الناس بعد صلاة المغرب.", "ar", 40),
    ("زيارة إلى إسرائيل", "وصل الوفد إلى إسرائيل.", "ar", 50),
]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    shutil.copy(REPO / "config" / "sources.toml", directory / "sources.toml")
    (directory / "topics.toml").write_text(TOPICS_V1, encoding="utf-8")
    return directory


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'marsad.db'}"
    engine = db.make_engine(url)
    with Session(engine) as session:
        for i, (title, text, lang, age) in enumerate(ARTICLES):
            session.add(
                Article(
                    source="test",
                    url=f"https://example.com/{i}",
                    url_key=f"example.com/{i}",
                    url_hash=db.url_hash(f"example.com/{i}"),
                    title=title,
                    text=text,
                    title_norm=title,
                    text_norm=text,
                    language=lang,
                    content_hash=f"{i:040d}",
                    published_at=datetime.now(UTC) - timedelta(days=age),
                )
            )
        session.commit()
    engine.dispose()
    return url


def stored(url: str) -> set[tuple[int, str]]:
    engine = db.make_engine(url)
    with Session(engine) as session:
        rows = session.execute(select(ArticleTopic.article_id, ArticleTopic.topic)).all()
    engine.dispose()
    return {(article_id, topic) for article_id, topic in rows}


def run(config_dir: Path, *args: str, db_url: str | None = None, stdin: str | None = None):  # type: ignore[no-untyped-def]
    prefix = ["--config", str(config_dir)] + (["--db", db_url] if db_url else [])
    return CliRunner().invoke(cli, [*prefix, *args], input=stdin, catch_exceptions=False)


def test_tag_reads_json_lines_from_stdin(config_dir: Path) -> None:
    lines = [
        {"id": 1, "title": "Le Maroc", "text": "Visite au Maroc.", "lang": "fr"},
        {"id": "b", "title": "", "text": "بعد صلاة المغرب"},
        {"id": 3, "title": "Israel", "text": ""},
    ]
    result = run(config_dir, "tag", stdin="".join(json.dumps(x) + "\n" for x in lines))
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [o["id"] for o in out] == [1, "b", 3]
    assert out[0]["topics"] == {"morocco": 3.0}
    assert out[0]["matches"][0] == {
        "topic": "morocco",
        "term": "Maroc",
        "field": "title",
        "position": 1,
        "snippet": "Le Maroc",
        "sense": "",
    }
    assert out[1]["topics"] == {} and out[1]["matches"] == []
    assert out[2]["topics"] == {"israel": 2.0}


def test_tag_reads_a_file_and_rejects_bad_json(config_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1, "title": "Maroc", "text": ""}\n\n', encoding="utf-8")
    result = run(config_dir, "tag", str(path), "--format", "jsonl")
    assert json.loads(result.output)["topics"] == {"morocco": 2.0}
    bad = run(config_dir, "tag", stdin='{"id": 1}\nnot json\n')
    assert bad.exit_code == 2 and "line 2" in bad.output


def test_retag_replaces_stored_tags_and_counts_changes(config_dir: Path, db_url: str) -> None:
    first = run(config_dir, "retag", "--batch-size", "2", db_url=db_url)
    assert first.exit_code == 0, first.output
    assert "5 articles retagged" in first.output
    assert stored(db_url) == {(1, "morocco"), (1, "israel"), (3, "morocco"), (5, "israel")}

    (config_dir / "topics.toml").write_text(TOPICS_V2, encoding="utf-8")
    second = run(config_dir, "retag", "--format", "json", "--batch-size", "1", db_url=db_url)
    counts = json.loads(second.output)
    assert counts["articles"] == 5
    assert counts["topics"]["morocco"] == {"added": 1, "removed": 1, "kept": 1}
    assert counts["topics"]["israel"] == {"added": 0, "removed": 0, "kept": 2}
    assert stored(db_url) == {(1, "morocco"), (1, "israel"), (2, "morocco"), (5, "israel")}


def test_retag_since_only_touches_recent_articles(config_dir: Path, db_url: str) -> None:
    result = run(config_dir, "retag", "--since", "7d", "--format", "json", db_url=db_url)
    assert json.loads(result.output)["articles"] == 3
    assert (5, "israel") not in stored(db_url)
    bad = run(config_dir, "retag", "--since", "last week", db_url=db_url)
    assert bad.exit_code == 2 and "--since" in bad.output


def test_topics_test_backtests_an_edited_topic(config_dir: Path, db_url: str) -> None:
    run(config_dir, "retag", db_url=db_url)
    before = stored(db_url)
    (config_dir / "topics.toml").write_text(TOPICS_V2, encoding="utf-8")
    result = run(config_dir, "topics", "test", "morocco", "--sample", "3", db_url=db_url)
    assert result.exit_code == 0, result.output
    assert "morocco: 2 of 5 articles would be tagged (stored now: 2)" in result.output
    assert "added 1, removed 1, unchanged 1" in result.output
    assert "#2 [2] Sommet à Rabat" in result.output  # added, with its evidence
    assert "'Rabat' in title: Sommet à Rabat" in result.output
    assert "#3 [3] Morocco wins" in result.output  # removed, with the stored evidence
    assert stored(db_url) == before  # a backtest writes nothing

    as_json = run(config_dir, "topics", "test", "morocco", "--format", "json", db_url=db_url)
    data = json.loads(as_json.output)
    assert (data["added"], data["removed"], data["unchanged"]) == (1, 1, 1)
    assert data["added_sample"][0]["evidence"][0]["term"] == "Rabat"


def test_topics_test_unknown_topic_is_a_usage_error(config_dir: Path, db_url: str) -> None:
    result = run(config_dir, "topics", "test", "moroco", db_url=db_url)
    assert result.exit_code == 2 and "did you mean 'morocco'" in result.output


def test_topics_list(config_dir: Path) -> None:
    result = run(config_dir, "topics", "list")
    assert result.output.startswith("morocco") and "israel" in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("24h", NOW - timedelta(hours=24)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T08:30", datetime(2024, 5, 1, 8, 30, tzinfo=UTC)),
        (None, None),
    ],
)
def test_parse_since(text: str | None, expected: datetime | None) -> None:
    assert parse_since(text, now=NOW) == expected
