"""CSV cells a spreadsheet would run as formulas are neutralised (OWASP "CSV Injection")."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from crawler import db

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 180  # seconds per subprocess: generous for a loaded 2-core machine

HOSTILE = {
    '=HYPERLINK("http://127.0.0.1/x","المغرب")': '\'=HYPERLINK("http://127.0.0.1/x","المغرب")',
    "+1+cmd|' /C calc'!A0": "'+1+cmd|' /C calc'!A0",
    "-2+3 المغرب": "'-2+3 المغرب",
    "@SUM(1+1)*cmd": "'@SUM(1+1)*cmd",
    "\tالمغرب tab": "'\tالمغرب tab",
    "\rالمغرب cr": "'\rالمغرب cr",
    "المغرب = Maroc - 2024": "المغرب = Maroc - 2024",  # not at the start: left alone
    'Le Maroc, "l\'été"': 'Le Maroc, "l\'été"',
}


def seed(path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        for i, title in enumerate(HOSTILE):
            article = db.Article(
                source="hespress-ar",
                url=f"https://example.com/{i}",
                url_key=f"example.com/{i}",
                url_hash=db.url_hash(f"example.com/{i}"),
                title=title,
                text="=1+1 المغرب Maroc",
                description="@description",
                title_norm=title,
                text_norm="المغرب maroc",
                language="ar",
                content_hash=f"{i:040d}",
                published_at=datetime.now(UTC) - timedelta(hours=i + 1),
            )
            session.add(article)
        session.commit()
    engine.dispose()


def marsad(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARSAD_")}
    env.update(MARSAD_CONFIG=str(REPO / "config"), PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        timeout=TIMEOUT,
        cwd=cwd,
        env=env,
        check=False,
    )


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_export_and_search_neutralise_formula_cells(tmp_path: Path) -> None:
    database = tmp_path / "hostile.db"
    seed(database)
    out = tmp_path / "out.csv"
    run = marsad(
        "--db",
        f"sqlite:///{database}",
        "export",
        "--format",
        "csv",
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr.decode()
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # to a file: a BOM, so Excel reads Arabic
    exported = rows(out.read_bytes())
    assert {r["title"] for r in exported} == set(HOSTILE.values())
    assert {r["text"] for r in exported} == {"'=1+1 المغرب Maroc"}
    assert {r["description"] for r in exported} == {"'@description"}
    assert all(r["id"].isdigit() for r in exported)  # numbers stay numbers

    run = marsad("--db", f"sqlite:///{database}", "search", "المغرب", "--format", "csv", "--limit", "50",
                 cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr.decode()
    assert {r["title"] for r in rows(run.stdout)} == set(HOSTILE.values())
