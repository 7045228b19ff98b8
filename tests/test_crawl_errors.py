"""Crawl-side failures an operator can meet, through the real `marsad` command: a bad `-s`
value, a missing User-Agent contact, unreachable sites and broken robots.txt files, a crawl that
cannot start, unreadable files for `marsad extract`. Each gives its exit code, a line naming the
value and the fix, and never a traceback. Loopback servers only."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import BaseSettings

from crawler.config import parse_sources
from crawler.crawl.agent import SettingError, is_loopback, require_contact
from crawler.crawl.failures import failure_lines
from crawler.crawl.preflight import check_overrides

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"
TIMEOUT = 240  # seconds per command: generous for a loaded 2-core machine
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "RETRY_TIMES=0"]
NOISE = ("Traceback", "Unhandled error", "CRITICAL twisted", "ERROR scrapy")


def marsad(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning", **(env or {})}
    for name in ("MARSAD_DB_URL", "MARSAD_USER_AGENT", "MARSAD_CONFIG"):
        if name not in (env or {}):
            environ.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=environ,
    )


def assert_clean(stderr: str) -> None:
    for noise in NOISE:
        assert noise not in stderr, stderr


def write_config(directory: Path, sources: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sources.toml").write_text(sources, encoding="utf-8")
    shutil.copy(REPO_CONFIG / "topics.toml", directory / "topics.toml")
    return directory


def source_toml(key: str, base: str, host: str) -> str:
    return (
        f'[sources.{key}]\nname = "{key}"\nlang = "fr"\ndomains = ["{host}"]\n'
        f'feeds = ["{base}/feed"]\nsections = ["{base}/une", "{base}/monde"]\n'
    )


# --------------------------------------------------------------------------- loopback servers

FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
    b"<item><title>Une</title><link>{base}/story.html</link></item></channel></rss>"
)


@contextmanager
def serve(robots_status: int, robots_body: bytes) -> Iterator[str]:
    """A tiny site on 127.0.0.1 whose robots.txt answers *robots_status* with *robots_body*."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            if self.path == "/robots.txt":
                status, body, kind = robots_status, robots_body, "text/plain"
            elif self.path == "/feed":
                status, body, kind = 200, FEED.replace(b"{base}", base.encode()), "text/xml"
            else:
                status, kind = 200, "text/html; charset=utf-8"
                body = b"<html><body><p>Court.</p></body></html>"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound, never listening: no other process can
    take it meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# --------------------------------------------------------------------------- -s KEY=VALUE


BAD_SETTINGS = [
    ("DOWNLOAD_DELAY=abc", "expected a number (seconds), e.g. -s DOWNLOAD_DELAY="),
    ("ROBOTSTXT_OBEY=maybe", "expected True or False"),
    ("CONCURRENT_REQUESTS=2.5", "expected a whole number, e.g. -s CONCURRENT_REQUESTS="),
    ("MARSAD_RAW_HTML=zip", "expected one of gzip, none"),
    ("LOG_LEVEL=loud", "expected one of CRITICAL, ERROR, WARNING, INFO, DEBUG"),
    ('ITEM_PIPELINES={"a": 1', "expected a JSON object"),
]


@pytest.mark.parametrize(("pair", "fix"), BAD_SETTINGS, ids=[p for p, _ in BAD_SETTINGS])
def test_a_bad_setting_is_a_usage_error_before_anything_starts(
    tmp_path: Path, pair: str, fix: str
) -> None:
    config = write_config(
        tmp_path / "config", source_toml("local", "http://127.0.0.1:9", "127.0.0.1:9")
    )
    db = tmp_path / "never.db"
    proc = marsad("--config", str(config), "--db", f"sqlite:///{db}", "crawl", "-s", pair)
    assert proc.returncode == 2, proc.stderr
    assert_clean(proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert f"-s {pair}: " in lines[0] and fix in lines[0], lines[0]
    assert proc.stdout == ""
    assert not db.exists(), "a usage error must not create the database"


def test_accepted_values_are_whatever_scrapy_reads() -> None:
    """check_overrides accepts exactly what Scrapy's getters accept, and converts it."""
    for value in ("True", "true", "False", "false", "1", "0"):
        checked = check_overrides({"ROBOTSTXT_OBEY": value})
        assert checked == {"ROBOTSTXT_OBEY": BaseSettings({"k": value}).getbool("k")}
    assert check_overrides({"DOWNLOAD_DELAY": "2"}) == {"DOWNLOAD_DELAY": 2.0}
    assert check_overrides({"DOWNLOAD_TIMEOUT": "7.5"}) == {"DOWNLOAD_TIMEOUT": 7.5}
    assert check_overrides({"CONCURRENT_REQUESTS": "8"}) == {"CONCURRENT_REQUESTS": 8}
    assert check_overrides({"MARSAD_EXTRACT_TIMEOUT": "90"}) == {"MARSAD_EXTRACT_TIMEOUT": 90.0}
    assert check_overrides({"MARSAD_DB_URL": "sqlite:///x.db"}) == {
        "MARSAD_DB_URL": "sqlite:///x.db"
    }
    assert check_overrides({"JOBDIR": "crawls/1"}) == {"JOBDIR": "crawls/1"}
    for bad in ("yes", "on", "TRUE", ""):
        with pytest.raises(SettingError, match="ROBOTSTXT_OBEY"):
            check_overrides({"ROBOTSTXT_OBEY": bad})


def test_an_unknown_setting_is_passed_on_with_a_did_you_mean(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert check_overrides({"DOWNLOAD_DELY": "2"}) == {"DOWNLOAD_DELY": "2"}
    assert "did you mean DOWNLOAD_DELAY?" in caplog.text
    caplog.clear()
    check_overrides({"WHOLLY_UNRELATED": "x"})
    assert "WHOLLY_UNRELATED" in caplog.text and "did you mean" not in caplog.text


# --------------------------------------------------------------------------- User-Agent


@pytest.mark.parametrize(
    ("domain", "loopback"),
    [
        ("127.0.0.1:8080", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("localhost:9000", True),
        ("::1", True),
        ("[::1]:8080", True),
        ("hespress.com", False),
        ("128.0.0.1:80", False),
        ("localhost.example.com", False),
        ("10.0.0.1", False),
    ],
)
def test_loopback_domains(domain: str, loopback: bool) -> None:
    assert is_loopback(domain) is loopback


def test_a_remote_source_needs_a_real_user_agent() -> None:
    remote = parse_sources(
        {"sources": {"far": {"name": "Far", "lang": "fr", "domains": ["far.example.com"],
                             "feeds": ["https://far.example.com/feed"]}}}
    )  # fmt: skip
    with pytest.raises(SettingError, match=r"USER_AGENT.*MARSAD_USER_AGENT"):
        require_contact(remote, "Marsad/0.1 (news monitoring; +https://example.org/marsad)")
    with pytest.raises(SettingError):
        require_contact(remote, "")
    require_contact(remote, "Marsad (+https://desk.example.net; desk@example.net)")


def test_crawling_a_remote_site_with_the_placeholder_agent_is_refused(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config", source_toml("far", "https://far.example.com", "far.example.com")
    )
    db = tmp_path / "never.db"
    proc = marsad("--config", str(config), "--db", f"sqlite:///{db}", "crawl", "far")
    assert proc.returncode == 2, proc.stderr
    assert_clean(proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "USER_AGENT" in lines[0] and "MARSAD_USER_AGENT=" in lines[0]
    assert "far.example.com" in lines[0]
    assert not db.exists()


# --------------------------------------------------------------------------- failures counted


def test_unreachable_sites_and_broken_robots_are_counted_not_printed(tmp_path: Path) -> None:
    with (
        closed_port() as port,
        serve(500, b"\x00\xff<html>oops</html>") as failing,
        serve(200, b"\xff\xfe\x00garbage\x00\x81") as garbage,
    ):
        config = write_config(
            tmp_path / "config",
            source_toml("closed", f"http://127.0.0.1:{port}", f"127.0.0.1:{port}")
            + source_toml("robots500", failing, failing.removeprefix("http://"))
            + source_toml("garbage", garbage, garbage.removeprefix("http://")),
        )
        db_url = f"sqlite:///{tmp_path / 'crawl.db'}"
        proc = marsad(
            "--config", str(config), "--db", db_url, "crawl", "--format", "json", *FAST,
            "-s", "DOWNLOAD_DELY=0",
        )  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # "closed" failed, the others did not
    assert_clean(proc.stderr)
    warnings = [line for line in proc.stderr.splitlines() if line.strip()]
    assert any("did you mean DOWNLOAD_DELAY?" in line for line in warnings), proc.stderr
    failed = [line for line in warnings if " failed: " in line]
    assert len(warnings) <= 4, proc.stderr  # the typo, and one line per source and reason
    assert any(
        f"closed: 3 requests failed: connection (first: http://127.0.0.1:{port}/" in line
        for line in failed
    ), proc.stderr
    assert any(
        "closed: 1 robots.txt request failed: connection (first: "
        f"http://127.0.0.1:{port}/robots.txt)" in line
        for line in failed
    ), proc.stderr
    assert any("robots500: 1 robots.txt request failed: http_500" in line for line in failed)
    assert not any(line.startswith("garbage") or " garbage: " in line for line in failed)

    by_source = {s["source"]: s for s in json.loads(proc.stdout)["sources"]}
    assert by_source["closed"]["status"] == "failed"
    assert by_source["closed"]["errors"] == {"connection": 3, "robots_connection": 1}
    assert by_source["closed"]["entry_points_failed"] == 3
    assert by_source["robots500"]["status"] == "ok"
    assert by_source["robots500"]["errors"] == {"robots_http_500": 1}
    assert by_source["garbage"]["status"] == "ok" and by_source["garbage"]["errors"] == {}
    assert by_source["garbage"]["pages_fetched"] >= 4  # robots.txt read as allowing everything


def test_failure_lines_one_per_source_and_reason() -> None:
    stats = {
        "marsad/a/errors/dns": 6,
        "marsad/a/first_failure/dns": "https://a.example/feed",
        "marsad/a/errors/robots_dns": 1,
        "marsad/a/first_failure/robots_dns": "https://a.example/robots.txt",
        "marsad/a/errors/bad_feed": 1,  # logged where it happens, with its reason
        "marsad/b/errors/http_404": 1,
        "marsad/b/first_failure/http_404": "https://b.example/x",
    }
    assert failure_lines(stats) == [
        "a: 6 requests failed: dns (first: https://a.example/feed)",
        "a: 1 robots.txt request failed: dns (first: https://a.example/robots.txt)",
        "b: 1 request failed: http_404 (first: https://b.example/x)",
    ]


def test_a_crawl_that_cannot_start_says_why(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config", source_toml("local", "http://127.0.0.1:9", "127.0.0.1:9")
    )
    proc = marsad(
        "--config", str(config), "--db", f"sqlite:///{tmp_path / 'x.db'}", "crawl",
        "-s", 'ITEM_PIPELINES={"nosuch.Pipeline": 100}',
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert_clean(proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "the crawl could not start" in lines[0], proc.stderr
    assert "nosuch" in lines[0]


# --------------------------------------------------------------------------- marsad extract

ARTICLE = (
    "<html lang='fr'><head><title>Le port de Tanger</title></head><body><article>"
    "<h1>Le port de Tanger</h1>"
    + "".join(
        f"<p>Le port de Tanger Med a traité {n} millions de conteneurs au trimestre {n}, "
        f"selon l'autorité portuaire, qui prévoit {n + 2} nouveaux quais d'ici {2030 + n}.</p>"
        for n in range(8)
    )
    + "</article></body></html>"
).encode()


def extract_inputs(tmp_path: Path) -> dict[str, Path]:
    good = tmp_path / "good.html"
    good.write_bytes(ARTICLE)
    packed = gzip.compress(ARTICLE)
    truncated = tmp_path / "truncated.html.gz"
    truncated.write_bytes(packed[: len(packed) // 2])
    corrupt = tmp_path / "corrupt.html.gz"
    corrupt.write_bytes(b"\x1f\x8b" + b"\x00" * 40)
    rejected = tmp_path / "short.html"
    rejected.write_bytes(b"<html><body><p>Court.</p></body></html>")
    folder = tmp_path / "folder"
    folder.mkdir()
    return {
        "good": good,
        "truncated": truncated,
        "missing": tmp_path / "missing.html",
        "folder": folder,
        "corrupt": corrupt,
        "rejected": rejected,
    }


@pytest.mark.parametrize("workers", ["0", "2"])
def test_extract_goes_on_past_unreadable_files(tmp_path: Path, workers: str) -> None:
    files = extract_inputs(tmp_path)
    proc = marsad(
        "--config", str(REPO_CONFIG), "extract", "--workers", workers,
        *[str(path) for path in files.values()],
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert_clean(proc.stderr)
    assert "Aborted" not in proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["path"] for r in records] == [str(files["good"]), str(files["rejected"])]
    assert records[0]["title"] == "Le port de Tanger" and "rejected" not in records[0]
    assert records[1]["rejected"]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 4, proc.stderr
    expected = {
        "truncated": "broken gzip",
        "missing": "no such file",
        "folder": "is a folder",
        "corrupt": "broken gzip",
    }
    for (name, reason), line in zip(expected.items(), lines, strict=True):
        assert f"cannot read {files[name]}: {reason}" in line, line


def test_extract_json_keeps_the_readable_records(tmp_path: Path) -> None:
    files = extract_inputs(tmp_path)
    proc = marsad(
        "--config", str(REPO_CONFIG), "extract", "--format", "json",
        str(files["missing"]), str(files["good"]),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert [r["path"] for r in json.loads(proc.stdout)] == [str(files["good"])]
    assert f"cannot read {files['missing']}: no such file" in proc.stderr


def test_extract_of_a_rejected_page_is_a_record_not_an_error(tmp_path: Path) -> None:
    files = extract_inputs(tmp_path)
    proc = marsad("--config", str(REPO_CONFIG), "extract", str(files["rejected"]))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rejected"]
    assert proc.stderr.strip() == ""


@pytest.mark.parametrize("verbosity", ["-v", "-vv"])
def test_each_failure_is_shown_at_v_and_its_traceback_at_vv(tmp_path: Path, verbosity: str) -> None:
    with closed_port() as port:
        base = f"http://127.0.0.1:{port}"
        config = write_config(tmp_path / "config", source_toml("closed", base, base[7:]))
        proc = marsad(
            verbosity, "--config", str(config), "--db", f"sqlite:///{tmp_path / 'x.db'}",
            "crawl", "--format", "json", *FAST,
        )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    for path in ("/robots.txt", "/feed", "/une", "/monde"):
        assert f"connection fetching {base}{path}" in proc.stderr, proc.stderr
    assert ("Traceback" in proc.stderr) is (verbosity == "-vv")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_extract_reports_a_file_it_may_not_read(tmp_path: Path) -> None:
    locked = tmp_path / "locked.html"
    locked.write_bytes(ARTICLE)
    locked.chmod(0)
    proc = marsad("--config", str(REPO_CONFIG), "extract", str(locked))
    assert proc.returncode == 1, proc.stderr
    assert f"cannot read {locked}: permission denied" in proc.stderr
    assert_clean(proc.stderr)


def test_read_page_names_a_permission_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same rule as above, for a test run as root (which may read every file)."""
    import errno

    from crawler.extract.files import UnreadableFile, read_page

    def denied(self: Path) -> bytes:
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(UnreadableFile, match="permission denied; check the file's permissions"):
        read_page(tmp_path / "locked.html")
