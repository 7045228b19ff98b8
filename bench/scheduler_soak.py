"""Soak the scheduler: many short scheduled crawls of the loopback sample site.

Starts the real ``marsad schedule`` daemon in a subprocess, lets it run ``--runs`` crawls
(after the first crawl of each outlet the site holds nothing new, so each run is short),
then stops it with SIGTERM and prints:

* the daemon's resident memory after its first runs and at the end (it should stay flat),
* the scheduling delay, due time to crawl start: median / p95 / max,
* outcomes, and the exit code of the stopped daemon.

    python bench/scheduler_soak.py --runs 200 --sources 3 --interval 5s --max-parallel 3
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from pathlib import Path

import tomli_w
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from crawler.db import CrawlRun, as_utc
from crawler.sample_site import serve_sample_site

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def finished_runs(engine) -> int:  # type: ignore[no-untyped-def]
    try:
        with Session(engine) as session:
            query = select(func.count(CrawlRun.id)).where(CrawlRun.outcome != "running")
            return int(session.scalar(query) or 0)
    except DBAPIError:
        return 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--sources", type=int, default=3, help="sample outlets to schedule (1-4)")
    parser.add_argument("--interval", default="5s")
    parser.add_argument("--max-parallel", type=int, default=3)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    with serve_sample_site() as site, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        site.write_config(config, topics_from=REPO_CONFIG)
        data = tomllib.loads((config / "sources.toml").read_text(encoding="utf-8"))
        keys = sorted(data["sources"])[: args.sources]
        table = {k: {**data["sources"][k], "interval": args.interval} for k in keys}
        (config / "sources.toml").write_text(tomli_w.dumps({"sources": table}), "utf-8")
        db_url = args.db or f"sqlite:///{Path(tmp) / 'soak.db'}"
        log = (Path(tmp) / "daemon.log").open("w")
        env = {k: v for k, v in os.environ.items() if k != "MARSAD_DB_URL"}
        command = [
            sys.executable, "-m", "crawler", "--config", str(config), "--db", db_url,
            "schedule", "--max-parallel", str(args.max_parallel), "--crawl-timeout", "120",
            "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
        ]  # fmt: skip
        clock = time.monotonic()
        daemon = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        engine = create_engine(db_url)
        samples: list[tuple[int, int]] = []  # (finished runs, RSS KiB)
        try:
            next_sample = 0
            while (done := finished_runs(engine)) < args.runs:
                if daemon.poll() is not None:
                    raise SystemExit(f"daemon exited with {daemon.returncode}; see {log.name}")
                if done >= next_sample and done >= len(keys):
                    samples.append((done, rss_kib(daemon.pid)))
                    next_sample = done + max(1, args.runs // 8)
                time.sleep(0.5)
            samples.append((done, rss_kib(daemon.pid)))
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(120)
            log.close()
        elapsed = time.monotonic() - clock
        with Session(engine) as session:
            rows = list(session.scalars(select(CrawlRun)))
        engine.dispose()

    delays = [
        (as_utc(r.started_at) - as_utc(r.scheduled_for)).total_seconds()
        for r in rows
        if r.scheduled_for is not None and r.trigger == "scheduled"
    ]
    outcomes = Counter(r.outcome for r in rows)
    print(f"sources {len(keys)} every {args.interval}, max-parallel {args.max_parallel}")
    print(f"runs recorded {len(rows)} in {elapsed:.0f}s; outcomes {dict(outcomes)}")
    print(f"daemon exit code after SIGTERM: {code}")
    first, last = samples[0], samples[-1]
    print(
        f"daemon RSS: {first[1] / 1024:.1f} MiB after {first[0]} runs, "
        f"{last[1] / 1024:.1f} MiB after {last[0]} runs "
        f"({(last[1] - first[1]) / 1024:+.1f} MiB); "
        f"max {max(s[1] for s in samples) / 1024:.1f} MiB"
    )
    print("RSS samples (runs: MiB): " + ", ".join(f"{n}: {k / 1024:.1f}" for n, k in samples))
    if delays:
        print(
            f"scheduling delay (due -> start) over {len(delays)} scheduled runs: "
            f"median {statistics.median(delays):.3f}s, p95 {percentile(delays, 0.95):.3f}s, "
            f"max {max(delays):.3f}s"
        )
    return 0 if code == 0 and outcomes.get("ok", 0) >= args.runs * 0.95 else 1


if __name__ == "__main__":
    raise SystemExit(main())
