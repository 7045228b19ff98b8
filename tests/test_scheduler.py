"""The scheduler: run history, health, leader locks, and the real `marsad schedule` daemon.

The daemon tests start `python -m crawler schedule` in a subprocess against the loopback
sample site with schedules of a few seconds, and assert on the run history it records.
They assert orderings and outcomes, never durations: the machine may be busy.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from crawler import db
from crawler.cli import cli
from crawler.config import Schedule, load_config
from crawler.db import Article, ArticleRaw, ArticleUrl, CrawlRun
from crawler.sample_site import SampleSite
from crawler.schedule import health, runs
from crawler.schedule.daemon import FileLock, PostgresAdvisoryLock, leader_lock
from tests.waiting import wait_until

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "RETRY_TIMES=0"]
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- helpers


def write_config(
    site: SampleSite,
    directory: Path,
    intervals: dict[str, str],
    extra: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """The sample site's config, keeping only the sources in *intervals*, at those intervals."""
    site.write_config(directory, topics_from=REPO_CONFIG)
    path = directory / "sources.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    table = {
        k: {**v, "interval": intervals[k]} for k, v in data["sources"].items() if k in intervals
    }
    table.update(extra or {})
    path.write_text(tomli_w.dumps({"sources": table}), encoding="utf-8")
    return directory


class HangingServer:
    """Accepts connections on loopback and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()

    def source(self) -> dict[str, Any]:
        base = f"http://127.0.0.1:{self.port}"
        return {
            "name": "Hanging Herald",
            "lang": "en",
            "domains": [f"127.0.0.1:{self.port}"],
            "feeds": [f"{base}/feed.xml"],
            "article_patterns": ["/news/"],
            "interval": "1h",
        }


@pytest.fixture
def hanging() -> Iterator[HangingServer]:
    server = HangingServer()
    yield server
    server.close()


class Daemon:
    def __init__(
        self, config_dir: Path, db_url: str, log: Path, *args: str, db_in_env: bool = False
    ) -> None:
        """With *db_in_env* the URL comes from MARSAD_DB_URL, not from ``--db``."""
        env = {**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"}
        env.pop("MARSAD_DB_URL", None)
        db_args = ["--db", db_url]
        if db_in_env:
            env["MARSAD_DB_URL"] = db_url
            db_args = []
        self.log = log
        self._fh = log.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "crawler", "--config", str(config_dir), *db_args,
                "schedule", "--standby-poll", "0.5", "--grace", "5", *FAST, *args,
            ],
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            env=env,
        )  # fmt: skip

    @property
    def tag(self) -> str:
        return f"{socket.gethostname()}:{self.proc.pid}:"

    def output(self) -> str:
        return self.log.read_text()

    def terminate(self, timeout: float = 90) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._fh.close()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(30)
        self._fh.close()

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        self._fh.close()


def all_runs(db_url: str) -> list[CrawlRun]:
    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            rows = list(session.scalars(select(CrawlRun).order_by(CrawlRun.started_at)))
            session.expunge_all()
    except DBAPIError:  # the daemon has not created the schema yet
        return []
    finally:
        engine.dispose()
    return rows


def wait_for(
    what: str, check: Callable[[], bool], timeout: float = 120, daemons: Sequence[Daemon] = ()
) -> None:
    wait_until(
        what,
        check,
        timeout=timeout,
        alive=[d.proc for d in daemons],
        output=lambda: "\n----\n".join(d.output()[-3000:] for d in daemons),
        poll=0.25,
    )


def finished(rows: Sequence[CrawlRun], source: str) -> list[CrawlRun]:
    return [r for r in rows if r.source == source and r.outcome != runs.RUNNING]


def assert_no_overlap(rows: Sequence[CrawlRun]) -> None:
    ordered = sorted(rows, key=lambda r: r.started_at)
    for before, after in itertools.pairwise(ordered):
        assert before.finished_at is not None and before.finished_at <= after.started_at, (
            f"run {before.id} ({before.source}) overlaps run {after.id} ({after.source})"
        )


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[-1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False


def seed_run(
    session: Session, source: str, start: datetime, outcome: str = runs.OK, **kw: Any
) -> None:
    values: dict[str, Any] = {
        "pages_fetched": 10, "articles_stored": 5, "errors_total": 0, "errors": {},
    }  # fmt: skip
    values.update(kw)
    session.add(
        CrawlRun(
            source=source,
            trigger="scheduled",
            scheduled_for=start,
            started_at=start,
            finished_at=start + timedelta(seconds=30),
            outcome=outcome,
            **values,
        )
    )


# --------------------------------------------------------------------------- pure parts


def _summary(source: str, status: str = "ok", finish: str = "finished", **kw: Any) -> str:
    entry = {"source": source, "status": status, "pages_fetched": 12, "articles_stored": 4}
    entry.update(kw)
    return json.dumps({"finish_reason": finish, "ok": status == "ok", "sources": [entry]})


@pytest.mark.parametrize(
    ("result", "outcome", "stored", "snippet"),
    [
        (runs.ProcessResult(0, _summary("a"), ""), runs.OK, 4, None),
        (
            runs.ProcessResult(1, _summary("a", "failed", errors={"http_403": 7}), ""),
            runs.FAILED,
            4,
            "http_403 x7",
        ),
        (  # the database stopped the crawl: failed, and the summary says storage
            runs.ProcessResult(1, _summary("a", finish="storage"), ""),
            runs.FAILED,
            4,
            "not stored (storage)",
        ),
        (
            runs.ProcessResult(1, _summary("a", finish="shutdown"), ""),
            runs.INTERRUPTED,
            4,
            "signal",
        ),
        (
            runs.ProcessResult(-9, "", "Traceback ...\nMemoryError"),
            runs.CRASHED,
            None,
            "MemoryError",
        ),
        (
            runs.ProcessResult(2, "", "Error: unknown source(s): a"),
            runs.CRASHED,
            None,
            "unknown source",
        ),
        (runs.ProcessResult(-9, "", "", timed_out=True), runs.TIMED_OUT, None, "time limit"),
        (
            runs.ProcessResult(1, _summary("a", finish="shutdown"), "", interrupted=True),
            runs.INTERRUPTED,
            4,
            "scheduler",
        ),
    ],
)
def test_classify_crawl_process(
    result: runs.ProcessResult, outcome: str, stored: int | None, snippet: str | None
) -> None:
    verdict = runs.classify(result, "a")
    assert verdict.outcome == outcome
    assert verdict.articles_stored == stored
    if snippet:
        assert verdict.error_summary and snippet in verdict.error_summary


def test_next_due_from_history_coalesces_missed_slots(tmp_path: Path, site: SampleSite) -> None:
    write_config(site, tmp_path / "c", {"sahil-ar": "10m"})
    schedule = load_config(tmp_path / "c").source("sahil-ar").schedule
    now = T0 + timedelta(days=2)
    assert schedule.next_due(None, now) == now  # never run: now
    assert schedule.next_due(now - timedelta(minutes=3), now) == now + timedelta(minutes=7)
    # two days down: one due time in the past (run once, now), not 288 missed slots
    assert schedule.next_due(T0, now) == T0 + timedelta(minutes=10)

    cron = Schedule.crontab("0 6,18 * * *")
    assert cron.next_due(T0, now) == T0.replace(hour=18)
    assert cron.next_due(None, T0) == T0.replace(hour=18)
    assert cron.period == timedelta(hours=12)


def test_health_flags_and_alert_hook(
    tmp_path: Path, site: SampleSite, caplog: pytest.LogCaptureFixture
) -> None:
    keys = ["atlas-ar", "sahil-ar", "gazette-fr", "ledger-en"]
    write_config(site, tmp_path / "c", dict.fromkeys(keys, "1h"))
    config = load_config(tmp_path / "c")
    db_url = f"sqlite:///{tmp_path / 'h.db'}"
    engine = db.make_engine(db_url)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        # atlas-ar: failing twice in a row, blocked by 403s
        seed_run(session, "atlas-ar", now - timedelta(hours=3))
        seed_run(session, "atlas-ar", now - timedelta(hours=2), runs.TIMED_OUT)
        seed_run(session, "atlas-ar", now - timedelta(minutes=50), runs.FAILED,
                 errors={"http_403": 9}, errors_total=9, error_summary="blocked")  # fmt: skip
        # sahil-ar: usually 5-7 articles, the last run stored none
        for i, n in enumerate([5, 7, 6]):
            seed_run(session, "sahil-ar", now - timedelta(hours=4 - i), articles_stored=n)
        seed_run(session, "sahil-ar", now - timedelta(minutes=30), articles_stored=0)
        # gazette-fr: healthy but last ran two days ago
        seed_run(session, "gazette-fr", now - timedelta(days=2))
        # ledger-en: healthy and recent; an interruption does not count as a failure
        seed_run(session, "ledger-en", now - timedelta(minutes=20))
        seed_run(session, "ledger-en", now - timedelta(minutes=5), runs.INTERRUPTED)
    with Session(engine) as session:
        by_key = {h.source: h for h in health.assess(session, config.sources, now)}
    engine.dispose()
    assert set(by_key["atlas-ar"].flags) == {health.FAILING, health.BLOCKED}
    assert by_key["atlas-ar"].consecutive_failures == 2
    assert by_key["sahil-ar"].flags == [health.ZERO_YIELD]
    assert by_key["sahil-ar"].usual_articles == 6 and by_key["sahil-ar"].last_articles == 0
    assert by_key["gazette-fr"].flags == [health.OVERDUE]
    assert by_key["ledger-en"].flags == [] and by_key["ledger-en"].consecutive_failures == 0

    received: list[health.HealthAlert] = []

    class Collect:
        def notify(self, alerts: Sequence[health.HealthAlert]) -> None:
            received.extend(alerts)

    collector = Collect()
    health.register_notifier(collector)
    try:
        tracker = health.AlertTracker()
        with caplog.at_level(logging.WARNING, logger="crawler.schedule.health"):
            health.notify(tracker.update(by_key.values(), now))
            health.notify(tracker.update(by_key.values(), now))  # no repeat for the same flags
    finally:
        health.unregister_notifier(collector)
    assert sorted((a.source, a.flag) for a in received) == [
        ("atlas-ar", "blocked"), ("atlas-ar", "failing"),
        ("gazette-fr", "overdue"), ("sahil-ar", "zero_yield"),
    ]  # fmt: skip
    assert sum("health: " in r.getMessage() for r in caplog.records) == 4

    runner = CliRunner()
    base = ["--config", str(tmp_path / "c"), "--db", db_url]
    result = runner.invoke(cli, [*base, "status", "--format", "json", "--check"])
    assert result.exit_code == 1, result.output
    status = {s["source"]: s for s in json.loads(result.output)}
    assert status["sahil-ar"]["flags"] == ["zero_yield"]
    result = runner.invoke(cli, [*base, "status"])
    assert result.exit_code == 0 and "zero_yield" in result.output, result.output
    result = runner.invoke(cli, [*base, "runs", "--source", "atlas-ar", "--format", "json"])
    listed = json.loads(result.output)
    assert [r["outcome"] for r in listed] == ["failed", "timed_out", "ok"]
    assert listed[0]["errors"] == {"http_403": 9}
    result = runner.invoke(cli, [*base, "runs", "--limit", "2"])
    assert result.exit_code == 0 and "interrupted" in result.output, result.output


def test_crashed_runs_do_not_flag_a_source_failing(tmp_path: Path, site: SampleSite) -> None:
    """Runs that died with their scheduler (recorded crashed by the next leader) are ours."""
    write_config(site, tmp_path / "c", {"atlas-ar": "1h", "sahil-ar": "1h"})
    config = load_config(tmp_path / "c")
    engine = db.make_engine(f"sqlite:///{tmp_path / 'h.db'}")
    now = datetime.now(UTC)
    note = "the scheduler x stopped before this crawl ended"
    with Session(engine) as session, session.begin():
        for source in ("atlas-ar", "sahil-ar"):
            seed_run(session, source, now - timedelta(hours=3))
        for i in range(3):
            seed_run(session, "atlas-ar", now - timedelta(hours=2 - i / 2), runs.CRASHED,
                     error_summary=note)  # fmt: skip
        # a real failure still counts across the crashes between them
        seed_run(session, "sahil-ar", now - timedelta(hours=2), runs.FAILED)
        seed_run(session, "sahil-ar", now - timedelta(hours=1), runs.CRASHED, error_summary=note)
        seed_run(session, "sahil-ar", now - timedelta(minutes=30), runs.TIMED_OUT)
    with Session(engine) as session:
        by_key = {h.source: h for h in health.assess(session, config.sources, now)}
    engine.dispose()
    assert by_key["atlas-ar"].flags == [] and by_key["atlas-ar"].consecutive_failures == 0
    assert by_key["atlas-ar"].last_outcome == runs.CRASHED
    assert by_key["sahil-ar"].flags == [health.FAILING]
    assert by_key["sahil-ar"].consecutive_failures == 2


def test_leader_lock_is_exclusive_and_released(db_url: str) -> None:
    db.make_engine(db_url).dispose()
    first, second = leader_lock(db_url), leader_lock(db_url)
    assert isinstance(first, FileLock if db_url.startswith("sqlite") else PostgresAdvisoryLock)
    try:
        assert first.try_acquire() and first.held()
        assert not second.try_acquire()
        first.release()
        assert second.try_acquire() and second.held()
    finally:
        first.release()
        second.release()


# --------------------------------------------------------------------------- the daemon


@pytest.mark.slow
def test_cadence_parallel_limit_and_time_limit(
    site: SampleSite, hanging: HangingServer, tmp_path: Path
) -> None:
    config = write_config(
        site, tmp_path / "config", {"sahil-ar": "4s"}, extra={"hang": hanging.source()}
    )
    db_url = f"sqlite:///{tmp_path / 'sched.db'}"
    args = ["--max-parallel", "1", "--source-timeout", "hang=3", "--grace", "2",
            "-s", "DOWNLOAD_TIMEOUT=120"]  # fmt: skip
    with Daemon(config, db_url, tmp_path / "daemon.log", *args) as daemon:
        wait_for(
            "three sahil-ar runs and one timed-out hang run",
            lambda: (
                len(finished(rows := all_runs(db_url), "sahil-ar")) >= 3
                and len(finished(rows, "hang")) >= 1
            ),
            daemons=[daemon],
        )
        assert daemon.terminate() == 0, daemon.output()
    log = daemon.output()
    rows = all_runs(db_url)
    assert all(r.outcome != runs.RUNNING for r in rows), "a run was left running"
    hang = finished(rows, "hang")
    assert len(hang) == 1 and hang[0].outcome == runs.TIMED_OUT, [runs.run_to_dict(r) for r in hang]
    assert "time limit" in (hang[0].error_summary or "")
    assert hang[0].pid and not alive(hang[0].pid)
    sahil = finished(rows, "sahil-ar")
    assert [r.outcome for r in sahil[:3]] == [runs.OK] * 3, [runs.run_to_dict(r) for r in sahil]
    assert sahil[0].articles_stored > 0 and sahil[0].pages_fetched > 0
    # each run is due one interval after the one before, never sooner
    due = [db.as_utc(r.scheduled_for) for r in sahil if r.scheduled_for is not None]
    for a, b in itertools.pairwise(due):
        steps = (b - a) / timedelta(seconds=4)
        assert steps >= 0.999 and abs(steps - round(steps)) < 0.01, (a, b)
    for r in rows:
        assert r.scheduled_for is None or db.as_utc(r.started_at) >= db.as_utc(r.scheduled_for)
    assert_no_overlap(rows)  # --max-parallel 1: never two crawls at once
    assert "leader:" in log


@pytest.mark.slow
def test_standby_does_not_run_and_takes_over_after_sigkill(
    site: SampleSite, hanging: HangingServer, tmp_path: Path, db_url: str
) -> None:
    # "hang" never gets an answer, so its crawl is surely still running when the leader dies
    config = write_config(
        site, tmp_path / "config", {"sahil-ar": "3s"}, extra={"hang": hanging.source()}
    )
    args = ["-s", "DOWNLOAD_TIMEOUT=900"]
    with Daemon(config, db_url, tmp_path / "a.log", *args) as first:
        wait_for("the first run", lambda: len(all_runs(db_url)) >= 1, daemons=[first])
        with Daemon(config, db_url, tmp_path / "b.log", *args) as second:
            wait_for("standby", lambda: "standby" in second.output(), daemons=[first, second])
            wait_for(
                "two finished sahil-ar runs while hang's crawl runs",
                lambda: (
                    len(finished(rows := all_runs(db_url), "sahil-ar")) >= 2
                    and any(r.source == "hang" and r.outcome == runs.RUNNING for r in rows)
                ),
                timeout=300,
                daemons=[first, second],
            )
            rows = all_runs(db_url)
            assert all(r.scheduler and r.scheduler.startswith(first.tag) for r in rows)
            (orphan,) = [r for r in rows if r.source == "hang"]
            first.kill()  # SIGKILL mid-crawl
            wait_for(
                "the standby's own finished run",
                lambda: any(
                    r.scheduler.startswith(second.tag) and r.outcome != runs.RUNNING
                    for r in all_runs(db_url)
                    if r.scheduler
                ),
                timeout=300,
                daemons=[second],
            )
            assert second.terminate() == 0, second.output()
    rows = all_runs(db_url)
    by_id = {r.id: r for r in rows}
    assert by_id[orphan.id].outcome == runs.CRASHED, runs.run_to_dict(by_id[orphan.id])
    assert orphan.pid and not alive(orphan.pid), "the orphaned crawl kept running"
    assert all(r.outcome != runs.RUNNING for r in rows)
    taken = [r for r in rows if r.scheduler and r.scheduler.startswith(second.tag)]
    assert taken and taken[0].started_at >= by_id[orphan.id].finished_at
    for source in ("sahil-ar", "hang"):  # never two crawls of one source at once
        assert_no_overlap([r for r in rows if r.source == source])
    assert "leader:" in second.output() and "standby" in second.output()


def descendants(pid: int) -> list[int]:
    """Every live process below *pid* (children, grandchildren...)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(b")", 1)[-1].split()[1])
        parents.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:  # gone meanwhile
        return ""


@pytest.mark.slow
def test_database_password_stays_out_of_every_command_line_and_log(
    site: SampleSite, hanging: HangingServer, tmp_path: Path, postgres_server: str
) -> None:
    # the shared server trusts loopback, so any password connects; it must never show
    password = "s3cretPw0rd"
    base = postgres_server.replace("postgres@", f"postgres:{password}@", 1)
    assert password in base
    schema = f"t_{os.urandom(5).hex()}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    db_url = f"{base}?options=-csearch_path%3D{schema}"
    config = write_config(site, tmp_path / "config", {}, extra={"hang": hanging.source()})
    with Daemon(
        config, db_url, tmp_path / "d.log", "-s", "DOWNLOAD_TIMEOUT=900", db_in_env=True
    ) as daemon:
        wait_for(
            "hang's crawl running",
            lambda: any(r.outcome == runs.RUNNING and r.pid for r in all_runs(db_url)),
            daemons=[daemon],
        )
        (running,) = all_runs(db_url)
        wait_for(
            "the crawl process",
            lambda: " crawl hang " in cmdline(running.pid or 0),
            daemons=[daemon],
        )
        pids = [daemon.proc.pid, *descendants(daemon.proc.pid)]
        assert running.pid in pids
        lines = {pid: cmdline(pid) for pid in pids}
        for pid, line in lines.items():
            assert password not in line and "--db" not in line, (pid, line)
        assert daemon.terminate() == 0, daemon.output()
    assert password not in daemon.output()
    assert "leader:" in daemon.output()


@pytest.mark.slow
def test_one_leader_through_a_symlinked_database(site: SampleSite, tmp_path: Path) -> None:
    config = write_config(site, tmp_path / "config", {"sahil-ar": "1h"})
    real = tmp_path / "real" / "sched.db"
    real.parent.mkdir()
    link = tmp_path / "other" / "link.db"  # another name in another directory
    link.parent.mkdir()
    link.symlink_to(real)
    with Daemon(config, f"sqlite:///{real}", tmp_path / "a.log") as first:
        wait_for("the first leader", lambda: "leader:" in first.output(), daemons=[first])
        with Daemon(config, f"sqlite:///{link}", tmp_path / "b.log") as second:
            wait_for("standby", lambda: "standby" in second.output(), daemons=[first, second])
            wait_for(
                "the leader's finished run",
                lambda: bool(finished(all_runs(f"sqlite:///{real}"), "sahil-ar")),
                daemons=[first, second],
            )
            assert "leader:" not in second.output()
            assert second.terminate() == 0, second.output()
        assert first.terminate() == 0, first.output()
    rows = all_runs(f"sqlite:///{real}")
    assert rows and all(r.scheduler and r.scheduler.startswith(first.tag) for r in rows)


def logged_next_run(log: str, source: str) -> list[datetime]:
    """The times the daemon said *source* runs next ("<source>: next run at <iso>")."""
    marker = f"{source}: next run at "
    return [
        datetime.fromisoformat(line.split(marker, 1)[1].split()[0])
        for line in log.splitlines()
        if marker in line
    ]


@pytest.mark.slow
def test_overdue_source_runs_once_after_downtime(site: SampleSite, tmp_path: Path) -> None:
    """Two days down at an hourly interval: one catch-up run, then the next an hour later.

    No waiting on the clock: the daemon says when each job fires next (APScheduler's own
    next_run_time), so "nothing more before then" is read, not timed.
    """
    config = write_config(site, tmp_path / "config", {"sahil-ar": "1h", "ledger-en": "1h"})
    db_url = f"sqlite:///{tmp_path / 'overdue.db'}"
    engine = db.make_engine(db_url)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        seed_run(session, "sahil-ar", now - timedelta(days=2))  # 47 slots missed
        seed_run(session, "ledger-en", now - timedelta(minutes=1))  # not due for 59 minutes
    engine.dispose()

    def new_runs() -> list[CrawlRun]:
        return [r for r in all_runs(db_url) if r.scheduler is not None]

    with Daemon(config, db_url, tmp_path / "d1.log") as daemon:
        wait_for(
            "the overdue run and the daemon's next plan for it",
            lambda: bool(logged_next_run(daemon.output(), "sahil-ar")),
            timeout=300,
            daemons=[daemon],
        )
        assert daemon.terminate() == 0, daemon.output()
    first = new_runs()
    assert len(first) == 1, [runs.run_to_dict(r) for r in first]
    assert first[0].source == "sahil-ar" and first[0].trigger == "overdue"
    assert first[0].outcome == runs.OK, runs.run_to_dict(first[0])
    assert db.as_utc(first[0].scheduled_for) == now - timedelta(days=2) + timedelta(hours=1)
    # the missed slots coalesced: the job's next fire is a whole interval after the catch-up
    started = db.as_utc(first[0].started_at)
    (next_run,) = logged_next_run(daemon.output(), "sahil-ar")
    assert next_run >= started + timedelta(minutes=59), (next_run, started)
    assert "was missed" not in daemon.output()

    # restarted right away: the run just recorded is recent, so nothing is due
    with Daemon(config, db_url, tmp_path / "d2.log") as daemon:
        wait_for(
            "the restarted leader's plan",
            lambda: (
                "leader:" in (log := daemon.output())
                and all(logged_next_run(log, key) for key in ("sahil-ar", "ledger-en"))
            ),
            timeout=300,
            daemons=[daemon],
        )
        assert daemon.terminate() == 0, daemon.output()
    assert len(new_runs()) == 1, [runs.run_to_dict(r) for r in new_runs()]
    log = daemon.output()
    assert logged_next_run(log, "sahil-ar") == [started + timedelta(hours=1)]
    assert logged_next_run(log, "ledger-en") == [now - timedelta(minutes=1) + timedelta(hours=1)]


@pytest.mark.slow
def test_sigterm_mid_crawl_records_interrupted_and_leaves_whole_articles(
    site: SampleSite, tmp_path: Path
) -> None:
    config = write_config(site, tmp_path / "config", {"atlas-ar": "1h"})
    db_url = f"sqlite:///{tmp_path / 'term.db'}"
    # one request at a time, so Scrapy's graceful stop has little in flight to finish
    slow = ["-s", "DOWNLOAD_DELAY=0.5", "-s", "CONCURRENT_REQUESTS=1", "--grace", "60"]

    def stored() -> int:
        engine = create_engine(db_url)
        try:
            with Session(engine) as session:
                return int(session.scalar(select(func.count(Article.id))) or 0)
        except Exception:
            return 0
        finally:
            engine.dispose()

    with Daemon(config, db_url, tmp_path / "d.log", *slow) as daemon:
        wait_for("the first stored articles", lambda: stored() >= 1, daemons=[daemon])
        assert daemon.terminate() == 0, daemon.output()
    rows = all_runs(db_url)
    assert len(rows) == 1
    run = rows[0]
    assert run.outcome == runs.INTERRUPTED, runs.run_to_dict(run)
    assert run.exit_code == 1, "Scrapy should have shut down cleanly, not been killed"
    assert run.finished_at is not None and run.pid and not alive(run.pid)
    expected = len(site.article_urls()["atlas-ar"])
    engine = create_engine(db_url)
    with Session(engine) as session:
        ids = set(session.scalars(select(Article.id)))
        with_raw = set(session.scalars(select(ArticleRaw.article_id)))
        with_url = set(session.scalars(select(ArticleUrl.article_id)))
    engine.dispose()
    assert 0 < len(ids) < expected, "the shutdown should land mid-crawl"
    assert run.articles_stored == len(ids)
    assert ids == with_raw and ids <= with_url, "an article was left half-written"


@pytest.mark.slow
def test_daemon_sends_immediate_digests_after_a_crawl_once(
    site: SampleSite, tmp_path: Path
) -> None:
    config = write_config(site, tmp_path / "config", {"ledger-en": "3s"})
    out = tmp_path / "digests"
    (config / "alerts.toml").write_text(
        '[rules.morocco-now]\ntopics = ["morocco"]\nschedule = "immediate"\nlookback = "3650d"\n'
        f'[rules.morocco-now.channels.archive]\ntype = "file"\nformat = "json"\n'
        f'path = "{out}/{{rule}}-{{date}}-{{time}}.json"\n',
        encoding="utf-8",
    )
    db_url = f"sqlite:///{tmp_path / 'sched.db'}"
    with Daemon(config, db_url, tmp_path / "daemon.log") as daemon:
        wait_for(
            "two ledger-en runs and a digest file",
            lambda: len(finished(all_runs(db_url), "ledger-en")) >= 2 and any(out.glob("*.json")),
            daemons=[daemon],
        )
        assert daemon.terminate() == 0, daemon.output()
    files = sorted(out.glob("*.json"))
    assert len(files) == 1, "later runs stored nothing new, so nothing more was sent"
    sent = files[0].read_text(encoding="utf-8")
    assert "Morocco" in sent or "morocco" in sent


# --------------------------------------------------------------------------- operator's view


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--crawl-timeout", "0"], "--crawl-timeout"),
        (["--crawl-timeout", "-5m"], "--crawl-timeout"),
        (["--grace", "0"], "--grace"),
        (["--grace", "-1"], "--grace"),
        (["--standby-poll", "0s"], "--standby-poll"),
        (["--health-every", "0"], "--health-every"),
        (["--source-timeout", "ledger-en=0"], "--source-timeout ledger-en"),
        (["--source-timeout", "ledgr-en=1h"], "did you mean 'ledger-en'"),
        (["--source-timeout", "ledger-en"], "SOURCE=DURATION"),
        (["-s", "DOWNLOAD_DELAY=abc"], "-s DOWNLOAD_DELAY=abc: expected a number"),
        (["-s", "RETRY_ENABLED=maybe"], "-s RETRY_ENABLED=maybe"),
    ],
)
def test_schedule_options_are_checked(
    site: SampleSite, tmp_path: Path, args: list[str], named: str
) -> None:
    config = write_config(site, tmp_path / "c", {"ledger-en": "1h"})
    db_file = tmp_path / "never.db"
    result = CliRunner().invoke(
        cli, ["--config", str(config), "--db", f"sqlite:///{db_file}", "schedule", *args]
    )
    assert result.exit_code == 2, result.output
    assert named in result.output and "Traceback" not in result.output, result.output
    assert not db_file.exists()


def test_schedule_refuses_remote_sources_without_a_user_agent_contact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MARSAD_USER_AGENT", raising=False)
    db_file = tmp_path / "never.db"
    base = ["--config", str(REPO_CONFIG), "--db", f"sqlite:///{db_file}", "schedule"]
    result = CliRunner().invoke(cli, [*base, "hespress-ar"])
    assert result.exit_code == 2, result.output
    assert "USER_AGENT" in result.output and "MARSAD_USER_AGENT=" in result.output
    assert "hespress.com" in result.output and not db_file.exists()


def _seed_status_db(tmp_path: Path, site: SampleSite) -> tuple[Path, str]:
    keys = ["atlas-ar", "sahil-ar", "gazette-fr", "ledger-en"]
    config = write_config(site, tmp_path / "c", dict.fromkeys(keys, "1h"))
    db_url = f"sqlite:///{tmp_path / 's.db'}"
    engine = db.make_engine(db_url)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        for ago in (3, 2):
            seed_run(session, "atlas-ar", now - timedelta(hours=ago), runs.FAILED,
                     errors={"http_403": 9}, errors_total=9)  # fmt: skip
        for i, n in enumerate([5, 7, 6]):
            seed_run(session, "sahil-ar", now - timedelta(hours=4 - i), articles_stored=n)
        seed_run(session, "sahil-ar", now - timedelta(minutes=30), articles_stored=0)
        seed_run(session, "ledger-en", now - timedelta(minutes=5))
    engine.dispose()
    return config, db_url


@pytest.mark.parametrize("columns", [80, 120, 160])
def test_status_fits_the_terminal_and_never_cuts_flags(
    site: SampleSite, tmp_path: Path, columns: int
) -> None:
    config, db_url = _seed_status_db(tmp_path, site)
    result = CliRunner().invoke(
        cli, ["--config", str(config), "--db", db_url, "status"], env={"COLUMNS": str(columns)}
    )
    assert result.exit_code == 0, result.output
    table = result.output.split("\natlas-ar: ")[0]
    too_long = [line for line in table.splitlines() if len(line.rstrip()) > columns]
    assert not too_long, table
    assert "…" not in table, table
    words = set(re.findall(r"[a-z_]+", table))
    assert {"failing", "blocked", "zero_yield", "never_ran"} <= words, table
    assert "atlas-ar" in table and "gazette-fr" in table and "ledger-en" in table
    long_times = re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", table)
    assert bool(long_times) == (columns >= 150), table


def test_status_check_flags_a_source_that_never_ran(site: SampleSite, tmp_path: Path) -> None:
    config = write_config(site, tmp_path / "c", {"ledger-en": "1h"})
    db_url = f"sqlite:///{tmp_path / 'empty.db'}"
    db.make_engine(db_url).dispose()
    base = ["--config", str(config), "--db", db_url]
    result = CliRunner().invoke(cli, [*base, "status", "--check", "--format", "json"])
    assert result.exit_code == 1, result.output
    (entry,) = json.loads(result.stdout)
    assert entry["flags"] == [health.NEVER_RAN]
    result = CliRunner().invoke(cli, [*base, "status"])
    assert "ledger-en: never_ran:" in result.output, result.output


def _crawl(config: Path, db_url: str, *sources: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.pop("MARSAD_DB_URL", None)
    env.pop(runs.SCHEDULED_BY_ENV, None)
    return subprocess.run(
        [sys.executable, "-m", "crawler", "--config", str(config), "--db", db_url, "crawl",
         *sources, "--format", "json", "--no-progress", *FAST],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


@pytest.mark.slow
def test_manual_crawls_are_recorded_without_shifting_the_schedule(
    site: SampleSite, tmp_path: Path
) -> None:
    config = write_config(site, tmp_path / "c", {"ledger-en": "1h"})
    db_url = f"sqlite:///{tmp_path / 'm.db'}"
    for _ in range(2):
        done = _crawl(config, db_url, "ledger-en")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["ok"] is True
    rows = all_runs(db_url)
    assert [(r.trigger, r.outcome) for r in rows] == [(runs.MANUAL, runs.OK)] * 2
    assert rows[0].articles_stored > 0 and rows[0].finished_at is not None
    engine = db.make_engine(db_url)
    with Session(engine) as session:
        assert runs.last_started(session) == {}  # the schedule counts from scheduled runs only
        (h,) = health.assess(session, load_config(config).sources)
    assert h.last_success_at is not None and h.next_due is None
    assert not {health.NEVER_RAN, health.OVERDUE} & set(h.flags)  # the 2nd stored 0: zero_yield

    # a running row whose process is alive (this test's): the manual crawl refuses
    with Session(engine) as session, session.begin():
        busy = runs.start_run(session, "ledger-en", trigger="scheduled", scheduled_for=None,
                              scheduler="elsewhere:1:x", host=runs.HOST)  # fmt: skip
        busy.pid = os.getpid()
        busy_id = busy.id
    engine.dispose()
    done = _crawl(config, db_url, "ledger-en")
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "ledger-en" in done.stderr and f"run {busy_id}" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert len(all_runs(db_url)) == 3
