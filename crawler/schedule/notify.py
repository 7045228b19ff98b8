"""Source-health alerts sent through the channels of alerts.toml's [health] table."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from crawler.config.alerts import AlertsConfig
from crawler.digest.channels import ChannelError, Rendered, send
from crawler.schedule.health import HealthAlert
from crawler.text.bidi import FSI, PDI

logger = logging.getLogger(__name__)


def render_alerts(alerts: Sequence[HealthAlert]) -> Rendered:
    """Every format a channel may need; source names and messages are escaped in HTML."""
    subject = f"Marsad health: {len(alerts)} source problem(s)"
    # every source name isolated, Latin ones too: an Arabic name cannot reorder the line
    lines = [f"{FSI}{a.source}{PDI} is {a.flag}: {a.message}" for a in alerts]
    items = "".join(
        f'<li><b dir="auto">{escape(a.source)}</b> is <b>{escape(a.flag)}</b>: '
        f'<span dir="auto">{escape(a.message)}</span></li>'
        for a in alerts
    )
    html = (
        '<!doctype html><html><body style="font-family:Arial,sans-serif">'
        f"<h2>{escape(subject)}</h2><ul>{items}</ul></body></html>"
    )
    payload = [
        {"source": a.source, "flag": a.flag, "message": a.message, "at": a.at.isoformat()}
        for a in alerts
    ]
    return Rendered(
        subject=subject,
        html=html,
        text="\n".join(lines),
        markdown="\n".join(f"- {line}" for line in lines),
        json=json.dumps(payload, ensure_ascii=False, indent=2),
    )


class ChannelNotifier:
    """A health Notifier that delivers each batch of new alerts to the [health] channels."""

    def __init__(self, alerts_config: AlertsConfig):
        self.config = alerts_config

    def notify(self, alerts: Sequence[HealthAlert]) -> None:
        if not alerts:
            return
        rendered = render_alerts(alerts)
        now = datetime.now(UTC)
        for channel in self.config.health_channels:
            try:
                send(rendered, channel, self.config.smtp, name="health", now=now)
            except ChannelError as exc:
                logger.error("health alert channel %s failed: %s", channel.name, exc)
