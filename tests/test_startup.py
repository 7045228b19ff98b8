"""Fast start: `marsad --help` and `--version` load click alone, and a command that does not
crawl never imports Scrapy, Twisted or trafilatura. Each check runs the real entry point in a
fresh interpreter and reads what it imported."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from crawler import db

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 180  # seconds per subprocess: generous for a loaded 2-core machine
CRAWL_LIBRARIES = ("scrapy", "twisted", "trafilatura")
# what `--help` / `--version` must not load (the database, terminal, template, channel libraries)
HEAVY_LIBRARIES = (*CRAWL_LIBRARIES, "sqlalchemy", "alembic", "rich", "jinja2", "apprise")

# Runs `marsad ARGS...` through crawler.cli.main and reports sys.modules at exit on stderr.
PROBE = """
import atexit, json, sys
atexit.register(lambda: sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
sys.argv = ["marsad", *json.loads(sys.argv[1])]
from crawler.cli import main
main()
"""


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    modules: set[str]

    def loaded(self, libraries: tuple[str, ...]) -> list[str]:
        return sorted({m.split(".")[0] for m in self.modules} & set(libraries))


def marsad(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Run:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )
    stderr, marker, modules = proc.stderr.rpartition("\nMODULES ")
    assert marker, f"no module report from marsad {' '.join(args)}:\n{proc.stderr}"
    return Run(proc.returncode, proc.stdout, stderr, set(json.loads(modules)))


def test_importing_the_cli_imports_no_crawl_library() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import crawler.cli"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    imported = {
        line.rpartition("|")[2].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "click" in imported  # the report was read
    assert not imported & set(HEAVY_LIBRARIES)


@pytest.mark.parametrize("args", [["--version"], ["--help"], []], ids=str)
def test_version_and_help_load_click_alone(args: list[str]) -> None:
    run = marsad(*args)
    assert run.returncode in (0, 2), run.stderr  # click >= 8.2 exits 2 on a bare group
    assert ("Usage: marsad" in run.stdout + run.stderr) or "version" in run.stdout
    assert run.loaded(HEAVY_LIBRARIES) == []
    ours = {m for m in run.modules if m.split(".")[0] == "crawler"}
    assert ours == {"crawler", "crawler.cli"}, "no command module is loaded for help"


# ------------------------------------------------------------------ every command that does not crawl

ALERTS = """
[rules.desk]
topics = ["morocco"]
schedule = "immediate"
[rules.desk.channels.archive]
type = "file"
path = "{out}/{{rule}}.html"
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A configuration folder and a SQLite database at head with a few tagged articles."""
    root = tmp_path_factory.mktemp("startup")
    config = root / "config"
    config.mkdir()
    for name in ("sources.toml", "topics.toml"):
        shutil.copy(REPO / "config" / name, config / name)
    (config / "alerts.toml").write_text(ALERTS.format(out=root), encoding="utf-8")
    url = f"sqlite:///{root / 'marsad.db'}"
    engine = db.make_engine(url)
    articles = [
        ("Le Maroc et Israël signent un accord", "Rencontre à Rabat sur la défense.", "fr"),
        ("زيارة إلى المغرب", "وصل الوفد إلى المغرب لبحث التعاون.", "ar"),
    ]
    with Session(engine) as session:
        for i, (title, text, lang) in enumerate(articles):
            session.add(
                db.Article(
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
                    published_at=datetime.now(UTC) - timedelta(hours=i + 1),
                )
            )
        session.commit()
    engine.dispose()
    return {"MARSAD_DB_URL": url, "MARSAD_CONFIG": str(config), "OUT": str(root)}


TAG_INPUT = json.dumps({"id": 1, "title": "Le Maroc", "text": "Visite au Maroc.", "lang": "fr"})

NON_CRAWL_COMMANDS = [
    # (command, what its output says); in this order: retag tags the seeded articles before
    # the commands that read topics, and `digest desk` records the run that history shows
    (["db", "upgrade"], "is at revision"),
    (["db", "reindex"], "Search index rebuilt: 2 article(s)."),
    (["retag"], "2 articles retagged."),
    (["search", "Maroc"], "Le Maroc et Israël"),
    (["search", "المغرب", "--format", "json"], "زيارة إلى المغرب"),
    (["show", "1"], "Rencontre à Rabat"),
    (["export", "--format", "csv"], "id,published_at,source"),
    (["stats"], "2 article(s)"),
    (["stories"], "since"),
    (["runs"], "run(s)"),
    (["status"], "Source health"),
    (["sources", "list"], "Sources in"),
    (["sources", "check"], "topics are valid."),
    (["topics", "list"], "morocco"),
    (["topics", "test", "morocco"], "articles would be tagged"),
    (["tag"], '"morocco"'),
    (["digest", "--dry-run"], "desk\tarchive\tdry-run\t"),
    (["digest", "preview", "desk", "--out", "{OUT}/preview.html"], "subject:"),
    (["digest", "desk"], "desk\tarchive\t"),
    (["digest", "history"], "desk\tmanual\t"),
]


@pytest.mark.parametrize(
    ("args", "expected"), NON_CRAWL_COMMANDS, ids=[" ".join(a) for a, _ in NON_CRAWL_COMMANDS]
)
def test_a_command_that_does_not_crawl_never_imports_scrapy(
    workspace: dict[str, str], args: list[str], expected: str
) -> None:
    args = [arg.format(**workspace) for arg in args]
    run = marsad(*args, env=workspace, stdin=TAG_INPUT if args == ["tag"] else None)
    assert run.returncode == 0, run.stdout + run.stderr
    assert expected in run.stdout, run.stdout + run.stderr
    assert run.loaded(CRAWL_LIBRARIES) == [], f"marsad {' '.join(args)} imported them"


@pytest.mark.parametrize(
    "args",
    [["--db", "nonsense", "search", "x"], ["--db", "sqlite:////nonexistent/x.db", "stats"]],
    ids=["bad URL", "missing database"],
)
def test_the_error_boundary_loads_no_crawl_library(args: list[str]) -> None:
    run = marsad(*args)
    assert run.returncode == 2 and "Fix:" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert run.loaded(CRAWL_LIBRARIES) == []
