"""Score Marsad's topic tagger against a naive baseline on the tagging dev set and our suite.

    .venv/bin/python bench/tagging_eval.py [--shared ../shared] [--config config]
                                           [--out /tmp/marsad-tagging] [--errors N]

Writes two prediction files in the format of shared/tools/score_tagging.py:
  ours.jsonl    crawler.tagging.Tagger with config/topics.toml (what `marsad tag` prints)
  naive.jsonl   the same topics' terms (article's language), plain case-insensitive substring
                search over title + text, no exclusions, no threshold: any hit tags the topic
then runs the scorer (--by lang) on both and prints the reports side by side.

It then scores three sets, ours vs naive, per topic (P/R/F1) and per language (TP/FP/FN):
  tune     the tuning half of the dev set (see split_half): rules may be fitted here
  check    the check half: never tuned on; its gap to the tuning half predicts unseen text
  suite    tests/data/tagging_confusers.jsonl, our own confusers, also broken down per family
  suite-check  tests/data/tagging_confusers_check.jsonl, a second suite written before any
           rule change and never tuned on: only its totals are printed (no per-family
           breakdown, no errors), the honest "unseen text" figure beside the check half
  suite-third  tests/data/tagging_confusers_third.jsonl, a third suite written by someone who
           never saw the rules nor the other suites: totals only, like suite-check
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.config import Topic, load_config  # noqa: E402
from crawler.tagging import Tagger, tag_record  # noqa: E402

DEFAULT_SHARED = REPO.parent / "shared"
SUITE = REPO / "tests" / "data" / "tagging_confusers.jsonl"
SUITE_CHECK = REPO / "tests" / "data" / "tagging_confusers_check.jsonl"
SUITE_THIRD = REPO / "tests" / "data" / "tagging_confusers_third.jsonl"
SUITE_TOPICS = ("defense", "israel", "morocco")

Half = Literal["tune", "check"]
Record = Mapping[str, object]
Predict = Callable[[Record], set[str]]


def id_rank(record_id: str) -> str:
    return hashlib.sha256(record_id.encode("utf-8")).hexdigest()


def split_half(records: Iterable[Record]) -> dict[str, Half]:
    """Fixed tuning/check split: id -> "tune" or "check".

    Within each language the records are ordered by sha256 of their id and alternate tune,
    check, tune, ... so both halves hold about half of every language. Nothing but the ids and
    languages decides it: same file, same split, on every machine.
    """
    by_lang: dict[str, list[str]] = defaultdict(list)
    for record in records:
        by_lang[str(record.get("lang"))].append(str(record["id"]))
    split: dict[str, Half] = {}
    for ids in by_lang.values():
        for index, record_id in enumerate(sorted(ids, key=id_rank)):
            split[record_id] = "tune" if index % 2 == 0 else "check"
    return split


def read_jsonl(path: Path) -> list[dict[str, object]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def gold_topics(record: Record) -> set[str]:
    """Dev records carry {"topic": 0/1}; suite records a list of topics."""
    labels = record.get("labels")
    if isinstance(labels, dict):
        return {topic for topic, value in labels.items() if value}
    if isinstance(labels, list):
        return {str(topic) for topic in labels}
    return set()


def naive_topics(topics: tuple[Topic, ...], record: Record) -> dict[str, float]:
    haystack = f"{record.get('title') or ''}\n{record.get('text') or ''}".lower()
    lang = record.get("lang")
    out: dict[str, float] = {}
    for topic in topics:
        if isinstance(lang, str) and lang in topic.terms:
            terms = topic.terms[lang]
        else:
            terms = sum(topic.terms.values(), ())
        hits = sum(haystack.count(term.lower()) for term in terms)
        if hits:
            out[topic.key] = float(hits)
    return out


def write_predictions(
    records: list[dict[str, object]], topics: tuple[Topic, ...], out: Path
) -> None:
    tagger = Tagger(topics)
    with (
        open(out / "ours.jsonl", "w", encoding="utf-8") as ours,
        open(out / "naive.jsonl", "w", encoding="utf-8") as naive,
    ):
        for record in records:
            result = tag_record(tagger, record)
            ours.write(json.dumps(result, ensure_ascii=False) + "\n")
            line = {"id": record["id"], "topics": naive_topics(topics, record)}
            naive.write(json.dumps(line, ensure_ascii=False) + "\n")


def score(scorer: Path, gold: Path, predictions: Path, errors: int) -> list[str]:
    cmd = [sys.executable, str(scorer), str(gold), str(predictions), "--by", "lang"]
    if errors:
        cmd += ["--errors", str(errors)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return done.stdout.rstrip("\n").splitlines()


def side_by_side(left: list[str], right: list[str], titles: tuple[str, str]) -> str:
    width = max(map(len, left), default=0) + 4
    rows = [f"{titles[0]:<{width}}{titles[1]}"]
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else ""
        b = right[i] if i < len(right) else ""
        rows.append(f"{a:<{width}}{b}")
    return "\n".join(rows)


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: bool, predicted: bool) -> None:
        self.tp += gold and predicted
        self.fp += predicted and not gold
        self.fn += gold and not predicted

    def prf(self) -> tuple[float, float, float]:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1


def count(
    records: Iterable[Record], predict: Predict, group: Callable[[Record], str]
) -> dict[str, dict[str, Counts]]:
    """group -> topic -> counts; the group "all" holds every record."""
    table: dict[str, dict[str, Counts]] = defaultdict(lambda: defaultdict(Counts))
    for record in records:
        gold, predicted = gold_topics(record), predict(record)
        for topic in SUITE_TOPICS:
            for key in ("all", group(record)):
                table[key][topic].add(topic in gold, topic in predicted)
    return table


def topic_table(ours: Mapping[str, Counts], naive: Mapping[str, Counts]) -> list[str]:
    rows = [f"  {'topic':<9} {'ours P':>7} {'R':>5} {'F1':>5}   {'naive P':>7} {'R':>5} {'F1':>5}"]
    total_ours, total_naive = Counts(), Counts()
    for topic in SUITE_TOPICS:
        a, b = ours[topic], naive[topic]
        for total, part in ((total_ours, a), (total_naive, b)):
            total.tp, total.fp, total.fn = (
                total.tp + part.tp,
                total.fp + part.fp,
                total.fn + part.fn,
            )
        rows.append(f"  {topic:<9} {_prf(a)}   {_prf(b)}")
    rows.append(f"  {'micro':<9} {_prf(total_ours)}   {_prf(total_naive)}")
    return rows


def _prf(counts: Counts) -> str:
    p, r, f = counts.prf()
    return f"{p:>7.2f} {r:>5.2f} {f:>5.2f}"


def _tpfpfn(counts: Counts) -> str:
    return f"{counts.tp}/{counts.fp}/{counts.fn}"


def counts_table(
    ours: Mapping[str, Mapping[str, Counts]], naive: Mapping[str, Mapping[str, Counts]], label: str
) -> list[str]:
    rows = [f"  {label:<22} {'topic':<8} {'ours TP/FP/FN':>14}   {'naive TP/FP/FN':>14}"]
    for key in sorted(k for k in ours if k != "all"):
        for topic in SUITE_TOPICS:
            a, b = ours[key][topic], naive[key][topic]
            rows.append(f"  {key:<22} {topic:<8} {_tpfpfn(a):>14}   {_tpfpfn(b):>14}")
    return rows


def report(
    name: str,
    records: list[dict[str, object]],
    ours: Predict,
    naive: Predict,
    families: bool = True,
) -> list[str]:
    def by_lang(record: Record) -> str:
        return str(record.get("lang"))

    ours_lang, naive_lang = count(records, ours, by_lang), count(records, naive, by_lang)
    lines = [
        f"== {name}: {len(records)} articles",
        *topic_table(ours_lang["all"], naive_lang["all"]),
    ]
    lines += counts_table(ours_lang, naive_lang, "lang")
    if families and records and "family" in records[0]:

        def by_family(record: Record) -> str:
            return str(record.get("family"))

        ours_fam, naive_fam = count(records, ours, by_family), count(records, naive, by_family)
        lines += counts_table(ours_fam, naive_fam, "family")
    return lines


def predictors(topics: tuple[Topic, ...]) -> tuple[Predict, Predict]:
    tagger = Tagger(topics)

    def ours(record: Record) -> set[str]:
        found = tag_record(tagger, record)["topics"]
        return set(found) if isinstance(found, dict) else set()

    def naive(record: Record) -> set[str]:
        return set(naive_topics(topics, record))

    return ours, naive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--config", type=Path, default=REPO / "config")
    parser.add_argument("--out", type=Path, default=Path("/tmp/marsad-tagging"))
    parser.add_argument("--suite", type=Path, default=SUITE)
    parser.add_argument("--suite-check", type=Path, default=SUITE_CHECK)
    parser.add_argument("--suite-third", type=Path, default=SUITE_THIRD)
    parser.add_argument("--errors", type=int, default=0, help="list N errors per topic (ours)")
    args = parser.parse_args(argv)
    gold = args.shared / "data" / "tagging-dev.jsonl"
    scorer = args.shared / "tools" / "score_tagging.py"
    records = read_jsonl(gold)
    topics = load_config(args.config).topics
    args.out.mkdir(parents=True, exist_ok=True)
    write_predictions(records, topics, args.out)
    ours_lines = score(scorer, gold, args.out / "ours.jsonl", 0)
    naive_lines = score(scorer, gold, args.out / "naive.jsonl", 0)
    print(f"{len(records)} articles, {len(topics)} topics, predictions in {args.out}\n")
    print(side_by_side(ours_lines, naive_lines, ("OURS (Tagger)", "NAIVE (substring)")))
    if args.errors:
        print("\n" + "\n".join(score(scorer, gold, args.out / "ours.jsonl", args.errors)))
    ours, naive = predictors(topics)
    split = split_half(records)
    for half in ("tune", "check"):
        part = [record for record in records if split[str(record["id"])] == half]
        print("\n" + "\n".join(report(f"{half} half", part, ours, naive)))
    if args.suite.exists():
        print("\n" + "\n".join(report("confuser suite", read_jsonl(args.suite), ours, naive)))
    if args.suite_check.exists():
        check = read_jsonl(args.suite_check)
        lines = report("suite-check (never tuned on)", check, ours, naive, families=False)
        print("\n" + "\n".join(lines))
    if args.suite_third.exists():
        third = read_jsonl(args.suite_third)
        lines = report("suite-third (never saw the rules)", third, ours, naive, families=False)
        print("\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
