"""alerts.toml validation: the shipped example loads; mistakes name file, key, value and fix."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from crawler.config import ConfigError, load_config
from crawler.config.alerts import load_alerts, parse_alerts
from crawler.config.subject import render_subject
from crawler.text.bidi import FSI, PDI

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config"

GOOD: dict[str, Any] = {
    "smtp": {"host": "127.0.0.1", "sender": "Marsad <m@example.org>"},
    "rules": {
        "desk": {
            "topics": ["defense"],
            "schedule": "0 7 * * 1-5",
            "timezone": "Africa/Tunis",
            "channels": {"mail": {"type": "email", "to": ["a@example.org"]}},
        }
    },
}


def test_shipped_example_loads_against_shipped_topics_and_sources() -> None:
    alerts = load_alerts(config=load_config(REPO_CONFIG))
    assert {r.key for r in alerts.rules} == {"morocco-israel-defense", "israel-now"}
    assert alerts.smtp is not None and alerts.smtp.password_env == "MARSAD_SMTP_PASSWORD"
    now = alerts.rule("israel-now")
    assert now.immediate and now.channels[0].url_env == "MARSAD_TELEGRAM_URL"


def test_defaults() -> None:
    smtp, (rule,) = parse_alerts(GOOD)
    assert smtp is not None and (smtp.port, smtp.security) == (587, "starttls")
    assert (rule.name, rule.match, rule.min_score, rule.max_items, rule.lang) == (
        "desk", "any", 0.0, 100, "en")  # fmt: skip


def _with(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return data


@pytest.mark.parametrize(
    "path,value,key,words",
    [
        ("rules.desk.topic", ["x"], "rules.desk.topic", ["unknown key", "did you mean 'topics'"]),
        ("rules.desk.topics", ["defence"], "rules.desk.topics", ["unknown topic", "'defense'"]),
        ("rules.desk.schedule", "every day", "rules.desk.schedule", ["expected 5 fields"]),
        ("rules.desk.schedule", "0 25 * * *", "rules.desk.schedule", ["invalid cron"]),
        ("rules.desk.timezone", "Africa/Rabat", "rules.desk.timezone", ["unknown time zone"]),
        ("rules.desk.match", "some", "rules.desk.match", ["'any', 'all'"]),
        ("rules.desk.languages", ["arabic"], "rules.desk.languages", ["unknown language"]),
        (
            "rules.desk.sources",
            ["hespres-ar"],
            "rules.desk.sources",
            ["did you mean 'hespress-ar'"],
        ),
        ("rules.desk.subject", "{{ rulez }}", "rules.desk.subject", ["invalid subject template"]),
        ("rules.desk.subject", "{{ rule ", "rules.desk.subject", ["invalid subject template"]),
        ("rules.desk.channels", KeyError, "rules.desk.channels", ["at least one channel"]),
        ("rules.desk.channels.mail.type", "sms", "rules.desk.channels.mail.type", ["'email'"]),
        ("rules.desk.channels.mail.to", ["desk"], "rules.desk.channels.mail.to", ["not an email"]),
        ("rules.desk.channels.mail.url", "x", "rules.desk.channels.mail.url", ["unknown key"]),
        ("smtp.password", "hunter2", "smtp.password", ["unknown key", "password_env"]),
        ("smtp.username", "u", "smtp.password_env", ["needs a password"]),
        ("smtp.security", "tls", "smtp.security", ["'starttls'"]),
        ("smtp", KeyError, "smtp", ["sends email"]),
    ],
)
def test_mistakes_name_file_key_and_fix(path: str, value: Any, key: str, words: list[str]) -> None:
    config = load_config(REPO_CONFIG)
    with pytest.raises(ConfigError) as info:
        parse_alerts(
            _with(path, value),
            "config/alerts.toml",
            [t.key for t in config.topics],
            [s.key for s in config.sources],
        )
    err = info.value
    assert err.file == "config/alerts.toml" and err.key == key
    message = str(err)
    assert "Fix:" in message
    for word in words:
        assert word in message


def test_password_never_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        parse_alerts(_with("smtp.password_env", "s3cr3t-p@ss!"))
    assert "s3cr3t" not in str(info.value) and "<hidden>" in str(info.value)


def test_apprise_and_file_channels() -> None:
    data = _with("rules.desk.channels", {"chat": {"type": "apprise"}})
    with pytest.raises(ConfigError, match="exactly one of url and url_env"):
        parse_alerts(data)
    data = _with("rules.desk.channels", {"f": {"type": "file", "path": "d/{rul}.html"}})
    with pytest.raises(ConfigError, match="bad placeholder"):
        parse_alerts(data)


def test_subject_isolates_right_to_left_values_only() -> None:
    subject = render_subject(
        "Marsad : {{ rule }} — {{ first_title }} ({{ count }})",
        {"rule": "Défense", "first_title": "المغرب وإسرائيل", "count": 3},
    )
    assert subject == f"Marsad : Défense — {FSI}المغرب وإسرائيل{PDI} (3)"
    assert "\n" not in render_subject("{{ rule }}", {"rule": "a\nBcc: x@y"})
