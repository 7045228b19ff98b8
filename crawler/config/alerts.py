"""Load and validate ``config/alerts.toml``: alert rules, their channels and the SMTP server.

Same contract as :mod:`crawler.config`: everything is checked at load time and a mistake stops
the program with one :class:`~crawler.config.ConfigError` naming the file, the dotted key, the
value and the fix. Unknown keys are rejected (with a "did you mean" hint).

Shape (see the commented ``config/alerts.toml`` for a full example)::

    [smtp]                      # only needed by email channels
    host = "smtp.example.org"
    port = 587
    security = "starttls"       # starttls | ssl | none
    username = "marsad@example.org"
    password_env = "MARSAD_SMTP_PASSWORD"   # the NAME of the variable, never the password
    sender = "Marsad <marsad@example.org>"
    ca_file = "/etc/marsad/smtp-ca.pem"     # optional: trust only these CAs (private CA)

    [rules.<key>]
    name = "..."; topics = [...]; match = "any" | "all"; min_score = 1.0
    query = '"مذكرة تفاهم" AND (المغرب OR الرباط)'   # full text (marsad search syntax);
                                # alone or with topics (then an article needs both)
    sources / exclude_sources / languages / exclude_languages = [...]
    schedule = "0 7 * * *" | "immediate"; timezone = "Africa/Casablanca"
    subject = "Marsad: {{ rule }} ({{ count }})"

    [rules.<key>.channels.<name>]
    type = "email" | "apprise" | "file"  (+ to/bcc, url/url_env, path/format)

Free of Scrapy imports; the search parser (and so SQLAlchemy) is imported only to check a
rule's ``query``.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crawler.config import (
    LANGUAGES,
    MISSING,
    Config,
    ConfigError,
    display_path,
    parse_interval,
    read_toml,
    resolve_config_dir,
)
from crawler.config.checks import check_unknown, suggest
from crawler.config.schedule import Schedule
from crawler.config.subject import DEFAULT_SUBJECT, SUBJECT_VARIABLES, render_subject

logger = logging.getLogger(__name__)

ALERTS_FILE = "alerts.toml"
IMMEDIATE = "immediate"
CHANNEL_TYPES = ("email", "apprise", "file")
FILE_FORMATS = ("html", "markdown", "json")
APPRISE_FORMATS = ("markdown", "text", "html")
SECURITY = ("starttls", "ssl", "none")
UI_LANGS = ("en", "fr", "ar")

_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOP_FIELDS = ("smtp", "rules", "health")
_HEALTH_FIELDS = ("channels",)
_SMTP_FIELDS = (
    "host", "port", "security", "username", "password_env", "sender", "timeout", "ca_file",
)  # fmt: skip
_RULE_FIELDS = (
    "name", "enabled", "topics", "query", "match", "min_score", "sources", "exclude_sources",
    "languages", "exclude_languages", "schedule", "timezone", "subject", "lookback",
    "max_items", "send_empty", "lang", "channels",
)  # fmt: skip
_CHANNEL_FIELDS = {
    "email": ("type", "to", "bcc"),
    "apprise": ("type", "url", "url_env", "format"),
    "file": ("type", "path", "format"),
}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls | ssl | none
    username: str | None
    password_env: str | None  # name of the environment variable holding the password
    sender: str
    timeout: float
    # PEM file of the CA certificates trusted for the server's TLS certificate, instead of the
    # system's; None = the system's. Checked to exist when a digest is sent, not at load time.
    ca_file: str | None = None


@dataclass(frozen=True)
class Channel:
    name: str  # the key under [rules.<rule>.channels]; deliveries are tracked per channel name
    type: str  # email | apprise | file
    to: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    url: str | None = None
    url_env: str | None = None
    path: str | None = None
    format: str = "html"


@dataclass(frozen=True)
class Rule:
    key: str
    name: str
    enabled: bool
    topics: tuple[str, ...]  # may be empty when ``query`` is set
    match: str  # any | all
    min_score: float
    sources: tuple[str, ...]
    exclude_sources: tuple[str, ...]
    languages: tuple[str, ...]
    exclude_languages: tuple[str, ...]
    schedule: str  # crontab or "immediate", as written
    timezone: str
    subject: str
    lookback: timedelta  # how far back a channel's first run looks
    max_items: int
    send_empty: bool
    lang: str  # language of the digest's own labels
    channels: tuple[Channel, ...]
    timing: Schedule | None  # ``schedule`` parsed, in ``timezone``; None when immediate
    # a full-text query in the `marsad search` language, checked at load; None = topics only
    query: str | None = None

    @property
    def immediate(self) -> bool:
        return self.schedule == IMMEDIATE

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class AlertsConfig:
    file: Path
    smtp: SmtpSettings | None
    rules: tuple[Rule, ...]
    health_channels: tuple[Channel, ...] = ()  # where source-health alerts go ([health])

    def rule(self, key: str) -> Rule:
        for rule in self.rules:
            if rule.key == key:
                return rule
        known = ", ".join(r.key for r in self.rules) or "(none)"
        raise KeyError(f"unknown rule {key!r} (defined in {self.file}). Known rules: {known}")


class _Checker:
    def __init__(self, file: str, prefix: str) -> None:
        self.file, self.prefix = file, prefix

    def err(self, field: str, value: object, problem: str, fix: str) -> ConfigError:
        return ConfigError(self.file, f"{self.prefix}.{field}", value, fix, problem=problem)

    def string(
        self, table: Mapping[str, Any], field: str, example: str, default: str | None = None
    ) -> str:
        """A non-empty string (stripped); required unless a *default* is given."""
        value = table.get(field, MISSING if default is None else default)
        if not isinstance(value, str) or not value.strip():
            raise self.err(
                field, value, "expected a non-empty string", f"write {field} = {example}"
            )
        return value.strip()

    def optional_string(self, table: Mapping[str, Any], field: str, example: str) -> str | None:
        return self.string(table, field, example) if field in table else None

    def strings(self, table: Mapping[str, Any], field: str, example: str) -> tuple[str, ...]:
        value = table.get(field, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.err(field, value, "expected a list of strings", f"write {field} = {example}")
        return tuple(dict.fromkeys(v.strip() for v in value))

    def choice(
        self, table: Mapping[str, Any], field: str, choices: Sequence[str], default: object
    ) -> str:
        value = table.get(field, default)
        if value not in choices:
            hint = suggest(str(value), choices)
            options = ", ".join(repr(c) for c in choices)
            raise self.err(field, value, "unknown value", f"{hint}use one of {options}")
        return value

    def boolean(self, table: Mapping[str, Any], field: str, default: bool) -> bool:
        value = table.get(field, default)
        if not isinstance(value, bool):
            raise self.err(field, value, "expected true or false", f"write {field} = true")
        return value

    def number(
        self, table: Mapping[str, Any], field: str, default: float, minimum: float
    ) -> int | float:
        value = table.get(field, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self.err(
                field, value, f"expected a number >= {minimum}", f"write {field} = {default}"
            )
        return value

    def env_name(self, table: Mapping[str, Any], field: str) -> str | None:
        value = table.get(field)
        if value is None:
            return None
        if not isinstance(value, str) or not _ENV_RE.match(value):
            raise self.err(
                field,
                "<hidden>" if isinstance(value, str) else value,
                "expected the NAME of an environment variable",
                f'write {field} = "MARSAD_SMTP_PASSWORD" and export the secret in that variable',
            )
        return value

    def languages(self, table: Mapping[str, Any], field: str) -> tuple[str, ...]:
        langs = self.strings(table, field, '["ar", "fr"]')
        for lang in langs:
            if lang not in LANGUAGES:
                raise self.err(
                    field,
                    lang,
                    "unknown language",
                    f"use language codes among {', '.join(map(repr, LANGUAGES))}",
                )
        return langs

    def known(
        self, field: str, keys: tuple[str, ...], known: Sequence[str] | None, kind: str
    ) -> None:
        if known is None:
            return
        for key in keys:
            if key not in known:
                raise self.err(
                    field,
                    key,
                    f"unknown {kind}",
                    f"{suggest(key, known)}use a {kind} key defined in {kind}s.toml",
                )


def _parse_smtp(value: Any, file: str) -> SmtpSettings:
    if not isinstance(value, Mapping):
        raise ConfigError(file, "smtp", value, "write [smtp] with host = ...", "expected a table")
    check_unknown(value, _SMTP_FIELDS, file, "smtp", "[smtp]")
    c = _Checker(file, "smtp")
    security = c.choice(value, "security", SECURITY, "starttls")
    default_port = {"starttls": 587, "ssl": 465, "none": 25}[security]
    port = c.number(value, "port", default_port, 1)
    if not isinstance(port, int) or port > 65535:
        raise c.err("port", port, "expected a port number 1-65535", f"write port = {default_port}")
    username = c.optional_string(value, "username", '"marsad@example.org"')
    password_env = c.env_name(value, "password_env")
    if username and not password_env:
        raise c.err(
            "password_env",
            MISSING,
            "a username needs a password",
            'write password_env = "MARSAD_SMTP_PASSWORD" (the variable name, not the password)',
        )
    sender = c.string(value, "sender", '"Marsad <marsad@example.org>"')
    if "@" not in parseaddr(sender)[1]:
        raise c.err("sender", sender, "not an email address", 'write "Marsad <alerts@example.org>"')
    ca_file = c.optional_string(value, "ca_file", '"/etc/marsad/smtp-ca.pem"')
    if ca_file is not None and security == "none":
        raise c.err(
            "ca_file",
            ca_file,
            'a CA file needs TLS, and security = "none" sends in clear',
            'set security = "starttls" or "ssl", or remove ca_file',
        )
    return SmtpSettings(
        host=c.string(value, "host", '"smtp.example.org"'),
        port=port,
        security=security,
        username=username,
        password_env=password_env,
        sender=sender,
        timeout=float(c.number(value, "timeout", 30, 1)),
        ca_file=str(Path(ca_file).expanduser()) if ca_file is not None else None,
    )


def _check_apprise_url(c: _Checker, url: str) -> None:
    """*url* as apprise itself parses it: an unknown scheme or a URL its service cannot use is
    a config error at load time, not a failure at the first send. Apprise loads here, not when
    crawler.config is imported (it takes a tenth of a second)."""
    import apprise
    from apprise.manager_plugins import NotificationManager

    scheme = url.split("://", 1)[0].lower()
    shown = f"{scheme}://…"  # the rest may hold tokens
    # loading apprise's plugins imports the deprecated stdlib ``imghdr`` (its e-mail plugin):
    # tolerated, as in crawler.digest.channels (tests run warnings-as-errors)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
        schemes = NotificationManager().schemas()
    if scheme not in schemes:
        raise c.err(
            "url",
            shown,
            f"unknown apprise scheme {scheme!r}",
            f"{suggest(scheme, sorted(schemes))}use a scheme from "
            "https://github.com/caronc/apprise/wiki (json://host/path, tgram://TOKEN/CHAT, ...)",
        )
    quiet = logging.getLogger("apprise")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # apprise logs its own ERROR line for a URL it refuses
    try:
        service = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    finally:
        quiet.setLevel(level)
    if service is None:
        raise c.err(
            "url",
            shown,
            f"apprise cannot parse this {scheme}:// URL",
            f"write it as the {scheme}:// page of https://github.com/caronc/apprise/wiki shows",
        )


def _parse_channel(name: str, value: Any, file: str, prefix: str) -> Channel:
    key = f"{prefix}.{name}"
    if not isinstance(value, Mapping):
        raise ConfigError(
            file, key, value, f'write [{key}] with type = "email"', "expected a table"
        )
    c = _Checker(file, key)
    kind = c.choice(value, "type", CHANNEL_TYPES, MISSING)
    check_unknown(value, _CHANNEL_FIELDS[kind], file, key, f"a {kind} channel")
    if kind == "email":
        to = c.strings(value, "to", '["desk@example.org"]')
        bcc = c.strings(value, "bcc", '["archive@example.org"]')
        if not to and not bcc:
            raise c.err(
                "to", MISSING, "an email channel needs recipients", 'write to = ["a@b.org"]'
            )
        for field, addresses in (("to", to), ("bcc", bcc)):
            for address in addresses:
                if "@" not in parseaddr(address)[1]:
                    raise c.err(field, address, "not an email address", "write name@example.org")
        return Channel(name=name, type=kind, to=to, bcc=bcc)
    if kind == "apprise":
        url = c.optional_string(value, "url", '"json://127.0.0.1:8080/hook"')
        url_env = c.env_name(value, "url_env")
        if bool(url) == bool(url_env):
            raise c.err(
                "url",
                url if url else MISSING,
                "set exactly one of url and url_env",
                'write url = "tgram://TOKEN/CHAT" or, to keep tokens out of the file, '
                'url_env = "MARSAD_TELEGRAM_URL"',
            )
        if url and "://" not in url:
            raise c.err("url", url, "not an apprise URL", 'write e.g. "slack://T/B/C"')
        if url:
            _check_apprise_url(c, url)
        fmt = c.choice(value, "format", APPRISE_FORMATS, "markdown")
        return Channel(name=name, type=kind, url=url, url_env=url_env, format=fmt)
    path = c.string(value, "path", '"digests/{rule}-{date}.html"')
    try:
        path.format(rule="r", date="d", time="t")
    except (KeyError, IndexError, ValueError) as exc:
        raise c.err(
            "path", path, f"bad placeholder ({exc})", "use only {rule}, {date} and {time}"
        ) from None
    fmt = c.choice(value, "format", FILE_FORMATS, "html")
    return Channel(name=name, type=kind, path=path, format=fmt)


def _parse_schedule(
    c: _Checker, table: Mapping[str, Any], timezone: str
) -> tuple[str, Schedule | None]:
    """The schedule as written (normalised) and parsed (None for "immediate")."""
    value = table.get("schedule", MISSING)
    fix = f'write schedule = "0 7 * * *" (crontab: minute hour day month weekday) or "{IMMEDIATE}"'
    if not isinstance(value, str) or not value.strip():
        raise c.err("schedule", value, "expected a cron string or 'immediate'", fix)
    expr = " ".join(value.split())
    if expr == IMMEDIATE:
        return expr, None
    if len(expr.split()) != 5:
        raise c.err("schedule", value, f"expected 5 fields, got {len(expr.split())}", fix)
    try:
        return expr, Schedule.crontab(expr, timezone)
    except ValueError as exc:
        raise c.err("schedule", value, f"invalid cron expression ({exc})", fix) from None


def _parse_subject(c: _Checker, table: Mapping[str, Any]) -> str:
    subject = c.string(table, "subject", f'"{DEFAULT_SUBJECT}"', default=DEFAULT_SUBJECT)
    sample = dict.fromkeys(SUBJECT_VARIABLES, "x")
    try:
        render_subject(subject, sample)
    except Exception as exc:
        raise c.err(
            "subject",
            subject,
            f"invalid subject template ({exc})",
            f"use Jinja2 syntax with the variables {', '.join(SUBJECT_VARIABLES)}, "
            'e.g. subject = "Marsad: {{ rule }} ({{ count }})"',
        ) from None
    return subject


def _parse_rule(
    key: str, value: Any, file: str, topics: Sequence[str] | None, sources: Sequence[str] | None
) -> Rule:
    prefix = f"rules.{key}"
    if not _KEY_RE.match(key):
        raise ConfigError(
            file, prefix, key, "use lowercase letters, digits, '-' and '_'", "invalid rule key"
        )
    if not isinstance(value, Mapping):
        raise ConfigError(file, prefix, value, f"write [{prefix}] as a table", "expected a table")
    check_unknown(value, _RULE_FIELDS, file, prefix, "a rule")
    c = _Checker(file, prefix)
    rule_topics = c.strings(value, "topics", '["morocco-israel"]')
    query = _parse_query(c, value)
    if not rule_topics and query is None:
        raise c.err(
            "topics",
            value.get("topics", MISSING),
            "a rule needs topics or a query",
            'list topics = ["israel"], or write a full-text query = \'"مذكرة تفاهم" AND المغرب\'',
        )
    c.known("topics", rule_topics, topics, "topic")
    for field in ("match", "min_score"):
        if field in value and not rule_topics:
            raise c.err(
                field,
                value[field],
                f"{field} applies to topics and this rule has none (its query selects alone)",
                f"remove {field}, or add topics = [...] for it to apply to",
            )
    include, exclude = (
        c.strings(value, f, '["hespress-ar"]') for f in ("sources", "exclude_sources")
    )
    c.known("sources", include, sources, "source")
    c.known("exclude_sources", exclude, sources, "source")
    timezone = c.string(value, "timezone", '"Africa/Casablanca"', default="UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise c.err(
            "timezone", timezone, "unknown time zone", 'use an IANA name such as "Africa/Tunis"'
        ) from None
    lookback_text = c.string(value, "lookback", '"1d"', default="1d")
    try:
        lookback = parse_interval(lookback_text)
    except ValueError:
        raise c.err(
            "lookback", lookback_text, "not a duration", 'write e.g. "12h" or "2d"'
        ) from None
    channels_table = value.get("channels", MISSING)
    if not isinstance(channels_table, Mapping) or not channels_table:
        raise c.err(
            "channels",
            channels_table,
            "a rule needs at least one channel",
            f'add [{prefix}.channels.desk] with type = "email" and to = [...]',
        )
    channels = tuple(
        _parse_channel(name, ch, file, f"{prefix}.channels") for name, ch in channels_table.items()
    )
    for ch in channels:
        if not _KEY_RE.match(ch.name):
            raise c.err(f"channels.{ch.name}", ch.name, "invalid channel name", "use a-z, 0-9, -")
    max_items = c.number(value, "max_items", 100, 1)
    if not isinstance(max_items, int):
        raise c.err("max_items", max_items, "expected a whole number", "write max_items = 100")
    # checked in this order, so a file with several mistakes reports the same one first
    name = c.string(value, "name", '"Morocco – Israel"', default=key)
    enabled = c.boolean(value, "enabled", True)
    match = c.choice(value, "match", ("any", "all"), "any")
    min_score = float(c.number(value, "min_score", 0.0, 0.0))
    languages = c.languages(value, "languages")
    exclude_languages = c.languages(value, "exclude_languages")
    schedule, timing = _parse_schedule(c, value, timezone)
    return Rule(
        key=key,
        name=name,
        enabled=enabled,
        topics=rule_topics,
        match=match,
        min_score=min_score,
        sources=include,
        exclude_sources=exclude,
        languages=languages,
        exclude_languages=exclude_languages,
        schedule=schedule,
        timezone=timezone,
        subject=_parse_subject(c, value),
        lookback=lookback,
        max_items=max_items,
        send_empty=c.boolean(value, "send_empty", False),
        lang=c.choice(value, "lang", UI_LANGS, "en"),
        channels=channels,
        timing=timing,
        query=query,
    )


def _parse_query(c: _Checker, table: Mapping[str, Any]) -> str | None:
    """The rule's full-text ``query`` (stripped), parsed with the search language's own parser
    so a syntax error stops the load with its position, not the first digest run."""
    if "query" not in table:
        return None
    query = c.string(table, "query", "'\"مذكرة تفاهم\" AND (المغرب OR الرباط)'")
    from crawler.search.query import QuerySyntaxError, parse_query

    try:
        parse_query(query)
    except QuerySyntaxError as exc:
        raise c.err(
            "query",
            query,
            f"query syntax error at character {exc.position + 1}: {exc.message}",
            'write it as for `marsad search`: words, "phrases", AND, OR, NOT/-word, word*, '
            "(groups); check it with marsad search QUERY",
        ) from None
    return query


def parse_alerts(
    data: Mapping[str, Any],
    file: str = ALERTS_FILE,
    topics: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
) -> tuple[SmtpSettings | None, tuple[Rule, ...]]:
    """Validate parsed TOML; *topics*/*sources*, when given, are the keys rules may name."""
    check_unknown(data, _TOP_FIELDS, file, "", "alerts.toml")
    smtp = _parse_smtp(data["smtp"], file) if "smtp" in data else None
    rules_table = data.get("rules", {})
    if not isinstance(rules_table, Mapping):
        raise ConfigError(
            file, "rules", rules_table, "write [rules.<key>] tables", "expected a table"
        )
    rules = tuple(_parse_rule(k, v, file, topics, sources) for k, v in rules_table.items())
    health = parse_health(data, file)
    if smtp is None:
        email_channels = [
            *(f"rules.{r.key}.channels.{ch.name}" for r in rules for ch in r.channels
              if ch.type == "email"),
            *(f"health.channels.{ch.name}" for ch in health if ch.type == "email"),
        ]  # fmt: skip
        if email_channels:
            raise ConfigError(
                file,
                "smtp",
                MISSING,
                "add an [smtp] table with host, port, security and sender",
                problem=f"channel {email_channels[0]} sends email",
            )
    return smtp, rules


def parse_health(data: Mapping[str, Any], file: str = ALERTS_FILE) -> tuple[Channel, ...]:
    """``[health.channels.<name>]``: channels that receive source-health alerts."""
    value = data.get("health", {})
    if not isinstance(value, Mapping):
        raise ConfigError(file, "health", value, "write [health.channels.<name>] tables",
                          "expected a table")  # fmt: skip
    check_unknown(value, _HEALTH_FIELDS, file, "health", "[health]")
    channels = value.get("channels", {})
    if not isinstance(channels, Mapping):
        raise ConfigError(file, "health.channels", channels,
                          "write [health.channels.<name>] tables", "expected a table")  # fmt: skip
    return tuple(_parse_channel(k, v, file, "health.channels") for k, v in channels.items())


def load_alerts(directory: str | Path | None = None, config: Config | None = None) -> AlertsConfig:
    """Load ``alerts.toml`` from *directory* (a missing file means no rules).

    With *config*, rule topics and sources are checked against the loaded topics and sources.
    """
    resolved = resolve_config_dir(directory if directory is not None else
                                  (config.directory if config else None))  # fmt: skip
    path = resolved / ALERTS_FILE
    data = read_toml(path, required=False)
    if data is None:
        logger.info("%s not found: no alert rules", path)
        return AlertsConfig(file=path, smtp=None, rules=())
    topics = [t.key for t in config.topics] if config else None
    sources = [s.key for s in config.sources] if config else None
    smtp, rules = parse_alerts(data, display_path(path), topics, sources)
    health = parse_health(data, display_path(path))
    return AlertsConfig(file=path, smtp=smtp, rules=rules, health_channels=health)
