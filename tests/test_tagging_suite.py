"""The confuser suites (tests/data/tagging_confusers.jsonl and the never-tuned-on
tagging_confusers_check.jsonl) are well-formed and self-contained.

It deliberately does not assert that today's rules pass the suite: the suite measures them
(bench/tagging_eval.py, docs/tagging.md) before any rule is changed.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

SUITE = Path(__file__).parent / "data" / "tagging_confusers.jsonl"
SUITE_CHECK = Path(__file__).parent / "data" / "tagging_confusers_check.jsonl"
SUITE_THIRD = Path(__file__).parent / "data" / "tagging_confusers_third.jsonl"
TOPICS = {"defense", "israel", "morocco"}
LANGS = {"ar", "fr", "en"}
FAMILIES = {
    "sport",
    "law",
    "french_defense_phrases",
    "crime_history",
    "morocco_vs_maghreb",
    "israel",
    "misses",
}
FIELDS = {"id", "family", "lang", "title", "text", "labels", "note"}


def load_suite(path: Path = SUITE) -> list[dict[str, object]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(
    scope="module",
    params=[SUITE, SUITE_CHECK, SUITE_THIRD],
    ids=["suite", "suite-check", "suite-third"],
)
def suite(request: pytest.FixtureRequest) -> list[dict[str, object]]:
    return load_suite(request.param)


def test_every_record_has_exactly_the_fields(suite: list[dict[str, object]]) -> None:
    for record in suite:
        assert set(record) == FIELDS, record.get("id")
        for key in FIELDS - {"labels"}:
            value = record[key]
            assert isinstance(value, str) and value.strip(), (record["id"], key)


def test_labels_are_among_the_three_topics(suite: list[dict[str, object]]) -> None:
    for record in suite:
        labels = record["labels"]
        assert isinstance(labels, list), record["id"]
        assert set(labels) <= TOPICS and len(set(labels)) == len(labels), record["id"]


def test_ids_are_unique(suite: list[dict[str, object]]) -> None:
    ids = [record["id"] for record in suite]
    assert len(ids) == len(set(ids))


def test_languages_and_families_are_known(suite: list[dict[str, object]]) -> None:
    assert {record["lang"] for record in suite} == LANGS
    assert {record["family"] for record in suite} == FAMILIES


def test_at_least_twenty_per_family() -> None:
    per_family = Counter(record["family"] for record in load_suite())
    assert all(per_family[family] >= 20 for family in FAMILIES), per_family


def test_the_check_suite_has_at_least_ten_per_family() -> None:
    per_family = Counter(record["family"] for record in load_suite(SUITE_CHECK))
    assert all(per_family[family] >= 10 for family in FAMILIES), per_family


def test_the_two_suites_share_no_id_title_or_text() -> None:
    first, second = load_suite(), load_suite(SUITE_CHECK)
    for key in ("id", "title", "text"):
        assert not {r[key] for r in first} & {r[key] for r in second}, key


def test_the_third_suite_has_at_least_twelve_per_family_and_shares_nothing() -> None:
    third = load_suite(SUITE_THIRD)
    per_family = Counter(record["family"] for record in third)
    assert all(per_family[family] >= 12 for family in FAMILIES), per_family
    for other in (load_suite(), load_suite(SUITE_CHECK)):
        for key in ("id", "title", "text"):
            assert not {r[key] for r in third} & {r[key] for r in other}, key


def test_misses_carry_positive_labels(suite: list[dict[str, object]]) -> None:
    assert all(record["labels"] for record in suite if record["family"] == "misses")


def test_confuser_families_hold_true_positives_too(suite: list[dict[str, object]]) -> None:
    for family in FAMILIES - {"misses"}:
        labelled = [r for r in suite if r["family"] == family and r["labels"]]
        assert labelled, family


def test_texts_are_short_news_items(suite: list[dict[str, object]]) -> None:
    for record in suite:
        text = str(record["text"])
        sentences = [s for s in text.replace("؟", ".").replace("!", ".").split(". ") if s.strip()]
        assert 2 <= len(sentences) <= 5, record["id"]


def test_no_two_texts_are_the_same(suite: list[dict[str, object]]) -> None:
    titles = [record["title"] for record in suite]
    texts = [record["text"] for record in suite]
    assert len(set(titles)) == len(titles) and len(set(texts)) == len(texts)


def test_the_suite_reads_nothing_outside_the_repository() -> None:
    for path in (SUITE, SUITE_CHECK):
        assert path.resolve().is_relative_to(Path(__file__).resolve().parents[1])
    assert len(load_suite()) >= 20 * len(FAMILIES)
