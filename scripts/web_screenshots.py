"""Screenshots of the analysts' web page (search, story, article, sources) with Arabic and
French content, taken by headless Chromium, for a person to look at.

    .venv/bin/python scripts/web_screenshots.py OUT_DIR [--db URL --config DIR]

Without --db, the bundled sample site (Arabic, French and English outlets) is served on loopback
and crawled into a temporary database first (a real `marsad crawl`, about a minute), so the pages
show realistic articles, stories and crawl runs. Writes one PNG per page into OUT_DIR and prints
their paths. Needs /usr/bin/chromium (`apt-get install -y chromium fonts-noto-core`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from crawler import db  # noqa: E402
from crawler.crawl.run import LOCAL_SETTINGS  # noqa: E402
from crawler.db import Article, ArticleTopic  # noqa: E402
from crawler.sample_site import serve_sample_site  # noqa: E402
from tests.browser import chromium  # noqa: E402
from tests.webserver import running_web  # noqa: E402

SEARCHES = {"ar": "المغرب", "fr": "Maroc"}
FRAGMENTS_LOADED = (
    "() => [...document.querySelectorAll('[data-fragment]')]"
    ".every(el => el.hasAttribute('data-loaded') || el.hasAttribute('data-failed'))"
)


@contextmanager
def crawled_sample_site() -> Iterator[tuple[str, str]]:
    """(database URL, config folder) of a fresh crawl of the bundled sample site."""
    with tempfile.TemporaryDirectory(prefix="marsad-shots-") as folder, serve_sample_site() as site:
        config = Path(folder) / "config"
        site.write_config(config, topics_from=REPO / "config")
        url = f"sqlite:///{Path(folder) / 'marsad.db'}"
        command = [sys.executable, "-m", "crawler", "--config", str(config), "--db", url, "crawl"]
        command += [f"-s{key}={value}" for key, value in LOCAL_SETTINGS.items()]
        print("crawling the sample site ...", file=sys.stderr, flush=True)
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            raise SystemExit(f"the sample crawl failed:\n{done.stdout}{done.stderr}")
        yield url, str(config)


def pages(db_url: str) -> dict[str, str]:
    """name -> path of each page to shoot, chosen from what the database holds."""
    engine = db.make_engine(db_url)
    out = {f"search-{lang}": f"/search?q={quote(q)}&lang={lang}" for lang, q in SEARCHES.items()}
    with Session(engine) as session:
        for lang in ("ar", "fr"):
            story = session.execute(
                select(Article.story_id, func.count())
                .where(Article.language == lang, Article.story_id.is_not(None))
                .group_by(Article.story_id)
                .order_by(func.count().desc(), Article.story_id)
                .limit(1)
            ).first()
            if story is not None:
                out[f"story-{lang}"] = f"/stories/{story[0]}"
            tagged = session.scalar(
                select(Article.id)
                .join(ArticleTopic, ArticleTopic.article_id == Article.id)
                .where(Article.language == lang)
                .order_by(func.length(Article.text).desc(), Article.id)
                .limit(1)
            )
            if tagged is not None:
                out[f"article-{lang}"] = f"/articles/{tagged}"
    engine.dispose()
    out["sources"] = "/sources"
    return out


def shoot(db_url: str, config_dir: str, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with running_web(db_url, config_dir) as web, chromium(width=1280, height=1000) as context:
        for name, path in pages(db_url).items():
            page = context.new_page()
            response = page.goto(web.url(path))
            status = response.status if response is not None else "no response"
            page.wait_for_function(FRAGMENTS_LOADED, timeout=60_000)
            target = out_dir / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            print(f"{target}  ({path}, HTTP {status})")
            written.append(target)
            page.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder for the PNG files")
    parser.add_argument("--db", help="database URL (default: a fresh crawl of the sample site)")
    parser.add_argument("--config", help="config folder of that database")
    args = parser.parse_args()
    if args.db:
        shoot(args.db, args.config or str(REPO / "config"), args.out_dir)
        return
    with crawled_sample_site() as (url, config):
        shoot(url, config, args.out_dir)


if __name__ == "__main__":
    main()
