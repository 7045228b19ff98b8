"""The daemon rides out a PostgreSQL outage: a server of the test's own is stopped under it.

The server is started with initdb/pg_ctl on a free loopback port (never the shared one on
5432), as the ``postgres`` user when we are root (initdb refuses root). Its data folder is made
with mkdtemp under the system temp folder, which that user can reach (pytest's tmp_path is
private to us). Every wait is on a condition (a log line, a row) with a generous deadline.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.sample_site import SampleSite
from crawler.schedule import runs
from tests.own_postgres import OwnPostgres
from tests.test_scheduler import Daemon, all_runs, wait_for, write_config

pytestmark = pytest.mark.slow


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
