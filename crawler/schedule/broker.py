"""The message broker between the scheduler (producer) and the workers: Celery over RabbitMQ or
Redis.

One job is one source run: the task ``marsad.crawl_source`` with the source key, the time it
was due and its trigger. Jobs are acknowledged late (after the run is recorded), a job whose
worker died goes back to the queue (``task_reject_on_worker_lost``; RabbitMQ redelivers when
the worker's connection closes), and each worker slot takes one job at a time (prefetch 1).

The redelivery traps this module guards against, at start:

* RabbitMQ cancels a consumer whose job stays unacknowledged longer than its node-wide
  ``consumer_timeout`` (30 min by default), and redelivers the job;
* Redis re-queues an unacknowledged job after ``visibility_timeout``, a client-side transport
  option: every worker and the scheduler must use the same value.

A crawl's time limit (plus its grace to stop) must end before either, or a second copy of a
live run would start (it would find the source locked, ``crawler/schedule/sourcelock.py``, and
be recorded ``skipped_duplicate``, but the first run's acknowledgement would be lost).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from crawler.db import hide_password

if TYPE_CHECKING:
    from celery import Celery

logger = logging.getLogger(__name__)

BROKER_URL_ENV = "MARSAD_BROKER_URL"
TASK_NAME = "marsad.crawl_source"
DEFAULT_QUEUE = "marsad.crawl"
#: RabbitMQ's default consumer_timeout (rabbitmq.conf ``consumer_timeout``)
DEFAULT_CONSUMER_TIMEOUT = timedelta(minutes=30)
#: Celery's default Redis visibility_timeout
DEFAULT_VISIBILITY_TIMEOUT = timedelta(hours=1)
#: a crawl's default time limit when a broker runs it: well inside the default consumer_timeout
DEFAULT_WORKER_CRAWL_TIMEOUT = timedelta(minutes=25)
AMQP = "amqp"
REDIS = "redis"
_KINDS = {"amqp": AMQP, "amqps": AMQP, "pyamqp": AMQP, "redis": REDIS, "rediss": REDIS}
URL_EXAMPLES = "amqp://USER:PASSWORD@HOST:5672// (RabbitMQ) or redis://HOST:6379/0 (Redis)"


class BrokerError(Exception):
    """A broker setting the workers or the scheduler cannot run with (a usage error)."""


class BrokerUnreachable(Exception):
    """The broker did not answer; ``str()`` names it (password hidden) and the error."""


def resolve_broker_url(explicit: str | None) -> str | None:
    """``--broker``, else ``MARSAD_BROKER_URL``, else None (no broker)."""
    return explicit or os.environ.get(BROKER_URL_ENV) or None


def safe_broker_url(url: str) -> str:
    """*url* with its password hidden, for every message and log line."""
    return hide_password(url)


def broker_kind(url: str) -> str:
    """``amqp`` or ``redis``; any other URL is a :class:`BrokerError` naming the fix."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in _KINDS:
        raise BrokerError(
            f"broker URL {safe_broker_url(url)!r}: unsupported scheme {scheme or '(none)'!r}; "
            f"write {URL_EXAMPLES}"
        )
    return _KINDS[scheme]


def redelivery_timeout(
    kind: str, consumer_timeout: timedelta, visibility_timeout: timedelta
) -> tuple[timedelta, str]:
    """After how long the broker hands an unacknowledged job to another worker, and why."""
    if kind == REDIS:
        return visibility_timeout, "the Redis visibility_timeout (--visibility-timeout)"
    return consumer_timeout, "RabbitMQ's consumer_timeout (--broker-consumer-timeout)"


def check_crawl_limit(
    kind: str,
    crawl_timeouts: dict[str, timedelta],
    grace: timedelta,
    consumer_timeout: timedelta,
    visibility_timeout: timedelta,
) -> None:
    """Refuse a crawl limit that would let the broker hand a live run to a second worker.

    *crawl_timeouts* maps an option (``--crawl-timeout``, ``--source-timeout X``) to its value.
    """
    limit, what = redelivery_timeout(kind, consumer_timeout, visibility_timeout)
    for option, timeout in crawl_timeouts.items():
        if timeout + grace >= limit:
            raise BrokerError(
                f"{option} {_human(timeout)} (+ --grace {_human(grace)} to stop) is not shorter "
                f"than {what}, {_human(limit)}: the broker would give the job to a second "
                f"worker while the first still crawls. Use a shorter crawl limit, or raise "
                f"the broker's timeout (and say so with its option)"
            )


def _human(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60}m"
    return f"{value.total_seconds():g}s"


def make_app(
    url: str,
    *,
    queue: str = DEFAULT_QUEUE,
    visibility_timeout: timedelta = DEFAULT_VISIBILITY_TIMEOUT,
) -> Celery:
    """The Celery application of Marsad's workers and scheduler (no result backend)."""
    from celery import Celery

    kind = broker_kind(url)
    app = Celery("marsad", broker=url, set_as_current=False)
    transport: dict[str, Any] = {}
    if kind == REDIS:
        seconds = int(visibility_timeout.total_seconds())
        transport["visibility_timeout"] = seconds
        # kombu looks for jobs past their visibility timeout every interval x throttle
        # seconds (100 s by default): every few seconds instead, so a dead worker's job
        # returns soon after its timeout
        transport["unacked_restore_interval"] = max(1, min(10, seconds // 4))
        transport["unacked_restore_throttle"] = 1
        transport["socket_connect_timeout"] = 5
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # Redis: no job reserved while every slot is busy (it would wait behind a long crawl)
        worker_disable_prefetch=kind == REDIS,
        task_default_queue=queue,
        task_create_missing_queues=True,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker waits for its broker, however long
        broker_heartbeat=10,
        # a worker that loses its broker keeps its running crawls: their jobs come back to
        # the queue and, finding the source locked, are recorded skipped_duplicate
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=True,  # for Flower and `celery events`, if an operator runs them
        task_send_sent_event=True,
        enable_utc=True,
        timezone="UTC",
    )
    return app


def ping(url: str, timeout: float = 5.0) -> None:
    """Connect to the broker once; :class:`BrokerUnreachable` when it does not answer."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=timeout, heartbeat=0) as conn:
            conn.ensure_connection(max_retries=0, timeout=timeout)
    except Exception as exc:
        raise BrokerUnreachable(describe_failure(url, exc)) from None


def describe_failure(url: str, exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    what = f"{type(exc).__name__}: {first}"
    return hide_password(f"broker {safe_broker_url(url)} unreachable ({what})")


@dataclass(frozen=True)
class Job:
    """One source run asked of the workers."""

    source: str
    due: datetime | None
    trigger: str
    enqueued_at: datetime

    def to_kwargs(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "due": self.due.isoformat() if self.due else None,
            "trigger": self.trigger,
            "enqueued_at": self.enqueued_at.isoformat(),
        }


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Publisher:
    """Puts jobs on the queue; a broker that does not answer raises :class:`BrokerUnreachable`
    after a few quick retries (the caller keeps the job and tries again with backoff).

    It has a connection of its own (not Celery's process-wide pool), closed by :meth:`close`.
    """

    def __init__(self, url: str, queue: str, visibility_timeout: timedelta) -> None:
        self.url = url
        self.queue = queue
        self.app = make_app(url, queue=queue, visibility_timeout=visibility_timeout)
        self._conn = self.app.connection_for_write()
        self._lock = threading.Lock()  # one connection is not for several threads at once

    def publish(self, job: Job) -> str:
        with self._lock:
            return self._publish(job)

    def _publish(self, job: Job) -> str:
        try:
            with self._conn.Producer() as producer:
                result = self.app.send_task(
                    TASK_NAME,
                    kwargs=job.to_kwargs(),
                    queue=self.queue,
                    producer=producer,
                    retry=True,
                    retry_policy={
                        "max_retries": 2,
                        "interval_start": 0.2,
                        "interval_step": 0.5,
                        "interval_max": 1,
                    },
                )
        except Exception as exc:
            self._conn.release()  # a fresh connection for the next try
            self._conn = self.app.connection_for_write()
            raise BrokerUnreachable(describe_failure(self.url, exc)) from None
        return str(result.id)

    def close(self) -> None:
        with self._lock:
            self._conn.release()
        self.app.close()
