"""Source-health alerts through the [health] channels of alerts.toml."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.config import ConfigError
from crawler.config.alerts import load_alerts, parse_alerts
from crawler.schedule.health import HealthAlert
from crawler.schedule.notify import ChannelNotifier, render_alerts

AT = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
ALERTS = [
    HealthAlert("hespress-ar", "blocked", "3 answers were HTTP 403", AT),
    HealthAlert("<script>alert(1)</script>", "failing", "2 failures in a row", AT),
]


def test_rendering_escapes_and_isolates() -> None:
    rendered = render_alerts(ALERTS)
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert 'dir="auto"' in rendered.html
    assert "\u2068hespress-ar\u2069 is blocked" in rendered.text
    assert json.loads(rendered.json)[0]["flag"] == "blocked"


def test_file_channel_receives_alerts(tmp_path: Path) -> None:
    (tmp_path / "alerts.toml").write_text(
        f'[health.channels.ops]\ntype = "file"\nformat = "json"\n'
        f'path = "{tmp_path}/out/{{rule}}-{{date}}.json"\n',
        encoding="utf-8",
    )
    alerts = load_alerts(tmp_path)
    assert [c.name for c in alerts.health_channels] == ["ops"]
    ChannelNotifier(alerts).notify(ALERTS)
    (written,) = (tmp_path / "out").glob("health-*.json")
    assert json.loads(written.read_text("utf-8"))[0]["source"] == "hespress-ar"


def test_failing_channel_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "alerts.toml").write_text(
        '[health.channels.hook]\ntype = "apprise"\nurl_env = "MARSAD_TEST_UNSET_HOOK"\n',
        encoding="utf-8",
    )
    ChannelNotifier(load_alerts(tmp_path)).notify(ALERTS)
    assert "health alert channel hook failed" in caplog.text


def test_health_email_channel_needs_smtp() -> None:
    with pytest.raises(ConfigError, match=r"health\.channels\.ops"):
        parse_alerts({"health": {"channels": {"ops": {"type": "email", "to": ["a@b.org"]}}}})


def test_unknown_health_key_is_rejected() -> None:
    with pytest.raises(ConfigError, match="health"):
        parse_alerts({"health": {"channel": {}}})
