"""Digest e-mail over TLS: a real aiosmtpd server on loopback with a throwaway certificate.

The client verifies the server as in production (``ssl.create_default_context``: chain and
host name); the test CA is trusted through the ``[smtp] ca_file`` setting, never by
monkeypatching. Covers STARTTLS on a plain port (AUTH refused before TLS), implicit TLS, and
an untrusted certificate: the channel fails before any password or content goes out, and its
items stay pending until a later run succeeds.
"""

from __future__ import annotations

import email
import ipaddress
import smtplib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email import policy
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from test_digest import NOW, _free_port, parts, seed, sent_articles

from crawler import db
from crawler.config import Config, ConfigError, load_config
from crawler.config.alerts import AlertsConfig, parse_alerts
from crawler.db import DigestDelivery
from crawler.digest import run_rule
from crawler.digest.channels import ChannelError, Rendered, send
from crawler.text.bidi import FSI, PDI

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config"
PASSWORD_ENV = "TEST_MARSAD_TLS_SMTP_PW"
PASSWORD = "s3cret-pw"


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Pki:
    ca: Path  # PEM of the CA that signed the server certificate
    other_ca: Path  # PEM of an unrelated CA
    cert: Path  # server certificate for 127.0.0.1 and smtp.marsad.test, not localhost
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    signs_certs = dict.fromkeys(
        ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
         "key_agreement", "encipher_only", "decipher_only"), False,
    ) | {"key_cert_sign": True, "crl_sign": True}  # fmt: skip
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(**signs_certs), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _server_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("marsad-test-smtp"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.DNSName("smtp.marsad.test"),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca_key, ca_cert = _ca("Marsad test CA")
    _, other_cert = _ca("Some other CA")
    key, cert = _server_cert(ca_key, ca_cert)
    paths = Pki(
        ca=directory / "ca.pem",
        other_ca=directory / "other-ca.pem",
        cert=directory / "server.pem",
        key=directory / "server.key",
    )
    paths.ca.write_bytes(_pem(ca_cert))
    paths.other_ca.write_bytes(_pem(other_cert))
    paths.cert.write_bytes(_pem(cert))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


# --------------------------------------------------------------------------- servers


def _encrypted(server) -> bool:  # type: ignore[no-untyped-def]
    """Whether the server's side of the connection is TLS (after STARTTLS or from the start;
    aiosmtpd's ``session.ssl`` is only set by STARTTLS)."""
    return server.transport.get_extra_info("ssl_object") is not None


class _Inbox:
    """Records each message with whether its connection was encrypted."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage, bool]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg, _encrypted(server)))
        return "250 OK"


class TlsServer:
    def __init__(self, mode: str, pki: Pki) -> None:
        self.mode = mode  # starttls | ssl
        self.inbox = _Inbox()
        self.logins: list[tuple[bytes, bytes, bool]] = []  # login, password, over TLS
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.cert, pki.key)
        if mode == "starttls":  # AUTH and MAIL refused until the client has upgraded
            tls = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
        else:  # TLS from the first byte; aiosmtpd's auth_require_tls only knows STARTTLS
            tls = {"ssl_context": context, "auth_require_tls": False}
        self.port = _free_port()
        self.controller = Controller(
            self.inbox,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate,
            **tls,
        )
        self.controller.start()

    def _authenticate(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        self.logins.append((auth_data.login, auth_data.password, _encrypted(server)))
        return AuthResult(success=auth_data.password == PASSWORD.encode())

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture(params=["starttls", "ssl"])
def server(request: pytest.FixtureRequest, pki: Pki) -> Iterator[TlsServer]:
    srv = TlsServer(request.param, pki)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(REPO_CONFIG)


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def alerts_for(server: TlsServer, ca_file: Path | str | None) -> AlertsConfig:
    smtp = {"host": "127.0.0.1", "port": server.port, "security": server.mode,
            "username": "marsad", "password_env": PASSWORD_ENV,
            "sender": "Marsad <marsad@example.org>", "timeout": 5}  # fmt: skip
    if ca_file is not None:
        smtp["ca_file"] = str(ca_file)
    data = {
        "smtp": smtp,
        "rules": {
            "desk": {
                "name": "مكتب الرباط — Défense",
                "topics": ["defense", "israel"],
                "schedule": "0 7 * * *",
                "timezone": "Africa/Casablanca",
                "subject": "مرصد · {{ rule }} · {{ count }} — {{ first_title }}",
                "channels": {"mail": {"type": "email", "to": ["desk@example.org"],
                                      "bcc": ["archive@example.org"]}},
            }
        },
    }  # fmt: skip
    settings, rules = parse_alerts(data, "alerts.toml")
    return AlertsConfig(file=Path("alerts.toml"), smtp=settings, rules=rules)


def deliveries(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(DigestDelivery)) or 0


# --------------------------------------------------------------------------- tests


def test_starttls_server_refuses_auth_and_mail_before_tls(pki: Pki) -> None:
    """The STARTTLS server really is strict, so a delivery to it proves the client upgraded."""
    srv = TlsServer("starttls", pki)
    try:
        with smtplib.SMTP("127.0.0.1", srv.port, timeout=5) as client:
            client.ehlo()
            assert client.has_extn("starttls") and not client.has_extn("auth")
            code, _ = client.docmd("AUTH", "PLAIN AG1hcnNhZABzM2NyZXQ=")
            assert code == 530
            code, _ = client.docmd("MAIL", "FROM:<marsad@example.org>")
            assert code == 530
        assert srv.logins == [] and srv.inbox.messages == []
    finally:
        srv.stop()


def test_digest_delivered_over_tls_with_private_ca(tmp_path, server, pki, config) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    seed(engine)
    alerts = alerts_for(server, pki.ca)
    assert alerts.smtp is not None and alerts.smtp.ca_file == str(pki.ca)
    result = run_rule(engine, config, alerts, alerts.rules[0], now=NOW)
    assert [(o.status, o.items, o.articles) for o in result.outcomes] == [("sent", 2, 4)]

    # Logged in over TLS with the password from the named variable; one encrypted delivery.
    assert server.logins == [(b"marsad", PASSWORD.encode(), True)]
    assert len(server.inbox.messages) == 1
    rcpt, msg, encrypted = server.inbox.messages[0]
    assert encrypted and rcpt == ["desk@example.org", "archive@example.org"]
    assert "archive@example.org" not in msg.as_string()  # Bcc is envelope-only

    raw_subject = msg.as_string().split("Subject:", 1)[1].split("\n", 1)[0]
    assert "=?utf-8?" in raw_subject.lower() and "مرصد" not in raw_subject
    subject = str(make_header(decode_header(msg["Subject"])))
    assert subject.startswith("مرصد · ")
    assert f"{FSI}مكتب الرباط — Défense{PDI}" in subject
    assert f"{FSI}المغرب وإسرائيل يوقعان اتفاقية دفاعية (AFP){PDI}" in subject

    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    html, text = parts(msg)
    assert html.count("المغرب وإسرائيل يوقعان اتفاقية دفاعية") == 1
    assert 'lang="ar" dir="rtl"' in html and ">الدفاع</mark>" in html
    assert "&lt;script&gt;" in html and "<script" not in html.lower()
    assert "• المغرب وإسرائيل يوقعان اتفاقية دفاعية (AFP)" in text and "<mark" not in text
    assert len(sent_articles(engine, "mail")) == 4
    engine.dispose()


@pytest.mark.parametrize("trust", ["system", "other-ca"])
def test_untrusted_certificate_fails_and_items_stay_pending(
    tmp_path, server, pki, config, trust
) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    seed(engine)
    ca_file = None if trust == "system" else pki.other_ca
    alerts = alerts_for(server, ca_file)
    rule = alerts.rules[0]

    failed = run_rule(engine, config, alerts, rule, now=NOW)
    assert [(o.status, o.items) for o in failed.outcomes] == [("failed", 2)]
    detail = failed.outcomes[0].detail
    assert f"SMTP 127.0.0.1:{server.port}: the server's TLS certificate is not trusted" in detail
    assert "certificate" in detail and "ca_file" in detail
    # Refused during the handshake: no password, no message, nothing recorded as sent.
    assert server.logins == [] and server.inbox.messages == []
    assert sent_articles(engine, "mail") == [] and deliveries(engine) == 0

    # Trusting the right CA, the next run delivers the pending items, once.
    fixed = replace(alerts, smtp=replace(alerts.smtp, ca_file=str(pki.ca)))  # type: ignore[arg-type]
    sent = run_rule(engine, config, fixed, rule, now=NOW + timedelta(minutes=5))
    assert [(o.status, o.items, o.articles) for o in sent.outcomes] == [("sent", 2, 4)]
    assert len(server.inbox.messages) == 1 and len(sent_articles(engine, "mail")) == 4
    engine.dispose()


def test_hostname_is_verified(server, pki) -> None:  # type: ignore[no-untyped-def]
    """The certificate names 127.0.0.1, not localhost: the same server reached as localhost
    is refused even though its CA is trusted."""
    alerts = alerts_for(server, pki.ca)
    smtp = replace(alerts.smtp, host="localhost")  # type: ignore[arg-type]
    rendered = Rendered(subject="مرصد", html="<p>x</p>", text="x", markdown="x", json="{}")
    with pytest.raises(ChannelError, match=r"not trusted \(Hostname mismatch"):
        send(rendered, alerts.rules[0].channels[0], smtp, name="desk", now=NOW)


def test_missing_or_bad_ca_file_is_a_clear_channel_error(tmp_path, server, pki) -> None:  # type: ignore[no-untyped-def]
    rendered = Rendered(subject="مرصد", html="<p>x</p>", text="x", markdown="x", json="{}")
    missing = tmp_path / "nope.pem"
    alerts = alerts_for(server, missing)
    channel = alerts.rules[0].channels[0]
    with pytest.raises(ChannelError, match=r"ca_file .*nope\.pem: no such file"):
        send(rendered, channel, alerts.smtp, name="desk", now=NOW)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n", encoding="utf-8")
    with pytest.raises(ChannelError, match=r"garbage\.pem: cannot load CA certificates"):
        send(rendered, channel, alerts_for(server, garbage).smtp, name="desk", now=NOW)
    assert server.logins == [] and server.inbox.messages == []


def test_ca_file_config() -> None:
    base = {"host": "h", "sender": "m@example.org"}
    smtp, _ = parse_alerts({"smtp": {**base, "ca_file": "~/ca.pem"}})
    assert smtp is not None and smtp.ca_file == str(Path.home() / "ca.pem")
    assert parse_alerts({"smtp": base})[0].ca_file is None  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="needs TLS") as info:
        parse_alerts({"smtp": {**base, "security": "none", "ca_file": "ca.pem"}}, "alerts.toml")
    assert info.value.key == "smtp.ca_file"
    with pytest.raises(ConfigError, match="non-empty string"):
        parse_alerts({"smtp": {**base, "ca_file": ""}})
    with pytest.raises(ConfigError, match="unknown key"):
        parse_alerts({"smtp": {**base, "cafile": "ca.pem"}})
