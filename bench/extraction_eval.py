"""Compare Marsad's extraction with bare trafilatura on the extraction dev set.

    .venv/bin/python bench/extraction_eval.py [--shared ../shared] [--out /tmp/marsad-eval]

Writes three prediction files in the format of shared/tools/score_extraction.py:
  ours.jsonl       extract_bytes(); rejected pages score as empty (what the crawler stores)
  ours_all.jsonl   the text we would have produced even for rejected pages
  bare.jsonl       trafilatura.bare_extraction(bytes, url, with_metadata=True), defaults
then runs the scorer (--by lang) on each and prints the reports side by side, the rejections,
and the time per page of each extractor (measured in this process, same pages, same order).

The pages are split once, before any tuning, into a tuning part and a check part: a page is in
the check part when the first hex digit of sha256(its id) is 8-f (``part_of``). Both parts are
reported (``--part`` picks one; default all three: all, tune, check). Tune only on the tuning
part; the check part's figures are the ones that predict unseen pages.

Dates: ours is the publisher's day (``published`` is kept in the publisher's offset), from the
page itself (``date_source`` page or relative); feed and sitemap dates do not exist here. Every
page where ours and bare disagree on the day is listed with the ground truth (``--dates``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import trafilatura  # noqa: E402

from crawler.extract import core as ex  # noqa: E402
from crawler.text.encoding import decode_html  # noqa: E402

DEFAULT_SHARED = REPO.parent / "shared"
COLS = ["body_p", "body_r", "body_f1", "title_f1", "author_f1", "date_acc"]


PARTS = ("all", "tune", "check")


def part_of(case_id: str) -> str:
    """The fixed split: sha256 of the page id, first hex digit 0-7 tune, 8-f check."""
    return "tune" if hashlib.sha256(case_id.encode("utf-8")).hexdigest()[0] < "8" else "check"


def load_cases(data_dir: Path) -> list[dict]:
    with open(data_dir / "cases.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def run_ours(cases: list[dict], data_dir: Path) -> tuple[list[dict], list[dict], Counter, float]:
    preds, preds_all, reasons = [], [], Counter()
    elapsed = 0.0
    for case in cases:
        body = gzip.decompress((data_dir / case["html"]).read_bytes())
        t0 = time.perf_counter()
        html, _ = decode_html(body)
        result, rejected = ex._extract(html, case["url"], None, ex.MIN_CHARS)
        elapsed += time.perf_counter() - t0
        row_all = {"id": case["id"], "text": "", "title": None, "date": None, "author": None}
        if result is not None:
            row_all.update(
                text=result.text,
                title=result.title,
                author=result.author,
                # the publisher's day: ground truth dates are the publisher's, not UTC
                date=(
                    result.published.isoformat()
                    if result.published and result.date_source in ("page", "relative")
                    else None
                ),
                lang=result.language,
            )
        preds_all.append(row_all)
        if rejected is not None:
            reasons[rejected.reason] += 1
            if case.get("text") or case.get("with"):
                logging.info("rejected %s: %s (%s)", case["id"], rejected.reason, rejected.detail)
            preds.append({"id": case["id"], "text": ""})
        else:
            preds.append(row_all)
    return preds, preds_all, reasons, elapsed / max(len(cases), 1)


def run_bare(cases: list[dict], data_dir: Path) -> tuple[list[dict], float]:
    preds = []
    elapsed = 0.0
    for case in cases:
        body = gzip.decompress((data_dir / case["html"]).read_bytes())
        t0 = time.perf_counter()
        doc = trafilatura.bare_extraction(body, url=case["url"], with_metadata=True)
        elapsed += time.perf_counter() - t0
        row = {"id": case["id"], "text": ""}
        if doc is not None:
            row.update(text=doc.text or "", title=doc.title, author=doc.author, date=doc.date)
        preds.append(row)
    return preds, elapsed / max(len(cases), 1)


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def score(scorer: Path, cases_file: Path, preds_file: Path) -> dict:
    out = subprocess.run(
        [sys.executable, str(scorer), str(cases_file), str(preds_file), "--by", "lang", "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def side_by_side(reports: dict[str, dict], groups: list[str]) -> str:
    names = list(reports)
    head = (
        "group".ljust(10)
        + "cases".rjust(6)
        + "  "
        + "".join(f"{c:>{9 * len(names)}}" for c in COLS)
    )
    sub = " " * 18 + "".join("".join(f"{n[:8]:>9}" for n in names) for _ in COLS)
    lines = [head, sub]
    for g in groups:
        first = reports[names[0]].get(g, {})
        row = g[:10].ljust(10) + str(first.get("cases", "-")).rjust(6) + "  "
        for c in COLS:
            for n in names:
                v = reports[n].get(g, {}).get(c)
                row += f"{v:>9.3f}" if isinstance(v, float | int) else f"{'-':>9}"
        lines.append(row)
    return "\n".join(lines)


def _day(value: str | None) -> str | None:
    return value[:10] if value else None


def date_disagreements(cases: list[dict], ours: list[dict], bare: list[dict]) -> str:
    """Every page where ours and bare find different days (or one finds none), with the
    ground truth and which one it agrees with."""
    lines = ["date disagreements (ours vs bare; truth from cases.jsonl):"]
    tally: Counter = Counter()
    for case, mine, theirs in zip(cases, ours, bare, strict=True):
        a, b, truth = _day(mine.get("date")), _day(theirs.get("date")), case.get("date")
        if a == b:
            continue
        if not truth:
            verdict = "no truth"
        elif a == truth:
            verdict = "ours right"
        elif b == truth:
            verdict = "bare right"
        else:
            verdict = "both wrong"
        tally[verdict] += 1
        lines.append(
            f"  {case['id'][:60]:<60} {case.get('lang') or '-':<3} {part_of(case['id']):<5} "
            f"truth {truth or '-':<10}  ours {a or '-':<10}  bare {b or '-':<10}  {verdict}"
        )
    lines.append(f"  {sum(tally.values())} pages: {dict(tally)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="shared directory")
    ap.add_argument("--data", type=Path, help="dev set (default SHARED/data/extraction-dev)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/marsad-extraction-eval"))
    ap.add_argument("-v", "--verbose", action="store_true", help="log each rejected page")
    ap.add_argument("--part", choices=PARTS, action="append", help="split part(s) to report")
    ap.add_argument("--all-langs", action="store_true", help="every language, not en/fr/ar")
    ap.add_argument("--dates", action="store_true", help="list the pages whose dates disagree")
    args = ap.parse_args(argv)
    args.part = args.part or list(PARTS)
    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(message)s")
    for noisy in ("trafilatura", "htmldate", "charset_normalizer"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)

    data_dir = args.data or args.shared / "data" / "extraction-dev"
    scorer = args.shared / "tools" / "score_extraction.py"
    cases = load_cases(data_dir)
    args.out.mkdir(parents=True, exist_ok=True)

    # warm both up (imports, langid model, lxml) outside the timing
    warm = gzip.decompress((data_dir / cases[0]["html"]).read_bytes())
    trafilatura.bare_extraction(warm, with_metadata=True)
    ex.extract_bytes(warm, cases[0]["url"])

    bare, bare_ms = run_bare(cases, data_dir)
    ours, ours_all, reasons, ours_ms = run_ours(cases, data_dir)
    files = {"ours": args.out / "ours.jsonl", "ours_all": args.out / "ours_all.jsonl",
             "bare": args.out / "bare.jsonl"}  # fmt: skip
    write_jsonl(files["ours"], ours)
    write_jsonl(files["ours_all"], ours_all)
    write_jsonl(files["bare"], bare)

    for part in args.part:
        chosen = [c for c in cases if part == "all" or part_of(c["id"]) == part]
        part_cases = args.out / f"cases_{part}.jsonl"
        write_jsonl(part_cases, chosen)
        reports = {name: score(scorer, part_cases, path) for name, path in files.items()}
        langs = Counter(c.get("lang") for c in chosen)
        main_langs = [lang for lang, _ in langs.most_common() if lang in {"en", "fr", "ar"}]
        groups = ["all"] + [f"lang={lang}" for lang in main_langs]
        if args.all_langs:
            groups += [
                g for g in sorted(reports["ours"]) if g not in groups and g.startswith("lang=")
            ]
        print(f"== {part} ({len(chosen)} pages)")
        print(side_by_side(reports, groups))
        print()
    if args.dates:
        print(date_disagreements(cases, ours_all, bare))
    print()
    print(f"rejections (ours): {dict(reasons) or 'none'} of {len(cases)} pages")
    print(f"time per page: ours {ours_ms * 1000:.1f} ms, bare {bare_ms * 1000:.1f} ms "
          f"(ratio {ours_ms / bare_ms:.2f})")  # fmt: skip
    print(f"predictions written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
