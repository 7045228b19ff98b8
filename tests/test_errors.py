"""Every failure an operator can meet, through the real `marsad` command: one or two lines that
name the thing and the fix, the right exit code, no traceback, no password, nothing created and
nothing stored changed. Each row runs `python -m crawler ...` in a fresh, empty working folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

import crawler.cli as crawler_cli
from crawler import db
from crawler.cli import cli
from crawler.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    Failure,
    UsageError,
    check_out,
    explain,
    open_out,
)

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 180  # seconds per run: generous for a loaded 2-core machine
SECRET = "s3cr3t-Pa55"  # the password of every URL below: it must never be printed
PG_HOST = ("127.0.0.1", 5432)  # the shared server (tests/conftest.py)

ALERTS = """
[rules.desk]
topics = ["morocco"]
schedule = "immediate"
[rules.desk.channels.archive]
type = "file"
path = "{out}/{{rule}}.html"
[rules.desk.channels.hook]
type = "apprise"
url = "json://127.0.0.1:9/hook"
"""
BAD_ALERTS = ALERTS.replace('schedule = "immediate"', 'schedule = "every day"')
BAD_APPRISE = ALERTS.replace("json://127.0.0.1:9/hook", "nosuch://token/chat")


def _copy_config(folder: Path, alerts: str) -> Path:
    folder.mkdir()
    for name in ("sources.toml", "topics.toml"):
        shutil.copy(REPO / "config" / name, folder / name)
    (folder / "alerts.toml").write_text(alerts, encoding="utf-8")
    return folder


def _seed(url: str) -> None:
    engine = db.make_engine(url)
    with Session(engine) as session:
        for i, (title, lang) in enumerate([("Le Maroc et Israël", "fr"), ("المغرب", "ar")]):
            article = db.Article(
                source="hespress-ar",
                url=f"https://example.com/{i}",
                url_key=f"example.com/{i}",
                url_hash=db.url_hash(f"example.com/{i}"),
                title=title,
                text=f"{title}: visite officielle au Maroc.",
                title_norm=title,
                text_norm=title,
                language=lang,
                content_hash=f"{i:040d}",
                published_at=datetime.now(UTC) - timedelta(hours=i + 1),
            )
            article.topics.append(db.ArticleTopic(topic="morocco", score=2.0, evidence=[]))
            session.add(article)
        session.commit()
    engine.dispose()


def rows_checksum(path: Path) -> str:
    """A digest of every row of every table of the SQLite file at *path*."""
    digest = hashlib.sha256()
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in sorted(tables):
            digest.update(table.encode())
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1'):
                digest.update(repr(row).encode())
    finally:
        conn.close()
    return digest.hexdigest()


def _pg_reachable() -> bool:
    try:
        socket.create_connection(PG_HOST, timeout=5).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def closed_port() -> Iterator[int]:
    """A loopback port bound but never listening: a PostgreSQL server that is down."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory, closed_port: int) -> dict[str, str]:
    """The values the rows' arguments name: databases, configurations, files."""
    root = tmp_path_factory.mktemp("errors")
    out = root / "out"
    out.mkdir()
    seeded = root / "seeded.db"
    _seed(f"sqlite:///{seeded}")
    old = root / "old.db"
    db.make_engine(f"sqlite:///{old}", revision="0002").dispose()  # a schema behind head
    notes = root / "notes.txt"
    notes.write_text("not a database\n", encoding="utf-8")
    (root / "latin1.jsonl").write_bytes(b'{"id": 1, "title": "caf\xe9"}\n')
    (out / "full.csv").symlink_to("/dev/full")
    (out / "full.html").symlink_to("/dev/full")
    return {
        "root": str(root),
        "out": str(out),
        "cfg": str(_copy_config(root / "config", ALERTS.format(out=out))),
        "bad_alerts": str(_copy_config(root / "bad-alerts", BAD_ALERTS.format(out=out))),
        "bad_apprise": str(_copy_config(root / "bad-apprise", BAD_APPRISE.format(out=out))),
        "seeded": f"sqlite:///{seeded}",
        "seeded_path": str(seeded),
        "old": f"sqlite:///{old}",
        "old_path": str(old),
        "notes": str(notes),
        "missing": f"sqlite:///{root}/missing/dir/marsad.db",
        "pg_down": f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:{closed_port}/marsad",
        "pg_no_db": f"postgresql+psycopg://postgres:{SECRET}@{PG_HOST[0]}:{PG_HOST[1]}/"
        f"marsad_missing_{uuid.uuid4().hex[:12]}",
    }


@dataclass(frozen=True)
class Bad:
    """One bad input: `marsad ARGS` exits *code* and says each of *says* (the thing, the fix)."""

    args: tuple[str, ...]
    code: int
    says: tuple[str, ...]
    seeded: bool = False  # runs on the seeded database: its rows must not change
    absent: tuple[str, ...] = ()  # paths that must not exist afterwards
    postgres: bool = False  # needs the shared PostgreSQL server
    lines: int = 2  # of the message: what failed (and the value), then the fix


def bad(args: str, code: int, *says: str, **options: object) -> Bad:
    return Bad(tuple(args.split()), code, says, **options)  # type: ignore[arg-type]  # Bad's fields


MISSING_DB = ("no database at {root}/missing/dir/marsad.db", "run `marsad db upgrade`")
READ_COMMANDS = [
    "search x", "show 1", "export", "stats", "stories", "runs", "status", "retag",
    "topics test morocco", "digest --dry-run", "digest desk", "digest history", "db reindex",
    "digest preview desk --out {out}/preview.html",
]  # fmt: skip

ROWS: list[Bad] = [
    # ---------------------------------------------------------------- database URLs and drivers
    bad("--db nonsense search x", EXIT_USAGE, "invalid database URL 'nonsense'",
        "sqlite:///marsad.db"),
    bad("--db sqlite://marsad.db status", EXIT_USAGE, "'sqlite://marsad.db'", "three slashes",
        "sqlite:///marsad.db", absent=("marsad.db",)),
    bad(f"--db mysql://u:{SECRET}@h/db search x", EXIT_USAGE, "unsupported database 'mysql'",
        "mysql://u:***@h/db", "postgresql+psycopg://"),
    bad(f"--db postgresql+psycopg2://u:{SECRET}@h/db stats", EXIT_USAGE,
        "driver 'psycopg2'", "not installed", "pip install psycopg2"),
    bad(f"--db foo://u:{SECRET}@h/db db upgrade", EXIT_USAGE, "unsupported database 'foo'"),
    # ---------------------------------------------------------------- servers and databases
    bad("--db {pg_down} search x", EXIT_FAILED, "database server unreachable",
        "127.0.0.1", "Connection refused", "start the server"),
    bad("--db {pg_down} runs", EXIT_FAILED, "database server unreachable", "start the server"),
    bad("--db {pg_down} db upgrade", EXIT_FAILED, "database server unreachable"),
    bad("--db {pg_no_db} search x", EXIT_USAGE, "has no database", "marsad_missing_",
        "createdb", postgres=True),
    bad("--db {pg_no_db} db upgrade", EXIT_USAGE, "has no database", "createdb", postgres=True),
    bad("--db sqlite:////etc/passwd search x", EXIT_USAGE, "/etc/passwd is not a SQLite database",
        "check --db", absent=("/etc/passwd-wal", "/etc/passwd-shm")),
    bad("--db sqlite:///{notes} stats", EXIT_USAGE, "notes.txt is not a SQLite database",
        "check --db"),
    bad("--db sqlite:///{root} stats", EXIT_USAGE, "is not a database file", "check --db"),
    bad("--db sqlite:////sys/marsad.db db upgrade", EXIT_FAILED,
        "cannot open the SQLite database /sys/marsad.db", "writable"),
    # ---------------------------------------------------------------- never create a database
    *(bad(f"--db {{missing}} {command}", EXIT_USAGE, *MISSING_DB,
          absent=("{root}/missing", "{out}/desk.html", "{out}/preview.html"))
      for command in READ_COMMANDS),
    bad("search x", EXIT_USAGE, "no database at marsad.db", "check --db", absent=("marsad.db",)),
    bad("--db {old} search x", EXIT_USAGE, "is at revision 0002, this Marsad needs",
        "run `marsad db upgrade`"),
    bad("--db {old} digest desk", EXIT_USAGE, "is at revision 0002", "marsad db upgrade",
        absent=("{out}/desk.html",)),
    bad("--db {missing} db upgrade --revision nonexistent", EXIT_USAGE,
        "unknown revision 'nonexistent'", "--revision heads", absent=("{root}/missing",)),
    # ---------------------------------------------------------------- output files
    bad("--db {seeded} export --out /missing/x.csv --format csv", EXIT_USAGE,
        "/missing/x.csv", "the folder /missing does not exist", "mkdir -p /missing",
        seeded=True, absent=("/missing",)),
    bad("--db {seeded} digest preview desk --out /missing/d.html", EXIT_USAGE,
        "the folder /missing does not exist", seeded=True, absent=("/missing",)),
    bad("--db {seeded} digest desk --out /missing/d.html", EXIT_USAGE,
        "the folder /missing does not exist", seeded=True, absent=("{out}/desk.html",)),
    bad("--db {seeded} export --out {out}/x.pdf", EXIT_USAGE, "x.pdf", "not a jsonl file",
        ".jsonl", seeded=True, absent=("{out}/x.pdf",)),
    bad("--db {seeded} export --out {out}/x.csv", EXIT_USAGE, "is a csv file but --format is "
        "jsonl", "add --format csv", seeded=True, absent=("{out}/x.csv",)),
    bad("--db {seeded} digest preview desk --out {out}/d.pdf", EXIT_USAGE, "d.pdf",
        "names no format", ".html", seeded=True, absent=("{out}/d.pdf",)),
    bad("--db {seeded} export --format csv --out {out}/full.csv", EXIT_FAILED,
        "disk full while writing", "full.csv", "free disk space", seeded=True),
    bad("--db {seeded} digest preview desk --out {out}/full.html", EXIT_FAILED,
        "disk full while writing", "full.html", seeded=True),
    bad("--db {seeded} export --format csv --out /sys/x.csv", EXIT_FAILED,
        "permission denied: /sys/x.csv", "choose a path", seeded=True),
    bad("--db {seeded} digest preview desk --out /sys/d.html", EXIT_FAILED,
        "permission denied: /sys/d.html", seeded=True),
    # ---------------------------------------------------------------- filter values
    bad("--db {seeded} search x --topic moroco", EXIT_USAGE, "--topic moroco",
        "did you mean 'morocco'", "marsad topics list", seeded=True),
    bad("--db {seeded} search x --source hesspress-ar", EXIT_USAGE, "--source hesspress-ar",
        "did you mean 'hespress-ar'", "marsad sources list", seeded=True),
    bad("--db {seeded} export --source nosuch", EXIT_USAGE, "--source nosuch",
        "marsad sources list", seeded=True),
    bad("--db {seeded} runs --source hesspress-ar", EXIT_USAGE, "--source hesspress-ar",
        "did you mean 'hespress-ar'", "marsad sources list", seeded=True),
    bad("--db {seeded} search x --lang de", EXIT_USAGE, "--lang de", "ar, fr, en", seeded=True),
    bad("--db {seeded} search x --lang arabic", EXIT_USAGE, "did you mean 'ar'", seeded=True),
    bad("--db {seeded} digest desk --channel archiv", EXIT_USAGE, "--channel archiv",
        "did you mean 'archive'", seeded=True, absent=("{out}/desk.html",)),
    bad("--db {seeded} digest preview desk --channel nosuch --out {out}/p.html", EXIT_USAGE,
        "--channel nosuch", "archive, hook", seeded=True, absent=("{out}/p.html",)),
    bad("--db {seeded} search (crise", EXIT_USAGE, "bad query", "expected ')'", seeded=True,
        lines=3),  # the query under a caret
    # ---------------------------------------------------------------- configuration and input
    bad("--config {bad_alerts} sources check", EXIT_USAGE, "alerts.toml",
        "rules.desk.schedule", "Fix:"),
    bad("--config {bad_apprise} sources check", EXIT_USAGE, "alerts.toml",
        "rules.desk.channels.hook.url", "unknown apprise scheme 'nosuch'", "Fix:"),
    bad("--config {bad_apprise} --db {seeded} digest --dry-run", EXIT_USAGE,
        "unknown apprise scheme 'nosuch'", seeded=True),
    bad("--config {root}/no-config sources list", EXIT_USAGE, "sources.toml"),
    bad("sources check --online --timeout 0", EXIT_USAGE, "--timeout", "range x>0"),
    bad("tag {root}/latin1.jsonl", EXIT_USAGE, "not UTF-8 text", "convert it to UTF-8"),
]  # fmt: skip


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def marsad(args: list[str], cwd: Path, config: str) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARSAD_")}
    env.update(MARSAD_CONFIG=config, PYTHONPATH=str(REPO), COLUMNS="200")
    proc = subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd,
        env=env,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _id(row: Bad) -> str:
    return " ".join(row.args).replace(SECRET, "SECRET")


@pytest.mark.parametrize("row", ROWS, ids=[_id(row) for row in ROWS])
def test_a_bad_input_says_what_and_how_to_fix_and_changes_nothing(
    row: Bad, places: dict[str, str], tmp_path: Path
) -> None:
    if row.postgres and not _pg_reachable():
        if os.environ.get("MARSAD_REQUIRE_SERVICES", "") not in ("", "0"):
            pytest.fail(f"PostgreSQL at {PG_HOST} is required but unreachable")
        pytest.skip(f"PostgreSQL at {PG_HOST} is unreachable")
    args = [arg.format(**places) for arg in row.args]
    before = rows_checksum(Path(places["seeded_path"])) if row.seeded else None
    old_before = rows_checksum(Path(places["old_path"]))
    passwd_before = Path("/etc/passwd").read_bytes()

    run = marsad(args, cwd=tmp_path, config=places["cfg"])

    assert run.code == row.code, run.output
    for part in row.says:
        assert part.format(**places) in run.output, run.output
    assert "Traceback" not in run.output
    assert SECRET not in run.output
    message = run.stderr[run.stderr.find("Error:") :].strip().splitlines()
    assert 1 <= len(message) <= row.lines, run.stderr
    assert list(tmp_path.iterdir()) == [], "the command created files in its working folder"
    for path in row.absent:
        assert not (tmp_path / path.format(**places)).exists(), path
    if before is not None:
        assert rows_checksum(Path(places["seeded_path"])) == before
    assert rows_checksum(Path(places["old_path"])) == old_before  # never migrated by accident
    assert Path("/etc/passwd").read_bytes() == passwd_before
    if row.postgres:
        name = places["pg_no_db"].rsplit("/", 1)[1]
        admin = create_engine(f"postgresql+psycopg://postgres@{PG_HOST[0]}:{PG_HOST[1]}/postgres")
        try:
            with admin.connect() as conn:
                found = conn.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                )
                assert found.first() is None, "a database was created on the shared server"
        finally:
            admin.dispose()


def test_there_are_enough_rows() -> None:
    assert len(ROWS) >= 20


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["-vv", "--db", "sqlite:////etc/passwd", "stats"], "/etc/passwd is not a SQLite database"),
        (["-vv", "--db", "{pg_down}", "search", "x"], "database server unreachable"),
    ],
    ids=["not a database", "server down"],
)
def test_vv_adds_the_traceback_but_never_the_password(
    args: list[str], says: str, places: dict[str, str], tmp_path: Path
) -> None:
    run = marsad([a.format(**places) for a in args], cwd=tmp_path, config=places["cfg"])
    assert run.code != 0
    assert "Traceback (most recent call last)" in run.stderr
    assert says in run.stderr.rsplit("Traceback", 1)[1]  # the message still ends the output
    assert SECRET not in run.output


def test_good_inputs_still_work(places: dict[str, str], tmp_path: Path) -> None:
    """What agreed before keeps working: .json for jsonl, .htm for HTML, '-' for stdout, a
    json:// apprise URL, and the three files reported by `sources check`."""
    out = Path(places["out"])
    for args in (
        ["--db", places["seeded"], "export", "--out", str(out / "all.json")],
        ["--db", places["seeded"], "export", "--format", "csv", "--out", str(out / "all.csv")],
        ["--db", places["seeded"], "digest", "preview", "desk", "--out", str(out / "d.htm")],
        ["--db", places["seeded"], "search", "Maroc", "--source", "hespress-ar", "--lang", "fr"],
    ):
        run = marsad(args, cwd=tmp_path, config=places["cfg"])
        assert run.code == 0, run.output
    assert len((out / "all.json").read_text(encoding="utf-8").splitlines()) == 2
    assert "<html" in (out / "d.htm").read_text(encoding="utf-8").lower()
    exported = marsad(["--db", places["seeded"], "export", "--out", "-"], tmp_path, places["cfg"])
    assert exported.code == 0 and len(exported.stdout.splitlines()) == 2
    checked = marsad(["sources", "check"], cwd=tmp_path, config=places["cfg"])
    assert checked.code == 0, checked.output
    assert "topics are valid." in checked.stdout and "1 alert rule is valid." in checked.stdout
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- the boundary itself


def test_only_the_crawl_and_upgrade_commands_open_a_database_to_create_it() -> None:
    """Read commands open with State.engine()'s default (existing, at head); demo and schedule
    create through the library (run_demo, the daemon)."""
    cli_dir = Path(crawler_cli.__file__).parent
    creating = sorted(
        path.name
        for path in cli_dir.glob("*.py")
        if re.search(r"\.engine\(\s*create=True", path.read_text(encoding="utf-8"))
    )
    assert creating == ["crawl.py", "database.py"]


def test_an_unknown_failure_is_one_internal_error_line(
    monkeypatch: pytest.MonkeyPatch, places: dict[str, str]
) -> None:
    from crawler import search

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"boom at postgresql://u:{SECRET}@h/db")

    monkeypatch.setattr(search, "stats", broken)
    result = CliRunner().invoke(cli, ["--db", places["seeded"], "stats"])
    assert result.exit_code == EXIT_FAILED
    assert (
        "internal error: RuntimeError: boom at postgresql://u:***@h/db "
        "(run with -vv for the traceback)" in result.output
    )
    assert "Traceback" not in result.output and SECRET not in result.output


@pytest.mark.parametrize(
    ("error", "kind", "says"),
    [
        (OSError(28, "No space left on device", "/data/x.csv"), Failure, "disk full"),
        (PermissionError(13, "Permission denied", "/x"), Failure, "permission denied: /x"),
        (FileNotFoundError(2, "No such file", "/in.html"), UsageError, "no such file"),
        (EOFError("Compressed file ended before the end-of-stream marker"), Failure, "truncated"),
        (KeyError("x"), Failure, "internal error: KeyError: 'x'"),
    ],
)
def test_explain(error: Exception, kind: type[click.ClickException], says: str) -> None:
    failure = explain(error, "")
    assert type(failure) is kind and says in failure.message


def test_check_out_and_open_out(tmp_path: Path) -> None:
    formats = {"csv": (".csv",), "jsonl": (".jsonl", ".json")}
    assert check_out(str(tmp_path / "a.JSON"), formats, "jsonl") == "jsonl"
    assert check_out("-", formats, "csv") == "csv"
    assert check_out(str(tmp_path / "a.csv"), formats) == "csv"
    with pytest.raises(UsageError, match="is a folder"):
        check_out(str(tmp_path), formats, "csv")
    with pytest.raises(UsageError, match="names no format"):
        check_out(str(tmp_path / "a"), formats)
    target = tmp_path / "kept.csv"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError), open_out(str(target)) as fh:
        fh.write("half")
        raise RuntimeError("the export failed")
    assert target.read_text(encoding="utf-8") == "old\n"  # a failure keeps the old file
    assert [p.name for p in tmp_path.iterdir()] == ["kept.csv"]  # and leaves no temporary
    with open_out(str(target)) as fh:
        fh.write("new\n")
    assert target.read_text(encoding="utf-8") == "new\n"
