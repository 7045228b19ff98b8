"""The User-Agent a crawl sends: a real contact is required for sites off this machine.

The shipped USER_AGENT (crawler/settings.py) is a placeholder; an operator sets theirs in
MARSAD_USER_AGENT or with `-s USER_AGENT=...`. Loopback sites (the demo, tests, benchmarks)
keep the placeholder. No Scrapy here: `sources check --online` uses it too.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from crawler import settings as marsad_defaults
from crawler.config import Source

USER_AGENT_ENV = "MARSAD_USER_AGENT"
USER_AGENT_EXAMPLE = "Marsad/0.1 (+https://your-newsroom.example/marsad; you@your-newsroom.example)"


class SettingError(ValueError):
    """A setting that would make the crawl fail or misbehave; the message says how to fix it."""


def configured_user_agent(environ: Mapping[str, str] = os.environ) -> str:
    """MARSAD_USER_AGENT when set, else the shipped placeholder."""
    return environ.get(USER_AGENT_ENV, "").strip() or marsad_defaults.USER_AGENT


def is_loopback(domain: str) -> bool:
    """A source domain on this machine: 127.0.0.0/8, ::1 or localhost, with or without a port."""
    try:
        return ipaddress.ip_address(domain.strip("[]")).is_loopback  # a bare IPv6 address
    except ValueError:
        pass
    try:
        host = (urlsplit(f"//{domain}").hostname or "").rstrip(".")
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_placeholder(user_agent: str | None) -> bool:
    """The shipped User-Agent (no real contact), or none at all."""
    return not (user_agent or "").strip() or user_agent == marsad_defaults.USER_AGENT


def require_contact(sources: Iterable[Source], user_agent: str | None) -> None:
    """SettingError when *user_agent* is the placeholder and a source is off this machine: a
    site's operator must be able to reach whoever runs the crawler."""
    if not is_placeholder(user_agent):
        return
    remote = sorted({d for s in sources for d in s.domains if not is_loopback(d)})
    if not remote:
        return
    shown = ", ".join(remote[:3]) + (f" and {len(remote) - 3} more" if len(remote) > 3 else "")
    raise SettingError(
        f"USER_AGENT is the placeholder {marsad_defaults.USER_AGENT!r}; crawling {shown} needs "
        f"a real contact: set {USER_AGENT_ENV}='{USER_AGENT_EXAMPLE}' in the environment, "
        "or pass -s USER_AGENT='...'"
    )
