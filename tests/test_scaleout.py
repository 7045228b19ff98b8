"""Scale-out on the real services: `marsad schedule --broker` and `marsad worker`s (separate
processes, as on separate machines) on RabbitMQ and Redis, into PostgreSQL.

Each test has its own PostgreSQL schema (so its own source locks and scheduler lock) and its
own queue name, so tests never see each other's jobs. Nothing waits for time to pass: every
wait is for a row, a log line or a process (tests/waiting.py).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from crawler.cli import cli
from crawler.db import Article, CrawlRun
from crawler.schedule import broker, runs
from tests.own_postgres import OwnPostgres
from tests.test_scaleout_web import GeneratedWeb
from tests.test_startup import CRAWL_LIBRARIES
from tests.test_startup import marsad as startup_probe
from tests.waiting import wait_until

RABBIT_URL = os.environ.get("MARSAD_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("MARSAD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
FAST = [
    "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "RETRY_TIMES=0",
    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4", "-s", "MARSAD_EXTRACT_WORKERS=1",
]  # fmt: skip

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _require_services() -> bool:
    return os.environ.get("MARSAD_REQUIRE_SERVICES", "") not in ("", "0")


def _broker(url: str) -> str:
    try:
        broker.ping(url, timeout=3)
    except broker.BrokerUnreachable as exc:
        if _require_services():
            pytest.fail(f"the broker is required but unreachable: {exc}")
        pytest.skip(str(exc))
    return url


@pytest.fixture
def rabbit() -> str:
    return _broker(RABBIT_URL)


@pytest.fixture
def redis_broker() -> str:
    return _broker(REDIS_URL)


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue of this test's own, deleted afterwards."""
    name = f"marsad-test-{uuid.uuid4().hex[:10]}"
    yield name
    from kombu import Connection

    for url in (RABBIT_URL, REDIS_URL):
        try:
            with Connection(url, connect_timeout=3) as conn:
                conn.default_channel.queue_delete(name)
        except Exception:
            pass


@pytest.fixture
def pg_url(postgres_server: str) -> str:
    """A fresh schema in the session's PostgreSQL database."""
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    schema = f"s_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return f"{postgres_server}?options=-csearch_path%3D{schema}"


class Proc:
    """A `python -m crawler ...` process with its output in a file."""

    def __init__(self, log: Path, args: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.log = log
        self._fh = log.open("w")
        full_env = {
            k: v for k, v in os.environ.items() if k not in ("MARSAD_DB_URL", broker.BROKER_URL_ENV)
        }
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crawler", *args],
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            env=full_env,
        )
        self.pid = self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)

    def stop(self, timeout: float = 60) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(30)
        finally:
            self._fh.close()


class Cluster:
    """Schedulers and workers of one test; all killed at the end."""

    def __init__(self, tmp: Path, config: Path, db_url: str, broker_url: str, queue: str) -> None:
        self.tmp, self.config, self.db_url = tmp, config, db_url
        self.broker_url, self.queue = broker_url, queue
        self.procs: list[Proc] = []
        self.engine = create_engine(db_url)
        upgraded = subprocess.run(
            [sys.executable, "-m", "crawler", "--db", db_url, "db", "upgrade"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert upgraded.returncode == 0, upgraded.stderr

    def _start(self, name: str, args: Sequence[str], env: dict[str, str] | None = None) -> Proc:
        proc = Proc(self.tmp / f"{name}-{len(self.procs)}.log", args, env)
        self.procs.append(proc)
        return proc

    def scheduler(self, *extra: str) -> Proc:
        return self._start("scheduler", [
            "--config", str(self.config), "--db", self.db_url, "schedule",
            "--broker", self.broker_url, "--queue", self.queue, "--standby-poll", "0.5",
            "--no-digests", *FAST, *extra,
        ])  # fmt: skip

    def worker(self, *extra: str, broker_in_env: bool = False) -> Proc:
        broker_args = [] if broker_in_env else ["--broker", self.broker_url]
        env = {broker.BROKER_URL_ENV: self.broker_url} if broker_in_env else None
        return self._start("worker", [
            "--config", str(self.config), "--db", self.db_url, "worker", *broker_args,
            "--queues", self.queue, "--grace", "3s", *FAST, *extra,
        ], env)  # fmt: skip

    def output(self) -> str:
        return "\n----\n".join(f"[{p.log.name}]\n{p.output()[-2500:]}" for p in self.procs)

    def wait(self, what: str, check: object, timeout: float = 120,
             alive: Sequence[Proc] = ()) -> None:  # fmt: skip
        wait_until(
            what, check, timeout=timeout, alive=[p.proc for p in alive],  # type: ignore[arg-type]
            output=self.output, poll=0.2,
        )  # fmt: skip

    def runs(self, source: str | None = None) -> list[CrawlRun]:
        try:
            with Session(self.engine) as session:
                query = select(CrawlRun).order_by(CrawlRun.id)
                if source:
                    query = query.where(CrawlRun.source == source)
                rows = list(session.scalars(query))
                session.expunge_all()
                return rows
        except DBAPIError:
            return []  # the scheduler has not made the schema yet

    def stored(self, source: str) -> int:
        try:
            with Session(self.engine) as session:
                return int(
                    session.scalar(select(func.count(Article.id)).where(Article.source == source))
                    or 0
                )
        except DBAPIError:
            return 0

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc._fh.close()
        self.engine.dispose()


@pytest.fixture
def cluster_factory(tmp_path: Path, pg_url: str, queue: str) -> Iterator[object]:
    made: list[Cluster] = []

    def make(config: Path, broker_url: str) -> Cluster:
        cluster = Cluster(tmp_path, config, pg_url, broker_url, queue)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.close()


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return int(fh.read().rsplit(b")", 1)[-1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _outcomes(rows: Sequence[CrawlRun]) -> list[str]:
    return [r.outcome for r in rows]


def _assert_one_at_a_time(rows: Sequence[CrawlRun]) -> None:
    """No two crawls of a source overlapped (skipped duplicates crawled nothing)."""
    crawls = sorted(
        (r for r in rows if r.outcome != runs.SKIPPED_DUPLICATE), key=lambda r: r.started_at
    )
    for before, after in itertools.pairwise(crawls):
        assert before.finished_at is not None and before.finished_at <= after.started_at, (
            f"runs {before.id} and {after.id} of {before.source} overlapped"
        )


def _crash_a_worker(cluster: Cluster, web: GeneratedWeb, workers: Sequence[Proc],
                    source: str, at_least: int) -> tuple[CrawlRun, float]:  # fmt: skip
    """Kill -9 the worker crawling *source* once it stored *at_least* articles; the crawl dies
    with it and the run is recorded crashed within 30 s."""
    cluster.wait(
        f"{source} running with {at_least} articles stored",
        lambda: (
            any(r.outcome == runs.RUNNING for r in cluster.runs(source))
            and cluster.stored(source) >= at_least
        ),
        alive=workers,
    )
    running = next(r for r in cluster.runs(source) if r.outcome == runs.RUNNING)
    assert running.host == socket.gethostname() and running.pid
    crawl_pid = running.pid
    victim = next(w for w in workers if w.pid == _ppid(crawl_pid))
    victim.proc.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    victim.proc.wait(30)
    cluster.wait("the crawl process to die with its worker", lambda: not runs.pid_alive(crawl_pid),
                 timeout=15)  # fmt: skip
    cluster.wait(
        f"{source}'s run recorded crashed",
        lambda: (
            cluster.runs(source)[-1].outcome != runs.RUNNING
            or any(r.outcome == runs.CRASHED for r in cluster.runs(source))
        ),
        timeout=60,
    )
    crashed = next(r for r in cluster.runs(source) if r.id == running.id)
    assert crashed.outcome == runs.CRASHED, crashed.error_summary
    assert time.monotonic() - killed_at < 30, "a dead worker's run must be recorded within 30 s"
    assert crashed.error_summary and "died" in crashed.error_summary
    return crashed, killed_at


def _publish_twice(cluster: Cluster, web: GeneratedWeb, workers: Sequence[Proc]) -> None:
    """A job published twice on purpose, to two idle workers: one crawl, one
    skipped_duplicate, never two crawls of the source at once."""
    web.sitemap_delay[1] = 4.0  # the crawl that wins the lock is still running
    publisher = broker.Publisher(
        cluster.broker_url, cluster.queue, broker.DEFAULT_VISIBILITY_TIMEOUT
    )
    before = len(cluster.runs("web-1"))
    job = broker.Job("web-1", datetime.now(UTC), "scheduled", datetime.now(UTC))
    publisher.publish(job)
    publisher.publish(job)
    publisher.close()
    cluster.wait(
        "both copies of the job to be recorded",
        lambda: len([r for r in cluster.runs("web-1")[before:] if r.outcome != runs.RUNNING]) == 2,
        alive=workers,
    )
    copies = cluster.runs("web-1")[before:]
    assert sorted(_outcomes(copies)) == [runs.OK, runs.SKIPPED_DUPLICATE], [
        (r.outcome, r.error_summary) for r in copies
    ]
    _assert_one_at_a_time(cluster.runs("web-1"))
    assert cluster.stored("web-1") == web.articles
    web.sitemap_delay[1] = 0.0


# --------------------------------------------------------------------------- RabbitMQ


def test_scheduler_and_three_workers_on_rabbitmq(
    tmp_path: Path, rabbit: str, queue: str, cluster_factory: object
) -> None:
    with GeneratedWeb(sources=6, articles=100) as web:
        web.page_delay[0] = 0.3  # web-0 is slow enough to be caught in the middle
        config = web.write_config(tmp_path / "config")
        cluster: Cluster = cluster_factory(config, rabbit)  # type: ignore[operator]
        metrics_ports = [_free_port() for _ in range(3)]
        workers = [
            cluster.worker("--metrics-port", str(metrics_ports[0])),
            cluster.worker("--metrics-port", str(metrics_ports[1]), broker_in_env=True),
            cluster.worker("--metrics-port", str(metrics_ports[2])),
        ]
        leader = cluster.scheduler()
        cluster.wait("the scheduler to lead", lambda: "leader:" in leader.output(), alive=[leader])
        for w in workers:
            cluster.wait("the workers to be ready", lambda w=w: "ready: taking jobs" in w.output(),  # type: ignore[misc]
                         alive=[w])  # fmt: skip

        # `marsad workers` lists them, one of them on web-0's job
        cluster.wait(
            "web-0 to run", lambda: any(r.outcome == runs.RUNNING for r in cluster.runs("web-0"))
        )
        listed = subprocess.run(
            [sys.executable, "-m", "crawler", "workers", "--broker", rabbit, "--format", "json"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        live = {item["worker"]: item for item in json.loads(listed.stdout)}
        ours = {f"marsad-{w.pid}@{socket.gethostname()}" for w in workers}
        assert ours <= set(live), (ours, list(live))
        jobs = [job for name in ours for job in live[name]["jobs"]]
        assert any(job["source"] == "web-0" for job in jobs), jobs

        crashed, _ = _crash_a_worker(cluster, web, workers, "web-0", at_least=15)
        web.page_delay[0] = 0.0
        alive = [w for w in workers if w.proc.poll() is None]
        assert len(alive) == 2

        cluster.wait(
            "every source crawled ok",
            lambda: all(
                any(r.outcome == runs.OK for r in cluster.runs(web.key(i))) for i in range(6)
            ),
            timeout=150,
            alive=[leader, *alive],
        )
        rerun = next(r for r in cluster.runs("web-0") if r.outcome == runs.OK)
        assert rerun.id > crashed.id and rerun.pid != crashed.pid
        assert rerun.scheduler != crashed.scheduler, "another worker finished the job"
        assert rerun.pages_fetched < web.articles, "the re-run fetches only what is missing"
        for i in range(6):
            assert cluster.stored(web.key(i)) == web.articles, web.key(i)
        with Session(cluster.engine) as session:
            urls = session.execute(
                select(func.count(Article.url), func.count(Article.url.distinct()))
            ).one()
        assert tuple(urls) == (600, 600), "every article stored exactly once"

        _publish_twice(cluster, web, alive)

        # `marsad runs --format json` knows the machines
        base = ["--config", str(config), "--db", cluster.db_url]
        shown = CliRunner().invoke(cli, [*base, "runs", "--format", "json", "--limit", "50"])
        assert shown.exit_code == 0, shown.output
        rows = json.loads(shown.stdout)
        assert all(row["host"] == socket.gethostname() and row["pid"] for row in rows), rows
        status = CliRunner().invoke(cli, [*base, "status", "--format", "json"])
        assert status.exit_code == 0, status.output
        assert all(
            h["last_host"] == socket.gethostname() and h["last_pid"]
            for h in json.loads(status.stdout)
        ), status.stdout
        table = CliRunner().invoke(cli, [*base, "runs", "--limit", "3"], env={"COLUMNS": "250"})
        assert "host" in table.stdout and socket.gethostname()[:8] in table.stdout

        # the live workers' Prometheus endpoints count their runs
        scraped = ""
        for w, port in zip(workers, metrics_ports, strict=True):
            if w.proc.poll() is None:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                    scraped += r.read().decode()
        assert re.search(r'marsad_worker_runs_total\{outcome="ok",source="web-\d"\} 1\.0', scraped)
        assert "marsad_worker_queue_latency_seconds_bucket" in scraped
        assert re.search(r"marsad_worker_running_crawls 0\.0", scraped), scraped
        for w in alive:
            assert "guest:guest@" not in w.output()
        leader.stop()
        for w in alive:
            assert w.stop() == 0, w.output()[-2000:]


def test_standby_takes_over_and_enqueues_within_5_seconds(
    tmp_path: Path, rabbit: str, queue: str, cluster_factory: object
) -> None:
    with GeneratedWeb(sources=1, articles=2) as web:
        config = web.write_config(tmp_path / "config", interval="2s")
        cluster: Cluster = cluster_factory(config, rabbit)  # type: ignore[operator]
        first = cluster.scheduler()
        cluster.wait(
            "the first scheduler to lead", lambda: "leader:" in first.output(), alive=[first]
        )
        second = cluster.scheduler()
        cluster.wait("the second to stand by", lambda: "standby" in second.output(), alive=[second])
        cluster.wait(
            "the leader to enqueue", lambda: "enqueued job" in first.output(), alive=[first]
        )
        first.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        first.proc.wait(30)
        cluster.wait("the standby to enqueue", lambda: "enqueued job" in second.output(),
                     timeout=30, alive=[second])  # fmt: skip
        assert time.monotonic() - killed < 5 + 0.5, second.output()[-2000:]  # 0.2 s polling
        assert "leader:" in second.output()
        second.stop()


def test_a_stopped_worker_hands_its_job_back(
    tmp_path: Path, rabbit: str, queue: str, cluster_factory: object
) -> None:
    """SIGTERM: the worker stops its crawl (interrupted), puts the job back on the queue, exits
    0; another worker finishes the source."""
    with GeneratedWeb(sources=1, articles=40) as web:
        web.page_delay[0] = 1.0
        config = web.write_config(tmp_path / "config")
        cluster: Cluster = cluster_factory(config, rabbit)  # type: ignore[operator]
        workers = [cluster.worker(), cluster.worker()]
        for w in workers:
            cluster.wait("the workers to be ready", lambda w=w: "ready: taking jobs" in w.output(),  # type: ignore[misc]
                         alive=[w])  # fmt: skip
        publisher = broker.Publisher(rabbit, queue, broker.DEFAULT_VISIBILITY_TIMEOUT)
        now = datetime.now(UTC)
        publisher.publish(broker.Job("web-0", now, "scheduled", now))
        publisher.close()
        cluster.wait("a few articles stored", lambda: cluster.stored("web-0") >= 3, alive=workers)
        (running,) = cluster.runs("web-0")
        assert running.pid
        holder = next(w for w in workers if w.pid == _ppid(running.pid))
        other = next(w for w in workers if w is not holder)
        assert holder.stop() == 0, holder.output()[-2000:]
        stopped = cluster.runs("web-0")[0]
        assert stopped.outcome == runs.INTERRUPTED, stopped.error_summary
        assert "goes back to the queue" in holder.output()
        web.page_delay[0] = 0.0
        cluster.wait(
            "the other worker to finish the source",
            lambda: any(r.outcome == runs.OK for r in cluster.runs("web-0")),
            alive=[other],
        )
        assert cluster.stored("web-0") == web.articles
        _assert_one_at_a_time(cluster.runs("web-0"))
        assert other.stop() == 0


# --------------------------------------------------------------------------- Redis


def test_workers_on_redis_with_a_short_visibility_timeout(
    tmp_path: Path, redis_broker: str, queue: str, cluster_factory: object
) -> None:
    with GeneratedWeb(sources=2, articles=30) as web:
        web.page_delay[0] = 0.8
        config = web.write_config(tmp_path / "config")
        cluster: Cluster = cluster_factory(config, redis_broker)  # type: ignore[operator]
        limits = ["--visibility-timeout", "25s", "--crawl-timeout", "20s"]
        workers = [cluster.worker(*limits), cluster.worker(*limits)]
        leader = cluster.scheduler("--visibility-timeout", "25s")
        crashed, _ = _crash_a_worker(cluster, web, workers, "web-0", at_least=4)
        web.page_delay[0] = 0.0  # the re-run is quick, well inside its limit on a busy machine
        alive = [w for w in workers if w.proc.poll() is None]
        alive.append(cluster.worker(*limits))  # the dead machine's replacement
        cluster.wait(
            "web-0 to be crawled again and every source ok",
            lambda: all(
                any(r.outcome == runs.OK and r.id > crashed.id for r in cluster.runs(web.key(i)))
                or (i and any(r.outcome == runs.OK for r in cluster.runs(web.key(i))))
                for i in range(2)
            ),
            timeout=120,
            alive=[leader, *alive],
        )
        for i in range(2):
            assert cluster.stored(web.key(i)) == web.articles
            _assert_one_at_a_time(cluster.runs(web.key(i)))
        # the dead worker's job came back after the visibility timeout, to another worker
        assert any("web-0: job" in w.output() and "was redelivered" in w.output() for w in alive)
        for w in alive:
            cluster.wait("the workers to be ready", lambda w=w: "ready: taking jobs" in w.output(),  # type: ignore[misc]
                         alive=[w])  # fmt: skip
        _publish_twice(cluster, web, alive)
        leader.stop()
        for w in alive:
            w.stop()


def test_a_crawl_limit_the_broker_would_cut_is_refused_at_start(
    tmp_path: Path, pg_url: str
) -> None:
    with GeneratedWeb(sources=1, articles=1) as web:
        config = web.write_config(tmp_path / "config")

        def worker(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "crawler", "--config", str(config), "--db", pg_url,
                 "worker", *args],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip

        redis = worker("--broker", "redis://:sekret@127.0.0.1:6379/0", "--visibility-timeout",
                       "10s", "--crawl-timeout", "20s")  # fmt: skip
        assert redis.returncode == 2, redis.stderr
        assert "visibility_timeout" in redis.stderr and "--crawl-timeout 20s" in redis.stderr
        assert "sekret" not in redis.stderr + redis.stdout and "Traceback" not in redis.stderr
        amqp = worker("--broker", "amqp://guest:sekret@127.0.0.1:5672//", "--crawl-timeout", "40m")
        assert amqp.returncode == 2 and "consumer_timeout" in amqp.stderr, amqp.stderr
        assert "sekret" not in amqp.stderr
        sqlite = subprocess.run(
            [sys.executable, "-m", "crawler", "--config", str(config), "--db",
             f"sqlite:///{tmp_path / 'x.db'}", "worker", "--broker", RABBIT_URL],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert sqlite.returncode == 2 and "needs a PostgreSQL database" in sqlite.stderr
        sqlite = subprocess.run(
            [sys.executable, "-m", "crawler", "--config", str(config), "--db",
             f"sqlite:///{tmp_path / 'x.db'}", "schedule", "--broker", RABBIT_URL],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert sqlite.returncode == 2 and "needs a PostgreSQL database" in sqlite.stderr
        assert not (tmp_path / "x.db").exists()
        none = subprocess.run(
            [sys.executable, "-m", "crawler", "--config", str(config), "--db", pg_url, "worker"],
            capture_output=True, text=True, timeout=60,
            env={k: v for k, v in os.environ.items() if k != broker.BROKER_URL_ENV},
        )  # fmt: skip
        assert none.returncode == 2 and "needs a broker" in none.stderr


# --------------------------------------------------------------------------- outages


def test_an_unreachable_broker_is_said_and_retried(tmp_path: Path, pg_url: str) -> None:
    port = _free_port()  # nothing listens there
    url = f"amqp://guest:sekret@127.0.0.1:{port}//"
    listed = subprocess.run(
        [sys.executable, "-m", "crawler", "workers", "--broker", url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert listed.returncode == 1, listed.stderr
    assert "unreachable" in listed.stderr and f"127.0.0.1:{port}" in listed.stderr
    assert "sekret" not in listed.stderr and "Traceback" not in listed.stderr
    probed = startup_probe("workers", "--broker", url)  # a command that does not crawl
    assert probed.returncode == 1 and probed.loaded(CRAWL_LIBRARIES) == [], probed.stderr

    with GeneratedWeb(sources=1, articles=1) as web:
        config = web.write_config(tmp_path / "config")
        cluster = Cluster(tmp_path, config, pg_url, url, "marsad-test-unreachable")
        try:
            worker = cluster.worker()
            scheduler = cluster.scheduler()
            cluster.wait(
                "the worker to retry the broker",
                lambda: "Trying again in" in worker.output(),
                alive=[worker],
            )
            cluster.wait(
                "the scheduler to keep the job and retry",
                lambda: (
                    "could not enqueue" in scheduler.output()
                    and "job(s) waiting, next try in" in scheduler.output()
                ),
                alive=[scheduler],
            )
            out = worker.output() + scheduler.output()
            assert "sekret" not in out and "Traceback" not in out
            assert worker.stop() is not None and scheduler.stop() == 0
        finally:
            cluster.close()


# --------------------------------------------------------------------------- the source lock


def test_a_source_lock_is_exclusive_and_seen_by_the_reaper(pg_url: str) -> None:
    from crawler import db
    from crawler.schedule import sourcelock

    engine = db.make_engine(pg_url)
    with Session(engine) as session:
        schema = sourcelock.current_schema(session)
    keys = {s: sourcelock.lock_key(schema, s) for s in [f"s{i}" for i in range(16)]}
    assert any(k < 0 for k in keys.values()) and any(k > 0 for k in keys.values())
    try:
        for source in keys:  # negative and positive keys alike
            first = sourcelock.SourceLock(pg_url, source)
            second = sourcelock.SourceLock(pg_url, source)
            assert first.try_acquire() and first.key is not None
            # a vanished machine's session (and lock) is dropped by the server within ~25 s
            shown = first._conn.execute(text("SHOW tcp_keepalives_idle")).scalar()
            assert shown in ("10", "10s"), shown
            with Session(engine) as session:
                assert sourcelock.is_held(session, first.key)
                assert not sourcelock.is_held(session, first.key ^ 1)
            assert not second.try_acquire(), "a second holder of one source's lock"
            first.release()
            with Session(engine) as session:
                assert not sourcelock.is_held(session, first.key)
            assert second.try_acquire()
            second.release()

        # a worker's running row: kept while its lock is held, crashed once it is free
        holder = sourcelock.SourceLock(pg_url, "a")
        assert holder.try_acquire()
        with Session(engine) as session, session.begin():
            run = runs.start_run(session, "a", trigger="scheduled", scheduled_for=None,
                                 scheduler=sourcelock.WORKER_PREFIX + "h:1", host="h")  # fmt: skip
            run.pid = 1
            run_id = run.id
        assert sourcelock.reap_dead_runs(engine, by="test") == []
        holder.release()
        assert sourcelock.reap_dead_runs(engine, by="test") == [run_id]
        with Session(engine) as session:
            reaped = session.get(CrawlRun, run_id)
            assert reaped is not None and reaped.outcome == runs.CRASHED
            assert "died" in (reaped.error_summary or "")
    finally:
        engine.dispose()


def test_the_broker_going_away_during_a_run(tmp_path: Path, pg_url: str) -> None:
    """A Redis broker of this test's own, stopped while a crawl runs and started again: the
    crawl finishes and is recorded, the worker reconnects and takes the next job, and the
    scheduler keeps the runs it could not enqueue and sends them when the broker is back."""
    server = shutil.which("redis-server")
    if server is None:
        if _require_services():
            pytest.fail("redis-server is not installed")
        pytest.skip("redis-server is not installed")
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"

    def start_redis() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def answers() -> bool:
            try:
                broker.ping(url, timeout=1)
            except broker.BrokerUnreachable:
                return False
            return True

        wait_until("our redis-server to answer", answers, timeout=60, alive=[proc])  # type: ignore[list-item]
        return proc

    redis = start_redis()
    try:
        with GeneratedWeb(sources=2, articles=30) as web:
            web.page_delay[0] = 0.5
            config = web.write_config(tmp_path / "config")
            sources = tomllib.loads((config / "sources.toml").read_text("utf-8"))
            sources["sources"]["web-1"]["interval"] = "5s"
            (config / "sources.toml").write_text(tomli_w.dumps(sources), "utf-8")
            cluster = Cluster(tmp_path, config, pg_url, url, "marsad-test-outage")
            try:
                worker = cluster.worker("--concurrency", "2")
                scheduler = cluster.scheduler()
                cluster.wait(
                    "web-0 running with articles stored",
                    lambda: (
                        any(r.outcome == runs.RUNNING for r in cluster.runs("web-0"))
                        and cluster.stored("web-0") >= 2
                    ),
                    alive=[worker, scheduler],
                )
                redis.terminate()
                redis.wait(30)
                cluster.wait(
                    "the scheduler to keep a run it could not enqueue",
                    lambda: "could not enqueue" in scheduler.output(),
                    alive=[worker, scheduler],
                )
                cluster.wait(
                    "web-0's crawl to end and be recorded while the broker is away",
                    lambda: any(r.outcome == runs.OK for r in cluster.runs("web-0")),
                    alive=[worker, scheduler],
                )
                assert cluster.stored("web-0") == web.articles
                restarted = time.monotonic()
                redis = start_redis()
                cluster.wait(
                    "the scheduler to send what waited",
                    lambda: "broker reachable again" in scheduler.output(),
                    alive=[worker, scheduler],
                )
                with Session(cluster.engine) as session:
                    before = int(session.scalar(select(func.max(CrawlRun.id))) or 0)
                cluster.wait(
                    "the worker to take a job again",
                    lambda: any(
                        r.id > before and r.outcome != runs.RUNNING for r in cluster.runs("web-1")
                    ),
                    timeout=120,
                    alive=[worker, scheduler],
                )
                assert time.monotonic() - restarted < 120
                assert scheduler.stop() == 0 and worker.stop() == 0
                out = worker.output() + scheduler.output()
                assert "Traceback" not in out and "DeprecationWarning" not in out, out[-3000:]
            finally:
                cluster.close()
    finally:
        redis.terminate()
        redis.wait(30)


def test_the_database_going_away_during_a_run(
    tmp_path: Path, rabbit: str, queue: str, own_postgres: OwnPostgres
) -> None:
    """A database of this test's own, stopped while a worker crawls: the worker stops the crawl
    (its source lock went with the session) or, if the crawl ended first, keeps its end; it
    writes the run once the database is back, and the source ends up crawled in full."""
    db_url = own_postgres.create_database("marsad")
    with GeneratedWeb(sources=1, articles=100) as web:
        web.page_delay[0] = 1.0
        config = web.write_config(tmp_path / "config")
        cluster = Cluster(tmp_path, config, db_url, rabbit, queue)
        try:
            worker = cluster.worker()
            cluster.wait(
                "the worker", lambda: "ready: taking jobs" in worker.output(), alive=[worker]
            )
            publisher = broker.Publisher(rabbit, queue, broker.DEFAULT_VISIBILITY_TIMEOUT)
            now = datetime.now(UTC)
            publisher.publish(broker.Job("web-0", now, "scheduled", now))
            publisher.close()
            cluster.wait("articles stored", lambda: cluster.stored("web-0") >= 2, alive=[worker])
            own_postgres.stop()
            cluster.wait(
                "the worker to meet the outage",
                lambda: (
                    "source lock's database connection was lost" in worker.output()
                    or "the database is unreachable, retrying" in worker.output()
                ),
                alive=[worker],
            )
            web.page_delay[0] = 0.0
            own_postgres.start()
            cluster.engine.dispose()
            cluster.wait(
                "the source crawled to the end after the outage",
                lambda: (
                    cluster.stored("web-0") == web.articles
                    and any(r.outcome == runs.OK for r in cluster.runs("web-0"))
                    and all(r.outcome != runs.RUNNING for r in cluster.runs("web-0"))
                ),
                timeout=180,
                alive=[worker],
            )
            outcomes = _outcomes(cluster.runs("web-0"))
            if "source lock's database connection was lost" in worker.output():
                assert outcomes[0] == runs.INTERRUPTED, outcomes
                assert "goes back to the queue" in worker.output()
            assert "Traceback" not in worker.output()
            assert worker.stop() == 0
        finally:
            cluster.close()
