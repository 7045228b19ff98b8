"""Load and validate Marsad's TOML configuration (``sources.toml`` and ``topics.toml``).

Everything is checked at load time, so a mistake in the configuration stops the program
with one message that names the file, the dotted key, the offending value and the fix,
instead of surfacing later as a silent crawl failure.

This module reads the files, validates ``sources.toml`` and assembles :class:`Config`;
``topics.toml`` is validated in :mod:`crawler.config.topics`, a source's interval or cron
becomes a :class:`~crawler.config.schedule.Schedule`, and the checks all share (ConfigError,
unknown keys, languages) live in :mod:`crawler.config.checks`. Import from here: their
public names are re-exported.

This module is deliberately free of Scrapy and SQLAlchemy imports.
"""

from __future__ import annotations

import codecs
import difflib
import logging
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crawler.config.checks import (
    LANG_ALIASES,
    LANGUAGES,
    MISSING,
    ConfigError,
    check_unknown,
    expect_table,
    quoted_languages,
)
from crawler.config.schedule import Schedule, format_duration, parse_interval
from crawler.config.topics import (
    SENSES_FILE,
    TOPICS_FILE,
    Sense,
    TermOptions,
    Topic,
    load_senses,
    parse_senses,
    parse_topics,
)

if TYPE_CHECKING:
    from tldextract import TLDExtract

logger = logging.getLogger(__name__)

__all__ = [
    "LANGUAGES",
    "MISSING",
    "SENSES_FILE",
    "Config",
    "ConfigError",
    "Schedule",
    "Sense",
    "Source",
    "TermOptions",
    "Topic",
    "UnsupportedPattern",
    "UrlPattern",
    "compile_pattern",
    "format_duration",
    "load_config",
    "parse_interval",
    "parse_senses",
    "parse_sources",
    "parse_topics",
    "resolve_config_dir",
    "url_in_domains",
]

ENV_VAR = "MARSAD_CONFIG"
SOURCES_FILE = "sources.toml"

MIN_DEPTH = 1
MAX_DEPTH = 10
DEFAULT_INTERVAL = "1h"
DEFAULT_DEPTH = 1

_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
_HOST_RE = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")
_TOML_POS_RE = re.compile(r"\(at line (\d+), column (\d+)\)")

_LIST_FIELDS = (
    "domains",
    "feeds",
    "sitemaps",
    "sections",
    "article_patterns",
    "deny_patterns",
    "follow_patterns",
)
_PATTERN_FIELDS = ("article_patterns", "deny_patterns", "follow_patterns")
_SOURCE_FIELDS = (
    "name",
    "lang",
    "country",
    *_LIST_FIELDS,
    "depth",
    "interval",
    "cron",
    "enabled",
    "max_age_days",
    "encoding",
    "timezone",
)
_DEFAULTS_FIELDS = tuple(f for f in _SOURCE_FIELDS if f not in ("name", "lang"))


@dataclass(frozen=True)
class Source:
    key: str
    name: str
    lang: str
    country: str | None
    domains: tuple[str, ...]
    feeds: tuple[str, ...]
    sitemaps: tuple[str, ...]
    sections: tuple[str, ...]
    article_patterns: tuple[str, ...]
    deny_patterns: tuple[str, ...]
    follow_patterns: tuple[str, ...]
    depth: int
    schedule: Schedule
    enabled: bool
    max_age_days: int | None
    encoding: str | None
    # IANA zone of the publisher, for pages that print a time without offset
    timezone: str | None = None

    @property
    def interval(self) -> timedelta | None:
        """The ``interval`` key (None for a cron source)."""
        return self.schedule.interval

    @property
    def cron(self) -> str | None:
        """The ``cron`` key, whitespace normalised (None for an interval source)."""
        return self.schedule.cron

    def allows(self, url: str) -> bool:
        """True when ``url``'s host is covered by this source's ``domains``."""
        return url_in_domains(url, self.domains)


@dataclass(frozen=True)
class Config:
    directory: Path
    sources: tuple[Source, ...]
    topics: tuple[Topic, ...]

    def source(self, key: str) -> Source:
        for source in self.sources:
            if source.key == key:
                return source
        known = [s.key for s in self.sources]
        raise KeyError(_unknown_name_message("source", key, known, self.directory / SOURCES_FILE))

    def topic(self, key: str) -> Topic:
        for topic in self.topics:
            if topic.key == key:
                return topic
        known = [t.key for t in self.topics]
        raise KeyError(_unknown_name_message("topic", key, known, self.directory / TOPICS_FILE))


def _unknown_name_message(kind: str, key: str, known: Sequence[str], file: Path) -> str:
    msg = f"unknown {kind} {key!r} (defined in {file})"
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        msg += f"; did you mean {close[0]!r}?"
    shown = ", ".join(known[:30]) + (", ..." if len(known) > 30 else "")
    return msg + f" Known {kind}s: {shown or '(none)'}"


# --------------------------------------------------------------------------- helpers


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _split_domain(domain: str) -> tuple[str, int | None]:
    host, sep, port = domain.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return domain, None


def url_in_domains(url: str, domains: Sequence[str]) -> bool:
    """Is ``url``'s host covered by ``domains``?

    A plain domain matches itself and any subdomain ("hespress.com" covers
    "fr.hespress.com") on the default port of the scheme only (80 for http, 443 for https); an
    entry with a port ("127.0.0.1:8081") must match host and port exactly.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        default = _DEFAULT_PORTS.get(parts.scheme.lower())
        port = parts.port if parts.port is not None else default
    except ValueError:
        return False
    if not host or port is None:
        return False
    for domain in domains:
        d_host, d_port = _split_domain(domain.lower())
        if d_port is not None:
            if host == d_host and port == d_port:
                return True
        elif port == default and (host == d_host or host.endswith("." + d_host)):
            return True
    return False


@cache
def _suffixes() -> TLDExtract:
    # The snapshot bundled with tldextract, never the network; ICANN suffixes only, so a
    # source may still be written as a host under a private suffix such as "github.io".
    # Imported here: only loading a configuration needs it, not every command's start.
    from tldextract import TLDExtract

    return TLDExtract(suffix_list_urls=(), cache_dir=None)


def is_public_suffix(host: str) -> bool:
    """Is *host* itself a public suffix ("com", "co.uk", "ma"), so that as a domain it would
    admit every site registered under it?"""
    parts = _suffixes()(host)
    return bool(parts.suffix) and not parts.domain and not parts.subdomain


class UrlPattern(Protocol):
    """A compiled article/deny/follow pattern (an RE2 regular expression)."""

    pattern: str

    def search(self, text: str) -> object | None: ...


class UnsupportedPattern(ValueError):
    """A pattern RE2 cannot compile: ``reason`` says why, ``python_ok`` whether Python's
    ``re`` would have taken it (a backreference or a lookaround, rather than a typo)."""

    def __init__(self, reason: str, python_ok: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.python_ok = python_ok


@cache
def _re2_options() -> Any:
    # Imported here: only loading a configuration or crawling needs it. RE2 would log each
    # refused pattern to stderr itself; the ConfigError says it once, with the fix.
    import re2

    options = re2.Options()
    options.log_errors = False
    return options


def compile_pattern(pattern: str) -> UrlPattern:
    """*pattern* compiled with RE2, whose matching time is linear in the URL's length whatever
    the pattern: ``(a+)+$`` cannot stall a crawl as it does with Python's backtracking ``re``.
    Raises :class:`UnsupportedPattern` for what RE2 refuses (backreferences, lookarounds,
    invalid syntax)."""
    import re2

    try:
        compiled: UrlPattern = re2.compile(pattern, _re2_options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        try:
            re.compile(pattern)
        except re.error as python_exc:
            raise UnsupportedPattern(str(python_exc), python_ok=False) from None
        raise UnsupportedPattern(reason, python_ok=True) from None
    return compiled


# --------------------------------------------------------------------------- sources


class _SourceChecker:
    """Validates one merged source table (defaults + the source's own keys)."""

    def __init__(self, file: str, prefix: str) -> None:
        self.file = file
        self.prefix = prefix

    def err(self, field: str, value: object, problem: str, fix: str) -> ConfigError:
        return ConfigError(self.file, f"{self.prefix}.{field}", value, fix, problem=problem)

    def string(self, field: str, value: Any, example: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.err(
                field, value, "expected a non-empty string", f"write {field} = {example}"
            )
        return value.strip()

    def string_list(self, field: str, value: Any, example: str) -> tuple[str, ...]:
        if isinstance(value, str):
            raise self.err(
                field, value, "expected a list of strings", f"write {field} = [{value!r}]"
            )
        if not isinstance(value, list):
            raise self.err(
                field, value, "expected a list of strings", f"write {field} = [{example}]"
            )
        out: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise self.err(
                    f"{field}[{i}]",
                    item,
                    "expected a non-empty string",
                    f"make every entry of {field} a quoted string, e.g. {example}",
                )
            if item.strip() not in out:
                out.append(item.strip())
        return tuple(out)

    def lang(self, value: Any) -> str:
        if value is MISSING:
            raise self.err(
                "lang", value, "required key", f"add lang = 'ar' (one of {quoted_languages()})"
            )
        if isinstance(value, str) and value in LANGUAGES:
            return value
        alias = LANG_ALIASES.get(str(value).strip().lower()) if isinstance(value, str) else None
        hint = f"did you mean {alias!r}? " if alias else ""
        raise self.err("lang", value, "unknown language", f"{hint}use one of {quoted_languages()}")

    def country(self, value: Any) -> str | None:
        if value is MISSING:
            return None
        if isinstance(value, str) and _COUNTRY_RE.match(value.strip().upper()):
            return value.strip().upper()
        raise self.err(
            "country",
            value,
            "expected a two-letter ISO 3166-1 country code",
            "use a code such as 'MA', 'DZ', 'IL', 'QA', or remove the key",
        )

    def domains(self, value: Any) -> tuple[str, ...]:
        if value is MISSING:
            raise self.err(
                "domains",
                value,
                "required key",
                "add domains = ['example.com'] listing the hosts articles live on "
                "(subdomains are included)",
            )
        items = self.string_list("domains", value, "'example.com'")
        if not items:
            raise self.err(
                "domains", value, "empty list", "list at least one host, e.g. ['example.com']"
            )
        out: list[str] = []
        for i, raw in enumerate(items):
            domain = raw.lower().rstrip(".")
            if "://" in domain or "/" in domain:
                try:
                    bare = urlsplit(domain if "://" in domain else "//" + domain).netloc
                except ValueError:
                    bare = "example.com"
                raise self.err(
                    f"domains[{i}]",
                    raw,
                    "a domain is a bare host, not a URL",
                    f"write {bare or 'example.com'!r}",
                )
            host, port = _split_domain(domain)
            if ":" in host or not _HOST_RE.match(host):
                raise self.err(
                    f"domains[{i}]",
                    raw,
                    "not a valid host name",
                    "write a host such as 'hespress.com' or host:port such as '127.0.0.1:8081'",
                )
            if port is not None and not 0 < port < 65536:
                raise self.err(
                    f"domains[{i}]", raw, "port out of range", "use a port between 1 and 65535"
                )
            if is_public_suffix(host):
                raise self.err(
                    f"domains[{i}]",
                    raw,
                    "a public suffix, which would admit every site registered under it",
                    "write the site's own domain, e.g. 'hespress.com' rather than 'com'",
                )
            out.append(domain)
        return tuple(out)

    def urls(self, field: str, value: Any, domains: tuple[str, ...]) -> tuple[str, ...]:
        if value is MISSING:
            return ()
        items = self.string_list(field, value, "'https://example.com/...'")
        for i, url in enumerate(items):
            try:
                parts = urlsplit(url)
                _ = parts.port
            except ValueError as exc:
                raise self.err(
                    f"{field}[{i}]", url, f"not a valid URL ({exc})", "write a full https:// URL"
                ) from None
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise self.err(
                    f"{field}[{i}]",
                    url,
                    "URL must start with http:// or https:// and name a host",
                    "write a full URL such as 'https://www.example.com/feed'",
                )
            if not url_in_domains(url, domains):
                host = parts.netloc.lower()
                suggestion = host[4:] if host.startswith("www.") else host
                raise self.err(
                    f"{field}[{i}]",
                    url,
                    f"host {host!r} is not covered by domains {list(domains)!r}",
                    f"add {suggestion!r} to domains, or correct the URL",
                )
        return items

    def patterns(self, field: str, value: Any) -> tuple[str, ...]:
        if value is MISSING:
            return ()
        items = self.string_list(field, value, r"'/\d{4}/\d{2}/'")
        for i, pattern in enumerate(items):
            try:
                compile_pattern(pattern)
            except UnsupportedPattern as exc:
                if exc.python_ok:
                    raise self.err(
                        f"{field}[{i}]",
                        pattern,
                        f"regular expression not supported ({exc.reason}): patterns are "
                        "matched in linear time (RE2), without backreferences (\\1) or "
                        "lookarounds ((?=, (?!, (?<=, (?<!)",
                        "rewrite it without them: match the URLs you want here and list the "
                        "ones to exclude in deny_patterns",
                    ) from None
                raise self.err(
                    f"{field}[{i}]",
                    pattern,
                    f"invalid regular expression ({exc.reason})",
                    "fix the regex (TOML literal strings in single quotes keep backslashes as "
                    "written; escape literal '.', '?', '(' with a backslash)",
                ) from None
        return items

    def depth(self, value: Any) -> int:
        if value is MISSING:
            return DEFAULT_DEPTH
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.err(
                "depth", value, "expected an integer", f"write depth = {DEFAULT_DEPTH} (no quotes)"
            )
        if not MIN_DEPTH <= value <= MAX_DEPTH:
            raise self.err(
                "depth",
                value,
                f"depth out of range {MIN_DEPTH}..{MAX_DEPTH}",
                f"use a value between {MIN_DEPTH} (only the configured section pages) "
                f"and {MAX_DEPTH}",
            )
        return value

    def interval(self, value: Any) -> timedelta:
        if not isinstance(value, str):
            raise self.err(
                "interval",
                value,
                "expected a duration string",
                "write interval = '15m' (units: s, m, h, d; e.g. '90s', '2h', '1d')",
            )
        try:
            return parse_interval(value)
        except ValueError:
            raise self.err(
                "interval",
                value,
                "not a valid interval",
                "write a number followed by a unit s, m, h or d, e.g. '15m', '2h', '1d', "
                "'1h30m' (at least 1s)",
            ) from None

    def cron(self, value: Any) -> Schedule:
        fix = "write a 5-field crontab 'minute hour day month weekday', e.g. '*/20 6-23 * * *'"
        if not isinstance(value, str):
            raise self.err("cron", value, "expected a cron string", fix)
        fields = value.split()
        if len(fields) != 5:
            raise self.err("cron", value, f"expected 5 fields, got {len(fields)}", fix)
        try:
            return Schedule.crontab(value)
        except ValueError as exc:
            raise self.err("cron", value, f"invalid cron expression ({exc})", fix) from None

    def boolean(self, field: str, value: Any, default: bool) -> bool:
        if value is MISSING:
            return default
        if not isinstance(value, bool):
            raise self.err(field, value, "expected true or false", f"write {field} = true")
        return value

    def max_age_days(self, value: Any) -> int | None:
        if value is MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.err(
                "max_age_days",
                value,
                "expected a whole number of days >= 0",
                "write max_age_days = 3 (0 means no limit), or remove the key",
            )
        return value or None

    def encoding(self, value: Any) -> str | None:
        if value is MISSING:
            return None
        if not isinstance(value, str):
            raise self.err("encoding", value, "expected a string", "write encoding = 'cp1256'")
        try:
            return codecs.lookup(value.strip()).name
        except LookupError:
            raise self.err(
                "encoding",
                value,
                "unknown text encoding",
                "use a Python codec name such as 'utf-8', 'cp1256' or 'iso8859_6', "
                "or remove the key",
            ) from None

    def timezone(self, value: Any) -> str | None:
        if value is MISSING:
            return None
        fix = "write an IANA zone name such as timezone = 'Africa/Casablanca', or remove the key"
        if not isinstance(value, str) or not value.strip():
            raise self.err("timezone", value, "expected a time zone name", fix)
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise self.err("timezone", value, "unknown time zone", fix) from None
        return value.strip()


def _check_schedule_pair(table: Mapping[str, Any], file: str, prefix: str) -> None:
    if "interval" in table and "cron" in table:
        raise ConfigError(
            file,
            f"{prefix}.cron",
            table["cron"],
            "keep either interval or cron, not both",
            problem="both interval and cron are set",
        )


def _parse_source(
    key: str, table: Mapping[str, Any], defaults: Mapping[str, Any], file: str
) -> Source:
    prefix = f"sources.{key}"
    check_unknown(table, _SOURCE_FIELDS, file, prefix, "a [sources.<key>] table")
    _check_schedule_pair(table, file, prefix)
    merged: dict[str, Any] = dict(defaults)
    if "cron" in table:
        merged.pop("interval", None)
    if "interval" in table:
        merged.pop("cron", None)
    merged.update(table)

    c = _SourceChecker(file, prefix)

    def get(field: str) -> Any:
        return merged.get(field, MISSING)

    name_value = get("name")
    if name_value is MISSING:
        raise c.err("name", name_value, "required key", "add name = 'Outlet name'")
    name = c.string("name", name_value, "'Outlet name'")
    lang = c.lang(get("lang"))
    country = c.country(get("country"))
    domains = c.domains(get("domains"))
    feeds = c.urls("feeds", get("feeds"), domains)
    sitemaps = c.urls("sitemaps", get("sitemaps"), domains)
    sections = c.urls("sections", get("sections"), domains)
    if not (feeds or sitemaps or sections):
        raise ConfigError(
            file,
            f"{prefix}.feeds",
            MISSING,
            "add at least one of feeds = [...], sitemaps = [...] or sections = [...]",
            problem="the source has no feeds, sitemaps or sections, so nothing can be crawled",
        )
    patterns = {field: c.patterns(field, get(field)) for field in _PATTERN_FIELDS}
    depth = c.depth(get("depth"))
    cron_value = get("cron")
    if cron_value is not MISSING:
        schedule = c.cron(cron_value)
    else:
        interval_value = get("interval")
        interval = c.interval(DEFAULT_INTERVAL if interval_value is MISSING else interval_value)
        schedule = Schedule.every(interval)
    return Source(
        key=key,
        name=name,
        lang=lang,
        country=country,
        domains=domains,
        feeds=feeds,
        sitemaps=sitemaps,
        sections=sections,
        article_patterns=patterns["article_patterns"],
        deny_patterns=patterns["deny_patterns"],
        follow_patterns=patterns["follow_patterns"],
        depth=depth,
        schedule=schedule,
        enabled=c.boolean("enabled", get("enabled"), True),
        max_age_days=c.max_age_days(get("max_age_days")),
        encoding=c.encoding(get("encoding")),
        timezone=c.timezone(get("timezone")),
    )


def _validate_defaults(defaults: Mapping[str, Any], file: str) -> None:
    """Check the [defaults] table on its own so its errors name 'defaults.<field>'."""
    check_unknown(
        defaults,
        _DEFAULTS_FIELDS,
        file,
        "defaults",
        "[defaults] (any source field except name/lang)",
    )
    _check_schedule_pair(defaults, file, "defaults")
    c = _SourceChecker(file, "defaults")
    for field, value in defaults.items():
        if field in _PATTERN_FIELDS:
            c.patterns(field, value)
        elif field == "domains":
            c.domains(value)
        elif field in _LIST_FIELDS:
            c.string_list(field, value, "'https://example.com/...'")
        elif field == "country":
            c.country(value)
        elif field == "depth":
            c.depth(value)
        elif field == "interval":
            c.interval(value)
        elif field == "cron":
            c.cron(value)
        elif field == "enabled":
            c.boolean(field, value, True)
        elif field == "max_age_days":
            c.max_age_days(value)
        elif field == "encoding":
            c.encoding(value)
        elif field == "timezone":
            c.timezone(value)


def parse_sources(data: Mapping, file: str = SOURCES_FILE) -> tuple[Source, ...]:
    """Validate the parsed ``sources.toml`` document and build the sources, in file order."""
    check_unknown(
        data,
        ("defaults", "sources"),
        file,
        "",
        f"{file} (source tables go under [sources.<key>], shared values under [defaults])",
    )
    defaults = expect_table(
        data.get("defaults", {}), file, "defaults", "write shared values under a [defaults] table"
    )
    _validate_defaults(defaults, file)
    if "sources" not in data:
        raise ConfigError(
            file,
            "sources",
            MISSING,
            "add at least one [sources.<key>] table with name, lang, domains and feeds",
            problem="no sources are defined",
        )
    sources = expect_table(
        data["sources"], file, "sources", "define sources as [sources.<key>] tables"
    )
    if not sources:
        raise ConfigError(
            file,
            "sources",
            dict(sources),
            "add at least one [sources.<key>] table with name, lang, domains and feeds",
            problem="no sources are defined",
        )
    out: list[Source] = []
    for key, table in sources.items():
        if not _KEY_RE.match(key):
            fixed = re.sub(r"[^a-z0-9-]+", "-", key.lower()).strip("-") or "my-source"
            raise ConfigError(
                file,
                f"sources.{key}",
                key,
                f"rename the table to [sources.{fixed}] (lowercase letters, digits and '-', "
                "starting with a letter or digit)",
                problem="invalid source key",
            )
        table = expect_table(
            table,
            file,
            f"sources.{key}",
            f"write the source as a table: [sources.{key}] followed by name = ..., lang = ...",
        )
        out.append(_parse_source(key, table, defaults, file))
    return tuple(out)


# --------------------------------------------------------------------------- loading


def resolve_config_dir(explicit: str | Path | None = None) -> Path:
    """Pick the configuration directory.

    Order: ``explicit`` (``--config DIR``) > ``$MARSAD_CONFIG`` > ``./config`` when it holds a
    sources.toml > the repository's ``config/`` next to the package.
    """
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    local = Path.cwd() / "config"
    if (local / SOURCES_FILE).is_file():
        return local
    package_dir = Path(__file__).resolve().parents[1]
    repo_config = package_dir.parent / "config"
    if not (repo_config / SOURCES_FILE).is_file():
        bundled = package_dir / "default_config"  # installed wheel (package data)
        if (bundled / SOURCES_FILE).is_file():
            return bundled
    return repo_config


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_toml(path: Path, required: bool) -> dict[str, Any] | None:
    file = display_path(path)
    if not path.is_file():
        if not required:
            return None
        what = "directory does not exist" if not path.parent.is_dir() else "file not found"
        raise ConfigError(
            file,
            "",
            None,
            f"create {path.name} there, or point Marsad at another configuration directory "
            f"with --config DIR or the {ENV_VAR} environment variable",
            problem=f"{what} ({path})",
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            file,
            "",
            None,
            "save the file as UTF-8",
            problem=f"file is not valid UTF-8 (byte {exc.start})",
        ) from None
    except OSError as exc:
        raise ConfigError(
            file, "", None, "check the file's permissions", problem=f"cannot read file ({exc})"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        pos = _TOML_POS_RE.search(msg)
        where = f"line {pos.group(1)}, column {pos.group(2)}" if pos else "the reported position"
        line = ""
        if pos:
            lines = text.splitlines()
            n = int(pos.group(1))
            if 0 < n <= len(lines):
                line = f" (the line reads: {lines[n - 1].strip()[:80]!r})"
        raise ConfigError(
            file,
            "",
            None,
            f"correct the TOML at {where}{line}; strings need quotes, lists use [ ], "
            "tables use [name]",
            problem=f"TOML syntax error: {msg}",
        ) from None


def load_config(directory: str | Path | None = None) -> Config:
    """Load and validate ``sources.toml`` (required) and ``topics.toml`` from ``directory``."""
    resolved = resolve_config_dir(directory)
    sources_path = resolved / SOURCES_FILE
    topics_path = resolved / TOPICS_FILE
    sources_data = read_toml(sources_path, required=True)
    assert sources_data is not None
    sources = parse_sources(sources_data, display_path(sources_path))
    topics_data = read_toml(topics_path, required=False)
    if topics_data is None:
        logger.warning("%s not found: no topics will be tagged", topics_path)
        topics: tuple[Topic, ...] = ()
    else:
        senses = load_senses(resolved, read_toml, display_path)
        topics = parse_topics(topics_data, display_path(topics_path), senses)
    logger.debug("loaded %d sources and %d topics from %s", len(sources), len(topics), resolved)
    return Config(directory=resolved, sources=sources, topics=topics)
