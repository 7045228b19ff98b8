"""Score Marsad's topic tagger against a naive baseline on the tagging dev set.

    .venv/bin/python bench/tagging_eval.py [--shared ../shared] [--config config]
                                           [--out /tmp/marsad-tagging] [--errors N]

Writes two prediction files in the format of shared/tools/score_tagging.py:
  ours.jsonl    crawler.tagging.Tagger with config/topics.toml (what `marsad tag` prints)
  naive.jsonl   the same topics' terms (article's language), plain case-insensitive substring
                search over title + text, no exclusions, no threshold: any hit tags the topic
then runs the scorer (--by lang) on both and prints the reports side by side.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.config import Topic, load_config  # noqa: E402
from crawler.tagging import Tagger, tag_record  # noqa: E402

DEFAULT_SHARED = REPO.parent / "shared"


def naive_topics(topics: tuple[Topic, ...], record: dict) -> dict[str, float]:
    haystack = f"{record.get('title') or ''}\n{record.get('text') or ''}".lower()
    lang = record.get("lang")
    out: dict[str, float] = {}
    for topic in topics:
        terms = topic.terms.get(lang, ()) if lang in topic.terms else sum(topic.terms.values(), ())
        hits = sum(haystack.count(term.lower()) for term in terms)
        if hits:
            out[topic.key] = float(hits)
    return out


def write_predictions(records: list[dict], topics: tuple[Topic, ...], out: Path) -> None:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--config", type=Path, default=REPO / "config")
    parser.add_argument("--out", type=Path, default=Path("/tmp/marsad-tagging"))
    parser.add_argument("--errors", type=int, default=0, help="list N errors per topic (ours)")
    args = parser.parse_args(argv)
    gold = args.shared / "data" / "tagging-dev.jsonl"
    scorer = args.shared / "tools" / "score_tagging.py"
    with open(gold, encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    topics = load_config(args.config).topics
    args.out.mkdir(parents=True, exist_ok=True)
    write_predictions(records, topics, args.out)
    ours = score(scorer, gold, args.out / "ours.jsonl", 0)
    naive = score(scorer, gold, args.out / "naive.jsonl", 0)
    print(f"{len(records)} articles, {len(topics)} topics, predictions in {args.out}\n")
    print(side_by_side(ours, naive, ("OURS (Tagger)", "NAIVE (substring)")))
    if args.errors:
        print("\n" + "\n".join(score(scorer, gold, args.out / "ours.jsonl", args.errors)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
