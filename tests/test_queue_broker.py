"""The broker settings, without a broker: URLs, masking, and the crawl limit that must end
before the broker hands a job to a second worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawler.schedule import broker

M = timedelta(minutes=1)


def test_broker_urls_are_named_and_masked() -> None:
    assert broker.broker_kind("amqp://guest:guest@127.0.0.1:5672//") == broker.AMQP
    assert broker.broker_kind("pyamqp://h//") == broker.AMQP
    assert broker.broker_kind("rediss://:pw@h:6380/1") == broker.REDIS
    assert broker.safe_broker_url("amqp://u:s3cr%40t@h:5672/v") == "amqp://u:***@h:5672/v"
    assert broker.safe_broker_url("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    with pytest.raises(broker.BrokerError, match="unsupported scheme 'sqs'") as raised:
        broker.broker_kind("sqs://key:sekret@queue")
    assert "sekret" not in str(raised.value)


def test_the_broker_url_comes_from_the_option_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(broker.BROKER_URL_ENV, raising=False)
    assert broker.resolve_broker_url(None) is None
    monkeypatch.setenv(broker.BROKER_URL_ENV, "redis://env/0")
    assert broker.resolve_broker_url(None) == "redis://env/0"
    assert broker.resolve_broker_url("amqp://opt//") == "amqp://opt//"


@pytest.mark.parametrize(
    ("kind", "limit", "grace", "refused"),
    [
        (broker.AMQP, 25 * M, timedelta(seconds=30), False),  # the defaults fit
        (broker.AMQP, 29 * M, 1 * M, True),  # limit + grace reaches 30 min
        (broker.AMQP, 29 * M, timedelta(seconds=59), False),
        (broker.AMQP, 40 * M, timedelta(seconds=1), True),
        (broker.REDIS, 25 * M, timedelta(seconds=30), False),  # visibility 1 h
        (broker.REDIS, 60 * M, timedelta(seconds=0), True),
    ],
)
def test_a_crawl_limit_must_end_before_redelivery(
    kind: str, limit: timedelta, grace: timedelta, refused: bool
) -> None:
    def check() -> None:
        broker.check_crawl_limit(
            kind, {"--crawl-timeout": limit}, grace, broker.DEFAULT_CONSUMER_TIMEOUT,
            broker.DEFAULT_VISIBILITY_TIMEOUT,
        )  # fmt: skip

    if refused:
        what = "consumer_timeout" if kind == broker.AMQP else "visibility_timeout"
        with pytest.raises(broker.BrokerError, match=what):
            check()
    else:
        check()


def test_a_job_travels_as_plain_json_values() -> None:
    due = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    job = broker.Job("hespress-ar", due, "overdue", due + timedelta(seconds=2))
    kwargs = job.to_kwargs()
    assert kwargs == {
        "source": "hespress-ar", "due": "2026-01-05T08:00:00+00:00", "trigger": "overdue",
        "enqueued_at": "2026-01-05T08:00:02+00:00",
    }  # fmt: skip
    assert broker.parse_time(kwargs["due"]) == due
    assert broker.parse_time("2026-01-05T08:00:00") == due  # naive: UTC
    assert broker.parse_time(None) is None and broker.parse_time("soon") is None


def test_the_celery_app_keeps_the_redelivery_rules() -> None:
    app = broker.make_app("redis://127.0.0.1:6379/0", visibility_timeout=timedelta(seconds=20))
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1 and conf.worker_disable_prefetch
    assert conf.broker_transport_options["visibility_timeout"] == 20
    assert conf.broker_transport_options["unacked_restore_interval"] == 5
    amqp = broker.make_app("amqp://guest:guest@127.0.0.1:5672//").conf
    assert "visibility_timeout" not in amqp.broker_transport_options
    assert not amqp.worker_disable_prefetch and amqp.accept_content == ["json"]
