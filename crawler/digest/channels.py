"""Deliver a rendered message through one channel: SMTP e-mail, an apprise URL, or a file.

:func:`send` is the one entry point, for alert digests (:mod:`crawler.digest`) and
source-health alerts (:mod:`crawler.schedule.notify`) alike. It either returns (the channel
accepted the message) or raises :class:`ChannelError` with a one-line reason; the digest turns
that into "sent" or "failed, items stay pending". Secrets (SMTP password, apprise URLs given
by ``url_env``) are read from the environment at send time and never logged.
"""

from __future__ import annotations

import hashlib
import logging
import os
import smtplib
import socket
import ssl
import tempfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from types import ModuleType

from crawler.config.alerts import Channel, SmtpSettings

logger = logging.getLogger(__name__)


class ChannelError(Exception):
    """The channel did not accept the digest; its items stay pending."""


@dataclass(frozen=True)
class Rendered:
    """One digest in every format a channel may need."""

    subject: str
    html: str
    text: str
    markdown: str
    json: str


def send(
    rendered: Rendered,
    channel: Channel,
    smtp: SmtpSettings | None,
    *,
    name: str,
    now: datetime,
    tz: tzinfo = UTC,
    batch: str | None = None,
) -> str:
    """Deliver *rendered* through *channel*; returns a note for the record ("" when none).

    *name* (the rule's key, or "health") and *now* in *tz* fill a file channel's ``{rule}``,
    ``{date}`` and ``{time}``. *batch* names what is sent (a digest's rule, channel and
    items): an e-mail's Message-ID is derived from it, so a re-send of the same batch after a
    lost acknowledgement carries the same Message-ID and the receiver can drop the copy.
    Raises :class:`ChannelError` when the channel refuses it.
    """
    if channel.type == "email":
        return _send_email(rendered, smtp, channel, now, batch)
    if channel.type == "apprise":
        return _send_apprise(rendered, channel)
    return _write_file(rendered, channel, name, now.astimezone(tz))


def _secret(name: str, what: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ChannelError(f"{what}: environment variable {name} is not set")
    return value


def message_id(sender: str, batch: str | None) -> str:
    """A Message-ID in *sender*'s domain: derived from *batch* (stable), or unique without one."""
    domain = sender.rpartition("@")[2].strip("> ") or None
    if batch is None:
        return make_msgid(domain=domain)
    digest = hashlib.sha256(batch.encode()).hexdigest()[:32]
    return f"<marsad.{digest}@{domain or socket.getfqdn()}>"


def build_email(
    rendered: Rendered, sender: str, channel: Channel, now: datetime, batch: str | None = None
) -> EmailMessage:
    """multipart/alternative: plain text first, HTML last (the part clients prefer)."""
    msg = EmailMessage()  # policy=default: non-ASCII headers are RFC 2047 encoded (UTF-8)
    msg["Subject"] = rendered.subject
    msg["From"] = sender
    if channel.to:
        msg["To"] = ", ".join(channel.to)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(sender, batch)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    return msg


def _tls_context(smtp: SmtpSettings) -> ssl.SSLContext:
    """A verifying client context: the system's CAs, or only those of ``[smtp] ca_file``."""
    if smtp.ca_file is None:
        return ssl.create_default_context()
    if not Path(smtp.ca_file).is_file():
        raise ChannelError(
            f"SMTP ca_file {smtp.ca_file}: no such file (point [smtp] ca_file at the PEM file "
            "of the CA that signed the server's certificate, or remove it to use the system's)"
        )
    try:
        return ssl.create_default_context(cafile=smtp.ca_file)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ChannelError(
            f"SMTP ca_file {smtp.ca_file}: cannot load CA certificates from it ({exc})"
        ) from exc


def _send_email(
    rendered: Rendered,
    smtp: SmtpSettings | None,
    channel: Channel,
    now: datetime,
    batch: str | None,
) -> str:
    if smtp is None:
        raise ChannelError("no [smtp] settings in alerts.toml")
    msg = build_email(rendered, smtp.sender, channel, now, batch)
    recipients = [*channel.to, *channel.bcc]
    password = _secret(smtp.password_env, "SMTP password") if smtp.password_env else None
    context = _tls_context(smtp) if smtp.security != "none" else None
    try:
        if smtp.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=smtp.timeout, context=context
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=context)
            if smtp.username and password is not None:
                client.login(smtp.username, password)
            refused = client.send_message(msg, to_addrs=recipients)
    except ssl.SSLCertVerificationError as exc:
        # Raised during the handshake, before any credentials or content went out.
        hint = (
            "if a private CA signed it, set [smtp] ca_file to that CA's PEM file"
            if smtp.ca_file is None
            else f"ca_file {smtp.ca_file} must hold the CA that signed it"
        )
        raise ChannelError(
            f"SMTP {smtp.host}:{smtp.port}: the server's TLS certificate is not trusted "
            f"({exc.verify_message}); {hint}"
        ) from exc
    except UnicodeEncodeError as exc:  # smtplib sends credentials as ASCII
        raise ChannelError(
            f"SMTP {smtp.host}:{smtp.port}: a login, password or address is not ASCII, which "
            "this SMTP exchange cannot carry; use ASCII credentials (e.g. an app password)"
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"SMTP {smtp.host}:{smtp.port}: {exc}") from exc
    if refused:
        # Some recipients accepted: the message is out, so it counts as sent (a retry would
        # duplicate it for the others); the refusals are recorded with the outcome.
        logger.warning("digest e-mail refused for %s", ", ".join(refused))
        return f"refused: {', '.join(sorted(refused))}"
    return ""


def _apprise() -> ModuleType:
    import apprise

    # apprise loads all its plugins on first use, and its e-mail plugin imports the stdlib
    # module ``imghdr``, deprecated since Python 3.11. Tolerated (tests run warnings-as-errors):
    # we do not use that plugin and the warning is apprise's to fix.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
        apprise.Apprise.instantiate("json://localhost")
    return apprise


def _send_apprise(rendered: Rendered, channel: Channel) -> str:
    apprise = _apprise()
    url = channel.url or _secret(channel.url_env or "", f"apprise URL of {channel.name}")
    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise ChannelError(f"apprise does not understand the URL of channel {channel.name}")
    body, body_format = {
        "markdown": (rendered.markdown, apprise.NotifyFormat.MARKDOWN),
        "html": (rendered.html, apprise.NotifyFormat.HTML),
        "text": (rendered.text, apprise.NotifyFormat.TEXT),
    }[channel.format]
    if not notifier.notify(title=rendered.subject, body=body, body_format=body_format):
        raise ChannelError(f"apprise channel {channel.name}: the service did not accept it")
    return ""


_FILE_BODY = {"html": "html", "markdown": "markdown", "json": "json"}


def _write_file(rendered: Rendered, channel: Channel, rule: str, now_local: datetime) -> str:
    """Write atomically (temporary file + rename); returns the path written."""
    assert channel.path is not None
    path = Path(
        channel.path.format(
            rule=rule, date=now_local.strftime("%Y-%m-%d"), time=now_local.strftime("%H%M%S")
        )
    ).expanduser()
    body = getattr(rendered, _FILE_BODY[channel.format])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
        ) as tmp:
            tmp.write(body)
        os.replace(tmp.name, path)
    except (OSError, KeyError, ValueError) as exc:
        raise ChannelError(f"file channel {channel.name}: {exc}") from exc
    return str(path)
