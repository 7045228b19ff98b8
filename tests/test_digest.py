"""Alert digests end to end: a real SMTP server and a real webhook on loopback."""

from __future__ import annotations

import email
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler import db
from crawler.cli import cli
from crawler.config import Config, load_config
from crawler.config.alerts import AlertsConfig, parse_alerts
from crawler.db import Article, ArticleTopic, DigestDelivery, DigestRun
from crawler.digest import preview, run_due_rules, run_rule
from crawler.text.bidi import FSI, PDI

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config"
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script> Défense & <b>sécurité</b>'


# --------------------------------------------------------------------------- servers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


class SmtpServer:
    def __init__(self) -> None:
        self.port = _free_port()
        self.inbox = _Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status = self.server.statuses.pop(0) if self.server.statuses else 200  # type: ignore[attr-defined]
        self.server.requests.append((status, json.loads(body)))  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.statuses = []  # type: ignore[attr-defined]
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


# --------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(REPO_CONFIG)


def add_article(
    session: Session,
    n: int,
    *,
    source: str,
    title: str,
    text: str,
    lang: str,
    topics: dict[str, tuple[float, list[dict]]],
    story_id: int | None = None,
    fetched: datetime = NOW - timedelta(hours=2),
) -> Article:
    url = f"https://{source}.example/a/{n}"
    article = Article(
        source=source, url=url, url_key=url, url_hash=db.url_hash(url), title=title, text=text,
        title_norm=title, text_norm=text, language=lang, content_hash=f"{n:040d}",
        published_at=fetched - timedelta(hours=1), fetched_at=fetched, categories=[], tags=[],
    )  # fmt: skip
    if story_id is not None:
        article.story_id = story_id
    session.add(article)
    session.flush()
    for topic, (score, evidence) in topics.items():
        session.add(
            ArticleTopic(article_id=article.id, topic=topic, score=score, evidence=evidence)
        )
    return article


def ev(term: str, snippet: str, field: str = "text", position: int = 3) -> dict:
    return {"term": term, "field": field, "position": position, "snippet": snippet}


def seed(engine, n0: int = 0, fetched: datetime = NOW - timedelta(hours=2)) -> None:  # type: ignore[no-untyped-def]
    """An Arabic wire carried by three outlets, a French article with a hostile title, and an
    article of another topic that no rule asks for."""
    with Session(engine) as s, s.begin():
        story = db.Story(canonical_article_id=None, article_count=3,
                         sources=["map-ar", "hespress-ar", "le360-ar"])  # fmt: skip
        s.add(story)
        s.flush()
        ar_text = "وقع المغرب وإسرائيل مذكرة تفاهم في مجال الدفاع والتعاون العسكري"
        ids = []
        for i, src in enumerate(["map-ar", "hespress-ar", "le360-ar"]):
            a = add_article(
                s, n0 + i, source=src, title="المغرب وإسرائيل يوقعان اتفاقية دفاعية (AFP)",
                text=ar_text, lang="ar", story_id=story.id, fetched=fetched,
                topics={"defense": (3.0, [ev("الدفاع", "مذكرة تفاهم في مجال الدفاع والتعاون")]),
                        "israel": (2.0, [ev("إسرائيل", "وقع المغرب وإسرائيل مذكرة")])},
            )  # fmt: skip
            ids.append(a.id)
        story.canonical_article_id = ids[0]
        add_article(
            s, n0 + 10, source="hespress-fr", title=HOSTILE, lang="fr", fetched=fetched,
            text="Le ministère de la Défense annonce <img src=x onerror=alert(1)> un accord.",
            topics={"defense": (2.5, [ev("défense", "ministère de la Défense annonce <img src=x>")])},
        )  # fmt: skip
        add_article(
            s, n0 + 20, source="hespress-en", title="Weather in Rabat", lang="en", text="Sunny.",
            fetched=fetched, topics={"morocco": (1.0, [])},
        )  # fmt: skip


def alerts_for(smtp_port: int | None = None, **channels: dict) -> AlertsConfig:
    data = {
        "rules": {
            "desk": {
                "name": "مكتب الرباط — Défense",
                "topics": ["defense", "israel"],
                "schedule": "0 7 * * *",
                "timezone": "Africa/Casablanca",
                "subject": "مرصد · {{ rule }} · {{ count }} — {{ first_title }}",
                "channels": channels or {"mail": {"type": "email", "to": ["desk@example.org"]}},
            }
        }
    }
    if smtp_port is not None:
        data["smtp"] = {"host": "127.0.0.1", "port": smtp_port, "security": "none",
                        "sender": "Marsad <marsad@example.org>", "timeout": 5}  # fmt: skip
    smtp, rules = parse_alerts(data, "alerts.toml")
    return AlertsConfig(file=Path("alerts.toml"), smtp=smtp, rules=rules)


def sent_articles(engine, channel: str) -> list[int]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return sorted(
            s.scalars(
                select(DigestDelivery.article_id).where(
                    DigestDelivery.channel == channel, DigestDelivery.status == "sent"
                )
            )
        )


def parts(msg: email.message.EmailMessage) -> tuple[str, str]:
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return html, text


# --------------------------------------------------------------------------- tests


def test_email_digest_groups_escapes_and_renders_rtl(tmp_path, smtp, config) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    seed(engine)
    alerts = alerts_for(smtp.port)
    result = run_rule(engine, config, alerts, alerts.rules[0], now=NOW)
    assert [(o.status, o.items, o.articles) for o in result.outcomes] == [("sent", 2, 4)]
    assert len(smtp.inbox.messages) == 1
    rcpt, msg = smtp.inbox.messages[0]
    assert rcpt == ["desk@example.org"]

    # The Arabic subject travels RFC 2047-encoded and decodes back, Arabic values isolated.
    raw_subject = msg.as_string().split("Subject:", 1)[1].split("\n", 1)[0]
    assert "=?utf-8?" in raw_subject.lower() and "مرصد" not in raw_subject
    subject = str(make_header(decode_header(msg["Subject"])))
    assert subject.startswith("مرصد · ")
    assert f"{FSI}مكتب الرباط — Défense{PDI}" in subject
    assert f"{FSI}المغرب وإسرائيل يوقعان اتفاقية دفاعية (AFP){PDI}" in subject
    assert msg.get_content_type() == "multipart/alternative"

    html, text = parts(msg)
    # One item per story: the canonical copy, carried by three outlets, grouped under Defense.
    assert html.count("المغرب وإسرائيل يوقعان اتفاقية دفاعية") == 1
    assert "https://map-ar.example/a/0" in html and "hespress-ar.example/a/1" not in html
    assert "Carried by 3 outlets" in html
    defense = html.index("Defense / الدفاع")
    assert defense < html.index("المغرب وإسرائيل يوقعان") and defense < html.index("Défense &amp;")
    assert "Israel / إسرائيل / Israël" in html  # the story's second topic, as a tag
    # Hostile content is escaped, never markup; no scripts at all.
    assert "<script" not in html.lower() and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x&gt;" in html
    # Arabic items are right-to-left with their language; matched terms highlighted.
    assert 'lang="ar" dir="rtl"' in html and 'lang="fr" dir="ltr"' in html
    assert "<mark" in html and ">الدفاع</mark>" in html and ">Défense</mark>" in html
    # Plain-text part: the same items, no markup.
    assert "• المغرب وإسرائيل يوقعان اتفاقية دفاعية (AFP)" in text
    assert HOSTILE in text and "Carried by 3 outlets" in text
    assert "<mark" not in text
    # Weather in Rabat: another topic, not in the digest.
    assert "Weather" not in html
    engine.dispose()


def test_smtp_down_then_up_delivers_every_item_exactly_once(db_url, smtp, config) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(db_url)
    seed(engine)
    alerts = alerts_for(smtp.port)
    rule = alerts.rules[0]

    smtp.stop()
    down = run_rule(engine, config, alerts, rule, now=NOW)
    assert [o.status for o in down.outcomes] == ["failed"]
    assert "Connection refused" in down.outcomes[0].detail or down.outcomes[0].detail
    assert sent_articles(engine, "mail") == []
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(DigestDelivery)) == 0

    # New matches arrive while the server is down; then it comes back.
    seed(engine, n0=100, fetched=NOW + timedelta(minutes=30))
    smtp.start()
    up = run_rule(engine, config, alerts, rule, now=NOW + timedelta(hours=1))
    assert [(o.status, o.items) for o in up.outcomes] == [("sent", 4)]
    again = run_rule(engine, config, alerts, rule, now=NOW + timedelta(hours=2))
    assert [(o.status, o.items) for o in again.outcomes] == [("empty", 0)]

    assert len(smtp.inbox.messages) == 1
    html, _ = parts(smtp.inbox.messages[0][1])
    assert html.count("المغرب وإسرائيل يوقعان اتفاقية دفاعية") == 2  # two stories
    assert html.count("Défense &amp;") == 2
    assert len(sent_articles(engine, "mail")) == 8
    with Session(engine) as s:
        runs = list(s.scalars(select(DigestRun).order_by(DigestRun.id)))
        assert [r.status for r in runs] == ["failed", "ok", "empty"]
        assert [[(c.channel, c.status, c.items) for c in r.channels] for r in runs] == [
            [("mail", "failed", 2)],
            [("mail", "sent", 4)],
            [("mail", "empty", 0)],
        ]
        assert runs[0].channels[0].error
    engine.dispose()


def test_webhook_500_then_success_and_channels_are_independent(
    db_url, smtp, webhook, config
) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(db_url)
    seed(engine)
    hook = f"json://127.0.0.1:{webhook.server_address[1]}/hook"
    alerts = alerts_for(
        smtp.port,
        mail={"type": "email", "to": ["desk@example.org"]},
        chat={"type": "apprise", "url": hook},
    )
    rule = alerts.rules[0]
    webhook.statuses[:] = [500]
    first = run_rule(engine, config, alerts, rule, now=NOW)
    assert {o.channel: o.status for o in first.outcomes} == {"mail": "sent", "chat": "failed"}
    assert len(sent_articles(engine, "mail")) == 4 and sent_articles(engine, "chat") == []

    second = run_rule(engine, config, alerts, rule, now=NOW + timedelta(minutes=5))
    assert {o.channel: (o.status, o.items) for o in second.outcomes} == {
        "mail": ("empty", 0),  # the webhook's retry does not re-send e-mail
        "chat": ("sent", 2),
    }
    third = run_rule(engine, config, alerts, rule, now=NOW + timedelta(minutes=10))
    assert {o.status for o in third.outcomes} == {"empty"}

    assert len(smtp.inbox.messages) == 1
    assert [status for status, _ in webhook.requests] == [500, 200]
    payload = webhook.requests[1][1]
    assert "مرصد" in payload["title"]
    body = payload["message"]
    assert body.count("المغرب وإسرائيل يوقعان اتفاقية دفاعية") == 1
    assert "\\<script\\>" in body and "<script>" not in body  # Markdown-escaped
    assert "**الدفاع**" in body
    engine.dispose()


def test_dry_run_and_preview_record_nothing(tmp_path, config) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    seed(engine)
    out = tmp_path / "out"
    alerts = alerts_for(
        file={"type": "file", "path": str(out / "{rule}-{date}.json"), "format": "json"}
    )
    rule = alerts.rules[0]
    dry = run_rule(engine, config, alerts, rule, now=NOW, dry_run=True)
    assert [(o.status, o.items) for o in dry.outcomes] == [("dry-run", 2)]
    digest, rendered = preview(engine, config, rule, now=NOW)
    assert len(digest.items) == 2 and "<mark" in rendered.html
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(DigestRun)) == 0
    assert not out.exists()

    sent = run_rule(engine, config, alerts, rule, now=NOW)
    assert [o.status for o in sent.outcomes] == ["sent"]
    data = json.loads((out / "desk-2026-11-20.json").read_text(encoding="utf-8"))
    items = [i for section in data["sections"] for i in section["items"]]
    assert {i["title"] for i in items} == {HOSTILE, "المغرب وإسرائيل يوقعان اتفاقية دفاعية (AFP)"}
    story = next(i for i in items if i["story_id"])
    assert [o.split(" ")[0] for o in story["outlets"]] == ["MAP", "Hespress", "Le360"]
    assert story["highlights"] == ["الدفاع"]
    engine.dispose()


def test_run_due_rules_follows_cron_and_immediate(tmp_path, config) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    seed(engine)
    data = {
        "rules": {
            "morning": {"topics": ["defense"], "schedule": "0 7 * * *", "timezone": "UTC",
                        "channels": {"f": {"type": "file", "path": str(tmp_path / "m-{time}.md"),
                                           "format": "markdown"}}},
            "now": {"topics": ["defense"], "schedule": "immediate",
                    "channels": {"f": {"type": "file", "path": str(tmp_path / "i-{time}.md"),
                                       "format": "markdown"}}},
        }
    }  # fmt: skip
    smtp, rules = parse_alerts(data)
    alerts = AlertsConfig(file=Path("alerts.toml"), smtp=smtp, rules=rules)
    at = datetime(2026, 11, 20, 7, 0, 30, tzinfo=UTC)
    got = run_due_rules(engine, config, at, alerts=alerts)
    assert [(r.rule, r.trigger) for r in got] == [("morning", "schedule")]
    assert run_due_rules(engine, config, at + timedelta(minutes=1), alerts=alerts) == []
    got = run_due_rules(engine, config, at + timedelta(minutes=2), after_crawl=True, alerts=alerts)
    assert [(r.rule, r.trigger, r.outcomes[0].items) for r in got] == [("now", "immediate", 2)]
    got = run_due_rules(engine, config, at + timedelta(days=1), alerts=alerts)
    assert [(r.rule, r.outcomes[0].status) for r in got] == [("morning", "empty")]
    engine.dispose()


def test_cli_digest_dry_run_and_preview(tmp_path, config) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = db.make_engine(url)
    seed(engine, fetched=datetime.now(UTC) - timedelta(hours=1))
    engine.dispose()
    cfg = tmp_path / "config"
    cfg.mkdir()
    for name in ("sources.toml", "topics.toml"):
        (cfg / name).write_text((REPO_CONFIG / name).read_text(encoding="utf-8"), encoding="utf-8")
    (cfg / "alerts.toml").write_text(
        '[rules.desk]\ntopics = ["defense"]\nschedule = "immediate"\n'
        f'[rules.desk.channels.f]\ntype = "file"\npath = "{tmp_path}/x.html"\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    base = ["--config", str(cfg), "--db", url, "digest"]
    res = runner.invoke(cli, [*base, "--dry-run"])
    assert res.exit_code == 0, res.output
    # the outlet's name holds Arabic, so the terminal line isolates it
    assert "desk\tf\tdry-run\t2 items" in res.output and f"[{FSI}MAP — Agence" in res.output
    res = runner.invoke(cli, [*base, "preview", "desk", "--out", str(tmp_path / "p.html")])
    assert res.exit_code == 0, res.output
    assert 'dir="rtl"' in (tmp_path / "p.html").read_text(encoding="utf-8")
    assert not (tmp_path / "x.html").exists()
    res = runner.invoke(cli, [*base, "desk"])
    assert res.exit_code == 0 and (tmp_path / "x.html").exists()
    res = runner.invoke(cli, [*base, "history"])
    assert "desk\tmanual\tok\tf=sent(2)" in res.output
    res = runner.invoke(cli, [*base, "nope"])
    assert res.exit_code == 2 and "unknown rule 'nope'" in res.output


def test_smtp_login_uses_the_password_from_the_named_variable(
    tmp_path, config, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from aiosmtpd.smtp import AuthResult

    seen: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    inbox = _Inbox()
    port = _free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
        auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    try:
        engine = db.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        seed(engine)
        data = {
            "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "username": "marsad",
                     "password_env": "TEST_MARSAD_SMTP_PW", "sender": "m@example.org"},
            "rules": {"r": {"topics": ["defense"], "schedule": "immediate",
                            "channels": {"m": {"type": "email", "to": ["a@example.org"]}}}},
        }  # fmt: skip
        smtp_settings, rules = parse_alerts(data)
        alerts = AlertsConfig(file=Path("alerts.toml"), smtp=smtp_settings, rules=rules)
        monkeypatch.delenv("TEST_MARSAD_SMTP_PW", raising=False)
        missing = run_rule(engine, config, alerts, rules[0], now=NOW)
        assert "TEST_MARSAD_SMTP_PW is not set" in missing.outcomes[0].detail
        monkeypatch.setenv("TEST_MARSAD_SMTP_PW", "s3cret")
        assert run_rule(engine, config, alerts, rules[0], now=NOW).outcomes[0].status == "sent"
        assert seen[-1] == (b"marsad", b"s3cret") and len(inbox.messages) == 1
        engine.dispose()
    finally:
        controller.stop()


class _LosesFirstAck(_Inbox):
    """Takes the first message, then drops the connection before acknowledging it."""

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        reply = await super().handle_DATA(server, session, envelope)
        if len(self.messages) == 1:
            server.transport.close()
        return reply


def test_a_resend_after_a_lost_acknowledgement_keeps_its_message_id(
    db_url: str, smtp: SmtpServer, config: Config
) -> None:
    smtp.stop()
    smtp.inbox = _LosesFirstAck()
    smtp.start()
    engine = db.make_engine(db_url)
    seed(engine)
    alerts = alerts_for(smtp.port)
    rule = alerts.rules[0]

    lost = run_rule(engine, config, alerts, rule, now=NOW)
    assert [o.status for o in lost.outcomes] == ["failed"]  # no acknowledgement: not sent
    resent = run_rule(engine, config, alerts, rule, now=NOW + timedelta(minutes=5))
    assert [(o.status, o.items) for o in resent.outcomes] == [("sent", 2)]
    first, second = (msg for _, msg in smtp.inbox.messages)
    assert first["Message-ID"] == second["Message-ID"]  # the receiver can drop the copy
    assert first["Message-ID"].endswith("@example.org>")

    # A new batch (new items) is a new message.
    seed(engine, n0=100, fetched=NOW + timedelta(minutes=30))
    later = run_rule(engine, config, alerts, rule, now=NOW + timedelta(hours=1))
    assert [(o.status, o.items) for o in later.outcomes] == [("sent", 2)]
    third = smtp.inbox.messages[2][1]
    assert third["Message-ID"] not in (first["Message-ID"], None)
    assert len({m["Message-ID"] for _, m in smtp.inbox.messages}) == 2
    engine.dispose()
