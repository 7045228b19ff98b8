"""trafilatura's XPath expressions against Marsad's rewrites (crawler/extract/speedups.py): the
nodes each selects on every extraction dev page and on benchmark pages, and the CPU each takes.

    .venv/bin/python bench/xpath_equivalence.py [--shared ../shared] [--bench-pages 60]

Prints, per rewritten expression, whether both forms selected the same nodes on every page and
their CPU per page; exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def pages(shared: Path, bench_pages: int) -> list[str]:
    from crawl_bench import article_texts, render_page

    from crawler.text.encoding import decode_html

    data = shared / "data" / "extraction-dev"
    found = []
    if (data / "cases.jsonl").exists():
        for line in (data / "cases.jsonl").read_text("utf-8").splitlines():
            if line.strip():
                body = gzip.decompress((data / json.loads(line)["html"]).read_bytes())
                found.append(decode_html(body)[0])
    rng = random.Random(7)
    texts = article_texts(shared)
    for i in range(bench_pages):
        lang, title, text = texts[i % len(texts)]
        page = render_page(rng, i, lang, f"{title} ({i})", text, "http://127.0.0.1:1")
        found.append(page.decode())
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--bench-pages", type=int, default=60)
    args = parser.parse_args()

    from trafilatura.utils import load_html

    from crawler.extract.speedups import REPLACED, install

    install()
    parsed = map(load_html, pages(args.shared, args.bench_pages))
    trees = [tree for tree in parsed if tree is not None]
    print(f"{len(trees)} pages")
    failed = 0
    total = [0.0, 0.0]
    for old, new in REPLACED:
        spent = [0.0, 0.0]
        differ = 0
        for tree in trees:
            selections = []
            for side, expression in enumerate((old, new)):
                started = time.thread_time()
                selections.append(expression(tree))
                spent[side] += time.thread_time() - started
            differ += selections[0] != selections[1]
        failed += differ
        total = [total[0] + spent[0], total[1] + spent[1]]
        print(
            f"{' '.join(old.path.split())[:70]}: "
            f"{'same' if not differ else f'DIFFERENT on {differ} pages'}; "
            f"{1000 * spent[0] / len(trees):.2f} -> {1000 * spent[1] / len(trees):.2f} ms/page"
        )
    print(
        f"all rewritten expressions: {1000 * total[0] / len(trees):.1f} -> "
        f"{1000 * total[1] / len(trees):.1f} ms/page; {'FAILED' if failed else 'identical'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
