"""Which URLs belong to a source: host suffix match, or exact host:port for entries with a port."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit


def in_domains(url: str, domains: Iterable[str]) -> bool:
    """True when *url*'s host is one of *domains* or a subdomain of one.

    An entry with a port ("127.0.0.1:8081") matches only that host and port, which is how
    sites served on loopback keep outlets apart.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:
        return False
    if not host:
        return False
    for entry in domains:
        entry = entry.lower().rstrip(".")
        if ":" in entry:
            entry_host, _, entry_port = entry.rpartition(":")
            if host == entry_host and str(port) == entry_port:
                return True
        elif host == entry or host.endswith("." + entry):
            return True
    return False
