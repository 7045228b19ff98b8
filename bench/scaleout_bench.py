"""Scale-out throughput: the same loopback web crawled by 1 worker, then by 2 workers, each
worker (and so its crawls and their extraction processes) pinned to its own core.

For each round: a fresh PostgreSQL database, every source enqueued at once on a queue of its
own (RabbitMQ by default), workers with --concurrency 1 started and pinned with
``os.sched_setaffinity``; the round ends when every source has an ``ok`` run. Prints pages/s
for both rounds, their ratio (target >= 1.8 with two free cores), and the queue latency (due
-> started, from crawl_runs) p50/p95.

    .venv/bin/python bench/scaleout_bench.py [--sources 6] [--articles 100]
        [--broker amqp://guest:guest@127.0.0.1:5672//] [--pg postgresql+psycopg://...]

Needs two cores (it says so and stops otherwise) and a quiet machine for figures that mean
anything.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.db import CrawlRun, as_utc  # noqa: E402
from crawler.schedule import broker, runs  # noqa: E402
from tests.test_scaleout_web import GeneratedWeb  # noqa: E402

SETTINGS = [
    "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "RETRY_TIMES=0",
    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "-s", "MARSAD_EXTRACT_WORKERS=1",
]  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def fresh_database(admin_url: str) -> tuple[str, str]:
    name = f"marsad_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name, name


def drop_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def one_round(
    workers: int, web: GeneratedWeb, config: Path, admin_url: str, broker_url: str, logs: Path
) -> dict[str, float]:
    db_url, name = fresh_database(admin_url)
    queue = f"marsad-bench-{uuid.uuid4().hex[:8]}"
    procs: list[subprocess.Popen[bytes]] = []
    engine = create_engine(db_url)
    try:
        subprocess.run(
            [sys.executable, "-m", "crawler", "--db", db_url, "db", "upgrade"], check=True
        )
        for core in range(workers):
            log = (logs / f"worker-{workers}-{core}.log").open("wb")
            proc = subprocess.Popen(
                [sys.executable, "-m", "crawler", "--config", str(config), "--db", db_url,
                 "worker", "--broker", broker_url, "--queues", queue, "--concurrency", "1",
                 *SETTINGS],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            os.sched_setaffinity(proc.pid, {core})  # its crawls inherit it
            procs.append(proc)
        deadline = time.monotonic() + 120
        while not all(
            "ready: taking jobs" in p.read_text() for p in logs.glob(f"worker-{workers}-*.log")
        ):
            if time.monotonic() > deadline:
                raise SystemExit("the workers did not start; see " + str(logs))
            time.sleep(0.2)
        publisher = broker.Publisher(broker_url, queue, broker.DEFAULT_VISIBILITY_TIMEOUT)
        due = datetime.now(UTC)
        for i in range(web.count):
            publisher.publish(broker.Job(web.key(i), due, "scheduled", due))
        publisher.close()
        while True:
            with Session(engine) as session:
                rows = list(session.scalars(select(CrawlRun)))
            done = [r for r in rows if r.outcome != runs.RUNNING]
            if len(done) >= web.count:
                break
            time.sleep(0.5)
        bad = [r for r in done if r.outcome != runs.OK]
        if bad:
            raise SystemExit(f"runs did not end ok: {[(r.source, r.outcome) for r in bad]}")
        pages = sum(r.pages_fetched for r in done)
        end = max(as_utc(r.finished_at) for r in done if r.finished_at)
        seconds = (end - due).total_seconds()
        latency = [(as_utc(r.started_at) - due).total_seconds() for r in done]
        return {
            "workers": workers,
            "pages": pages,
            "seconds": round(seconds, 2),
            "pages_per_s": round(pages / seconds, 2),
            "latency_p50_s": round(percentile(latency, 0.5), 2),
            "latency_p95_s": round(percentile(latency, 0.95), 2),
            "latency_mean_s": round(statistics.fmean(latency), 2),
        }
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        engine.dispose()
        drop_database(admin_url, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=6)
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument(
        "--pg", default=os.environ.get(
            "MARSAD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )  # fmt: skip
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        print("needs two cores: each worker gets one", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp, GeneratedWeb(args.sources, args.articles) as web:
        config = web.write_config(Path(tmp) / "config")
        logs = Path(tmp)
        one = one_round(1, web, config, args.pg, args.broker, logs)
        two = one_round(2, web, config, args.pg, args.broker, logs)
    ratio = two["pages_per_s"] / one["pages_per_s"]
    load = os.getloadavg()
    report = {
        "one_worker": one,
        "two_workers": two,
        "ratio": round(ratio, 2),
        "target": 1.8,
        "loadavg_at_end": [round(x, 2) for x in load],
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
