"""The daemon rides out a PostgreSQL outage: a server of the test's own is stopped under it.

The server is started with initdb/pg_ctl on a free loopback port (never the shared one on
5432), as the ``postgres`` user when we are root (initdb refuses root). Its data folder is made
with mkdtemp under the system temp folder, which that user can reach (pytest's tmp_path is
private to us). Every wait is on a condition (a log line, a row) with a generous deadline.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crawler.sample_site import SampleSite
from crawler.schedule import runs
from tests.test_scheduler import Daemon, all_runs, wait_for, write_config

pytestmark = pytest.mark.slow


def _require_services() -> bool:
    return os.environ.get("MARSAD_REQUIRE_SERVICES", "") not in ("", "0")


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnPostgres:
    """A throw-away PostgreSQL server: initdb, then pg_ctl start/stop on a loopback port."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="marsad-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root and runuser is missing: cannot run initdb")
            shutil.chown(self.root, "postgres")
            self.as_user = [runuser, "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        command = [*self.as_user, str(self.bindir / tool), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=180)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout}\n{done.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "-t", "120",
                  "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "120", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def cleanup(self) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    bindir = _pg_bin()
    if bindir is None:
        message = "initdb is not installed (looked in /usr/lib/postgresql/*/bin and PATH)"
        if _require_services():
            pytest.fail(message)
        pytest.skip(message)
    server = OwnPostgres(bindir)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def test_daemon_rides_out_a_database_outage(
    own_postgres: OwnPostgres, site: SampleSite, tmp_path: Path
) -> None:
    db_url = own_postgres.create_database("marsad")
    config = write_config(site, tmp_path / "config", {"ledger-en": "3s"})
    with Daemon(config, db_url, tmp_path / "daemon.log", "--no-digests") as daemon:
        wait_for(
            "a first finished run",
            lambda: any(r.outcome == runs.OK for r in all_runs(db_url)),
            timeout=300,
            daemons=[daemon],
        )
        wait_for(  # no crawl in flight when the server goes: its run's fate is its own
            "an idle moment between runs",
            lambda: all(r.outcome != runs.RUNNING for r in all_runs(db_url)),
            timeout=300,
            daemons=[daemon],
        )
        own_postgres.stop()
        wait_for(
            "the outage to be logged",
            lambda: "database unreachable:" in daemon.output(),
            timeout=120,
            daemons=[daemon],
        )
        wait_for(  # due runs meet the outage (the interval is 3 s)
            "two runs that could not start",
            lambda: daemon.output().count("could not start") >= 2,
            timeout=120,
            daemons=[daemon],
        )
        own_postgres.start()
        wait_for(
            "the recovery to be logged",
            lambda: "database reachable again" in daemon.output(),
            timeout=300,
            daemons=[daemon],
        )
        wait_for(
            "the missed run recorded, then a run after the outage",
            lambda: _missed_then_ok(db_url),
            timeout=300,
            daemons=[daemon],
        )
        assert daemon.proc.poll() is None, daemon.output()
        assert daemon.terminate() == 0, daemon.output()
    log = daemon.output()
    assert log.count("crawler.schedule.outage: database unreachable: postgresql") == 1, log
    assert log.count("database reachable again") == 1, log
    assert log.count("health: database is unreachable") == 1, log
    assert "Traceback" not in log, log
    rows = all_runs(db_url)
    missed = [r for r in rows if r.outcome == runs.MISSED]
    assert missed and all("database unreachable" in (r.error_summary or "") for r in missed)
    assert all(r.scheduled_for is not None for r in missed)
    # every due run is accounted for: none left running, every other one ran
    assert all(r.outcome != runs.RUNNING for r in rows), [runs.run_to_dict(r) for r in rows]
    assert log.count("could not start") == len(missed), log


def _missed_then_ok(db_url: str) -> bool:
    rows = all_runs(db_url)
    missed = [r.started_at for r in rows if r.outcome == runs.MISSED]
    return bool(missed) and any(r.outcome == runs.OK and r.started_at > max(missed) for r in rows)
