"""Log lines: an ISO 8601 timestamp on every line, --log-format json, --log-file."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner

from crawler.cli import cli
from crawler.cli.logs import JsonFormatter, TextFormatter, child_log_options
from crawler.sample_site import SampleSite

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"
TEXT_LINE = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}) (DEBUG|INFO|WARNING|ERROR) [\w.]+: "
)


def _record(msg: str, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("crawler.x", logging.WARNING, __file__, 1, msg, (), exc_info)


def test_text_lines_carry_an_iso_timestamp_with_offset() -> None:
    line = TextFormatter().format(_record("hello"))
    match = TEXT_LINE.match(line)
    assert match and line.endswith("WARNING crawler.x: hello"), line
    assert datetime.fromisoformat(match.group(1)).utcoffset() is not None


def test_json_lines_are_one_object_with_the_exception_inside() -> None:
    line = JsonFormatter().format(_record("¿ناجح?", exc=True))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "crawler.x"
    assert entry["message"] == "¿ناجح?"
    assert "ValueError: boom" in entry["exception"]
    assert datetime.fromisoformat(entry["time"]).utcoffset() is not None


def _marsad(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", "--config", str(REPO_CONFIG), *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_real_command_logs_with_timestamps_in_text_and_json(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    done = _marsad("-v", "--db", db, "db", "upgrade")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 0, done.stderr
    assert lines and all(TEXT_LINE.match(line) for line in lines), done.stderr
    done = _marsad("-v", "--log-format", "json", "--db", db, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert entries and all({"time", "level", "logger", "message"} <= set(e) for e in entries)


def test_log_file_appends_and_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    log = tmp_path / "marsad.log"
    log.write_text("earlier line\n")
    done = _marsad("-v", "--log-file", str(log), "--db", db, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = log.read_text().splitlines()
    assert lines[0] == "earlier line" and len(lines) > 1
    assert all(TEXT_LINE.match(line) for line in lines[1:]), lines

    missing = tmp_path / "nowhere" / "marsad.log"
    result = CliRunner().invoke(cli, ["--log-file", str(missing), "sources", "list"])
    assert result.exit_code == 2, result.output
    assert "--log-file" in result.output and "does not exist" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["--log-file", str(tmp_path), "sources", "list"])
    assert result.exit_code == 2 and "is a folder" in result.output, result.output


def test_crawl_processes_inherit_the_log_options(tmp_path: Path) -> None:
    assert child_log_options("json", None) == ["--log-format", "json"]
    options = child_log_options("text", str(tmp_path / "d.log"))
    assert options == ["--log-format", "text", "--log-file", str(tmp_path / "d.log")]


def test_crawl_logs_use_the_same_format(site: SampleSite, tmp_path: Path) -> None:
    from tests.test_scheduler import write_config

    config = write_config(site, tmp_path / "config", {"ledger-en": "1h"})
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "-v", "--log-format", "json", "--config", str(config),
         "--db", f"sqlite:///{tmp_path / 'c.db'}", "crawl", "ledger-en", "--format", "json",
         "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines
    for line in lines:
        json.loads(line)
