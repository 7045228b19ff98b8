"""Alert digests: pick the articles an alert rule matches, group them, deliver them exactly once.

Public surface::

    run_rule(engine, config, alerts, rule, now=None, trigger="manual", dry_run=False, since=None)
    run_due_rules(engine, config, now=None, after_crawl=False, alerts=None)   # for the scheduler
    preview(engine, config, alerts, rule, ...)                                  # nothing recorded

**What a rule matches.** Articles fetched in the window, tagged with the rule's topics (any or
all) at ``score >= min_score``, from the included and not excluded sources and languages. A rule
with a full-text ``query`` (the ``marsad search`` language, matched by ``crawler.search``'s
index) keeps only the articles the query matches; a query-only rule needs no topics, and its
items form one section named after the query.
Copies of one story (``articles.story_id``) become one item: the story's canonical article
when it passes the rule's source/language filters, otherwise the earliest matching copy, with
"carried by N outlets". Items are grouped under
their best-scoring topic, in the rule's topic order.

**Exactly once, per channel.** Delivery is tracked per (rule, channel, article) in
``digest_deliveries``; a story counts as delivered once any of its copies was. For each
channel of a rule, a run:

1. releases stale claims (rows still ``claimed`` after ``CLAIM_LEASE``: a run that died
   between sending and recording; those items are sent again, the one at-least-once window);
2. selects pending items: matches fetched since the channel's last successful run (minus
   ``OVERLAP`` for crawls that committed late; first run: ``rule.lookback``), minus delivered
   articles and stories, at most ``rule.max_items`` (the rest stay pending);
3. claims them: inserts ``claimed`` rows in one committed transaction. The unique key means a
   concurrent run (scheduler and a manual run) cannot claim them too -- it reports ``busy``;
4. sends; on success marks the rows ``sent``; on failure deletes them, so the items go out
   with the channel's next successful run (nothing lost, nothing repeated).

Channels are independent: a failing webhook does not make e-mail re-send, and the webhook's
next digest carries everything it missed. Each run is recorded in ``digest_runs`` with one
``digest_channel_results`` row per channel (status, items, error, where to resume).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, desc, null, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from crawler import db
from crawler.config import Config
from crawler.config.alerts import AlertsConfig, Channel, Rule, load_alerts
from crawler.config.subject import render_subject
from crawler.db import (
    Article,
    ArticleTopic,
    DigestChannelResult,
    DigestDelivery,
    DigestRun,
    Story,
)
from crawler.digest.channels import ChannelError, Rendered, send
from crawler.digest.render import (
    EXCERPT_CHARS,
    Digest,
    DigestItem,
    DigestSection,
    Segment,
    highlight,
    local_time,
    render_html,
    render_json,
    render_markdown,
    render_text,
    subject_context,
)
from crawler.search.index import index_for
from crawler.search.query import And, Node, Or, Phrase, Term, parse_query
from crawler.text.tokens import TOKEN_RE, term_keys, token_key

logger = logging.getLogger(__name__)

QUERY_SECTION = "query"  # the section key of a query-only rule's items
EXCERPT_LEAD = 60  # characters of context kept before a query's first hit in an excerpt

OVERLAP = timedelta(hours=1)  # re-read this much before the resume point (late commits)
CLAIM_LEASE = timedelta(minutes=30)  # a claim older than this belongs to a dead run
MISFIRE_GRACE = timedelta(hours=1)  # a never-run scheduled rule catches a fire this recent


@dataclass
class ChannelOutcome:
    channel: str
    type: str
    status: str  # sent | empty | failed | busy | dry-run
    items: int = 0
    articles: int = 0
    detail: str = ""  # error, refused recipients, file written


@dataclass
class RunResult:
    rule: str
    trigger: str
    run_id: int | None
    dry_run: bool
    outcomes: list[ChannelOutcome] = field(default_factory=list)
    digests: dict[str, Digest] = field(default_factory=dict)  # channel -> what was (to be) sent
    rendered: dict[str, Rendered] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(o.status != "failed" for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "trigger": self.trigger,
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "channels": [vars(o) for o in self.outcomes],
        }


@dataclass
class Selection:
    items: list[DigestItem]
    resume_from: datetime  # where the next run may start (earliest left-pending match)


# --------------------------------------------------------------------------- selection


def _safe_url(url: str) -> str:
    return url if urlsplit(url).scheme in ("http", "https") else "#"


def _passes(rule: Rule, source: str, language: str | None) -> bool:
    if rule.sources and source not in rule.sources:
        return False
    if source in rule.exclude_sources:
        return False
    if rule.languages and language not in rule.languages:
        return False
    return not (language and language in rule.exclude_languages)


def _matches(
    session: Session, rule: Rule, start: datetime | None, end: datetime
) -> dict[int, dict[str, float]]:
    """article id -> {topic: score} for the rule's topics, filters applied; with a query, only
    the articles it matches (a query-only rule: every match, with no topic scores)."""
    if rule.topics:
        query = (
            select(ArticleTopic.article_id, ArticleTopic.topic, ArticleTopic.score)
            .join(Article, Article.id == ArticleTopic.article_id)
            .where(ArticleTopic.topic.in_(rule.topics), ArticleTopic.score >= rule.min_score)
        )
    else:
        query = select(Article.id, null(), null())
    query = query.where(Article.fetched_at <= end)
    if rule.query is not None:
        # EXISTS per article of the window (the window is small, a query may match thousands)
        query = query.where(index_for(session).query(session, parse_query(rule.query)).probe())
    if start is not None:
        query = query.where(Article.fetched_at >= start)
    if rule.sources:
        query = query.where(Article.source.in_(rule.sources))
    if rule.exclude_sources:
        query = query.where(Article.source.not_in(rule.exclude_sources))
    if rule.languages:
        query = query.where(Article.language.in_(rule.languages))
    if rule.exclude_languages:
        query = query.where(
            Article.language.is_(None) | Article.language.not_in(rule.exclude_languages)
        )
    found: dict[int, dict[str, float]] = defaultdict(dict)
    for article_id, topic, score in session.execute(query):
        scores = found[article_id]  # a query-only match has no topic: an empty dict
        if topic is not None:
            scores[topic] = score
    if rule.match == "all":
        wanted = set(rule.topics)
        return {a: t for a, t in found.items() if wanted <= t.keys()}
    return dict(found)


def _chunks(values: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _delivered(
    session: Session, rule: Rule, channel: str, article_ids: list[int], story_ids: list[int]
) -> tuple[set[int], set[int]]:
    base = (DigestDelivery.rule == rule.key, DigestDelivery.channel == channel)
    articles: set[int] = set()
    stories: set[int] = set()
    for chunk in _chunks(article_ids):
        articles.update(
            session.scalars(select(DigestDelivery.article_id).where(*base).where(
                DigestDelivery.article_id.in_(chunk)))
        )  # fmt: skip
    for chunk in _chunks(story_ids):
        stories.update(
            session.scalars(select(DigestDelivery.story_id).where(*base).where(
                DigestDelivery.story_id.in_(chunk)))
        )  # fmt: skip
    return articles, stories


def select_items(
    session: Session,
    config: Config,
    rule: Rule,
    start: datetime | None,
    end: datetime,
    channel: str | None,
) -> Selection:
    """The items pending for *channel* (None: ignore deliveries), best first, at most max_items."""
    matches = _matches(session, rule, start, end)
    articles: dict[int, Article] = {}
    for chunk in _chunks(sorted(matches)):
        for article in session.scalars(select(Article).where(Article.id.in_(chunk))):
            articles[article.id] = article
    story_of = {a.id: a.story_id for a in articles.values()}
    if channel is not None:
        story_ids = sorted({s for s in story_of.values() if s is not None})
        done_articles, done_stories = _delivered(
            session, rule, channel, sorted(articles), story_ids
        )
        articles = {
            aid: a
            for aid, a in articles.items()
            if aid not in done_articles and story_of[aid] not in done_stories
        }
    groups: dict[tuple[str, int], list[Article]] = defaultdict(list)
    for article in articles.values():
        sid = story_of[article.id]
        groups[("s", sid) if sid is not None else ("a", article.id)].append(article)

    def rank(group: list[Article]) -> tuple[float, float]:
        best = max(max(matches[a.id].values(), default=0.0) for a in group)
        newest = max(db.as_utc(a.published_at or a.fetched_at).timestamp() for a in group)
        return (-best, -newest)

    ordered = sorted(groups.items(), key=lambda kv: (rank(kv[1]), kv[0]))
    kept, left = ordered[: rule.max_items], ordered[rule.max_items :]
    resume = min((db.as_utc(a.fetched_at) for _, group in left for a in group), default=end)
    items = _build_items(session, config, rule, kept, matches)
    return Selection(items=items, resume_from=resume)


def _build_items(
    session: Session,
    config: Config,
    rule: Rule,
    groups: list[tuple[tuple[str, int], list[Article]]],
    matches: dict[int, dict[str, float]],
) -> list[DigestItem]:
    stories: dict[int, Story] = {}
    story_ids = [key[1] for key, _ in groups if key[0] == "s"]
    for chunk in _chunks(story_ids):
        stories.update((s.id, s) for s in session.scalars(select(Story).where(Story.id.in_(chunk))))
    names = {s.key: s.name for s in config.sources}
    labels = {t.key: t.label for t in config.topics}
    tz = rule.tz
    items = []
    for (kind, _key), group in groups:
        group.sort(key=lambda a: (db.as_utc(a.published_at or a.fetched_at), a.id))
        story = stories.get(_key) if kind == "s" else None
        head = group[0]
        if story is not None and story.canonical_article_id:
            canonical = next((a for a in group if a.id == story.canonical_article_id), None)
            if canonical is None:
                candidate = session.get(Article, story.canonical_article_id)
                if candidate is not None and _passes(rule, candidate.source, candidate.language):
                    canonical = candidate
            head = canonical or head
        scores: dict[str, float] = {}
        for a in group:
            for topic, score in matches[a.id].items():
                scores[topic] = max(score, scores.get(topic, 0.0))
        topics = sorted(scores, key=lambda t: (-scores[t], rule.topics.index(t)))
        excerpt = (
            _excerpt(head, group, topics)
            if topics or rule.query is None
            else _query_excerpt(head, parse_query(rule.query))
        )
        outlet_keys = list(story.sources or []) if story is not None else []
        for a in [head, *group]:
            if a.source not in outlet_keys:
                outlet_keys.append(a.source)
        items.append(
            DigestItem(
                title=head.title,
                url=_safe_url(head.url),
                outlet=names.get(head.source, head.source),
                published=local_time(head.published_at or head.fetched_at, tz),
                lang=head.language,
                excerpt=excerpt,
                topics=[labels.get(t, t) for t in topics],
                outlets=[names.get(k, k) for k in outlet_keys],
                article_ids=[a.id for a in group],
                story_id=_key if kind == "s" else None,
                score=scores[topics[0]] if topics else 0.0,
            )
        )
    return items


def _excerpt(head: Article, group: list[Article], topics: list[str]) -> list[Segment]:
    """A text snippet from the evidence (head's first, else a copy's), terms highlighted."""
    wanted = set(topics)
    for article in [head, *group]:
        evidence = [
            ev for tag in article.topics if tag.topic in wanted for ev in (tag.evidence or [])
        ]
        terms = sorted({str(ev.get("term", "")) for ev in evidence if ev.get("term")})
        in_text = sorted(
            (ev for ev in evidence if ev.get("field") == "text" and ev.get("snippet")),
            key=lambda ev: ev.get("position", 0),
        )
        if in_text:
            return highlight(str(in_text[0]["snippet"]), terms)
        if article is head and terms:
            fallback = head.description or head.text or ""
            if fallback:
                return highlight(fallback, terms)
    return highlight(head.description or head.text or "", [])


def _query_parts(node: Node) -> list[list[str]]:
    """The words and phrases a query looks for (not the excluded ones), each as its words."""
    if isinstance(node, Term | Phrase):
        return [node.text.split()]
    if isinstance(node, And | Or):
        return [part for child in node.children for part in _query_parts(child)]
    return []  # NOT: what is excluded is not in the text


def _query_excerpt(head: Article, node: Node) -> list[Segment]:
    """The text around where the query matched, its words marked: the first place one of its
    phrases occurs (the most telling part of a query), else one of its words, else the start."""
    text = head.text or head.description or ""
    parts = _query_parts(node)
    words = [word for part in parts for word in part]
    tokens = list(TOKEN_RE.finditer(text))
    token_keys = [token_key(t.group()) for t in tokens]

    def hit(key: str, wanted: set[str]) -> bool:
        return key in wanted or any(len(k) >= 3 and k in key for k in wanted)

    # longest parts first: a phrase of the query before its single words
    for part in sorted(parts, key=len, reverse=True):
        wanted = [set(term_keys(word)) for word in part]
        for i in range(len(tokens) - len(part) + 1):
            if all(hit(token_keys[i + j], keys) for j, keys in enumerate(wanted)):
                start = text.rfind(" ", 0, max(0, tokens[i].start() - EXCERPT_LEAD)) + 1
                shown = text[start : start + 2 * EXCERPT_CHARS]
                return highlight(("… " if start else "") + shown, words)
    return highlight(text, words)


# --------------------------------------------------------------------------- running


def build_digest(config: Config, rule: Rule, items: list[DigestItem], now: datetime) -> Digest:
    labels = {t.key: t.label for t in config.topics}
    sections = {t: DigestSection(topic=t, label=labels.get(t, t)) for t in rule.topics}
    if not rule.topics:  # a query-only rule: one section, named after the query
        sections[QUERY_SECTION] = DigestSection(topic=QUERY_SECTION, label=rule.query or "")
    first = next(iter(sections.values()))
    by_label = {s.label: s for s in sections.values()}
    for item in items:
        by_label.get(item.topics[0] if item.topics else "", first).items.append(item)
    return Digest(
        rule=rule.key,
        name=rule.name,
        lang=rule.lang,
        generated=now.astimezone(rule.tz).strftime("%Y-%m-%d %H:%M"),
        timezone=rule.timezone,
        sections=list(sections.values()),
    )


def render_all(digest: Digest, rule: Rule) -> Rendered:
    return Rendered(
        subject=render_subject(rule.subject, subject_context(digest)),
        html=render_html(digest),
        text=render_text(digest),
        markdown=render_markdown(digest),
        json=render_json(digest),
    )


def _resume_point(session: Session, rule: Rule, channel: str) -> datetime | None:
    row = session.execute(
        select(DigestChannelResult.resume_from)
        .join(DigestRun, DigestRun.id == DigestChannelResult.run_id)
        .where(
            DigestRun.rule == rule.key,
            DigestChannelResult.channel == channel,
            DigestChannelResult.status.in_(("sent", "empty")),
        )
        .order_by(desc(DigestRun.started_at), desc(DigestRun.id))
        .limit(1)
    ).first()
    return db.as_utc(row[0]) if row and row[0] is not None else None


def _window_start(session: Session, rule: Rule, channel: str, now: datetime) -> datetime:
    resume = _resume_point(session, rule, channel)
    return resume - OVERLAP if resume is not None else now - rule.lookback


def _release_stale_claims(engine: Engine, rule: Rule, now: datetime) -> None:
    with engine.begin() as connection:
        stale = connection.execute(
            delete(DigestDelivery).where(
                DigestDelivery.rule == rule.key,
                DigestDelivery.status == "claimed",
                DigestDelivery.claimed_at < now - CLAIM_LEASE,
            )
        ).rowcount
    if stale:
        logger.warning(
            "rule %s: released %d stale delivery claims (a run died mid-send); "
            "they will be sent again",
            rule.key,
            stale,
        )


def batch_key(rule: str, channel: str, article_ids: Iterable[int]) -> str:
    """What one delivery sends: the same rule, channel and items name the same batch (a re-send
    of it after a lost acknowledgement keeps its Message-ID)."""
    return f"{rule}\n{channel}\n" + ",".join(map(str, sorted(article_ids)))


def _run_channel(
    engine: Engine,
    config: Config,
    alerts: AlertsConfig,
    rule: Rule,
    channel: Channel,
    run_id: int | None,
    now: datetime,
    since: datetime | None,
    result: RunResult,
) -> tuple[ChannelOutcome, datetime | None]:
    with Session(engine) as session:
        start = since if since is not None else _window_start(session, rule, channel.name, now)
        selection = select_items(session, config, rule, start, now, channel.name)
    items = selection.items
    outcome = ChannelOutcome(channel.name, channel.type, "empty", len(items))
    outcome.articles = sum(len(i.article_ids) for i in items)
    digest = build_digest(config, rule, items, now)
    result.digests[channel.name] = digest
    if not items and not (rule.send_empty and not rule.immediate):
        return outcome, selection.resume_from
    rendered = render_all(digest, rule)
    result.rendered[channel.name] = rendered
    if run_id is None:  # dry run
        outcome.status = "dry-run"
        return outcome, None
    story_of = {aid: item.story_id for item in items for aid in item.article_ids}
    try:
        with Session(engine) as session, session.begin():
            session.add_all(
                DigestDelivery(
                    rule=rule.key,
                    channel=channel.name,
                    article_id=aid,
                    story_id=sid,
                    run_id=run_id,
                    status="claimed",
                    claimed_at=now,
                )
                for aid, sid in story_of.items()
            )
    except IntegrityError:
        outcome.status, outcome.detail = "busy", "another run is delivering these items"
        logger.warning("rule %s channel %s: %s", rule.key, channel.name, outcome.detail)
        return outcome, None
    mine = (
        DigestDelivery.run_id == run_id,
        DigestDelivery.channel == channel.name,
        DigestDelivery.status == "claimed",
    )
    try:
        outcome.detail = send(
            rendered,
            channel,
            alerts.smtp,
            name=rule.key,
            now=now,
            tz=rule.tz,
            batch=batch_key(rule.key, channel.name, story_of),
        )
    except Exception as exc:  # any failure: release the claims, the items stay pending
        if not isinstance(exc, ChannelError):
            logger.exception("rule %s channel %s: unexpected error", rule.key, channel.name)
        with Session(engine) as session, session.begin():
            session.execute(delete(DigestDelivery).where(*mine))
        outcome.status, outcome.detail = "failed", str(exc)
        logger.warning("rule %s channel %s failed: %s", rule.key, channel.name, exc)
        return outcome, None
    with Session(engine) as session, session.begin():
        session.execute(
            update(DigestDelivery).where(*mine).values(status="sent", sent_at=db.utcnow())
        )
    outcome.status = "sent"
    logger.info("rule %s channel %s: sent %d items", rule.key, channel.name, len(items))
    return outcome, selection.resume_from


def run_rule(
    engine: Engine,
    config: Config,
    alerts: AlertsConfig,
    rule: Rule,
    now: datetime | None = None,
    trigger: str = "manual",
    dry_run: bool = False,
    since: datetime | None = None,
    channels: Sequence[str] | None = None,
) -> RunResult:
    """Deliver *rule*'s pending items through each of its channels (see the module docstring).

    With *dry_run* nothing is sent or recorded; *since* overrides the window start (items
    already delivered are still skipped); *channels* restricts the run to those names.
    """
    now = db.as_utc(now or db.utcnow())
    result = RunResult(rule=rule.key, trigger=trigger, run_id=None, dry_run=dry_run)
    run_id = None
    if not dry_run:
        _release_stale_claims(engine, rule, now)
        with Session(engine) as session, session.begin():
            run = DigestRun(rule=rule.key, trigger=trigger, started_at=now, window_end=now,
                            items=0, status="running")  # fmt: skip
            session.add(run)
            session.flush()
            run_id = result.run_id = run.id
    recorded = []
    for channel in rule.channels:
        if channels and channel.name not in channels:
            continue
        outcome, resume = _run_channel(
            engine, config, alerts, rule, channel, run_id, now, since, result
        )
        result.outcomes.append(outcome)
        recorded.append(
            DigestChannelResult(
                run_id=run_id,
                channel=channel.name,
                channel_type=channel.type,
                status=outcome.status,
                items=outcome.items,
                resume_from=resume if outcome.status in ("sent", "empty") else None,
                error=outcome.detail or None,
                finished_at=db.utcnow(),
            )
        )
    if run_id is not None:
        statuses = {o.status for o in result.outcomes}
        status = (
            "failed" if statuses and statuses <= {"failed", "busy"} and "failed" in statuses
            else "partial" if "failed" in statuses or "busy" in statuses
            else "ok" if "sent" in statuses
            else "empty"
        )  # fmt: skip
        with Session(engine) as session, session.begin():
            session.add_all(recorded)
            session.execute(
                update(DigestRun)
                .where(DigestRun.id == run_id)
                .values(
                    status=status,
                    finished_at=db.utcnow(),
                    items=max((o.items for o in result.outcomes if o.status == "sent"), default=0),
                )
            )
    return result


def preview(
    engine: Engine,
    config: Config,
    rule: Rule,
    now: datetime | None = None,
    since: datetime | None = None,
    channel: str | None = None,
) -> tuple[Digest, Rendered]:
    """Render what *rule* would send now (pending for *channel*, or everything matching in the
    window when *channel* is None); records nothing."""
    now = db.as_utc(now or db.utcnow())
    with Session(engine) as session:
        if since is None:
            since = _window_start(session, rule, channel, now) if channel else now - rule.lookback
        selection = select_items(session, config, rule, since, now, channel)
    digest = build_digest(config, rule, selection.items, now)
    return digest, render_all(digest, rule)


# --------------------------------------------------------------------------- scheduling


def recent_runs(session: Session, rule: str | None = None, limit: int = 20) -> list[DigestRun]:
    """The latest digest runs (of *rule*, or of every rule), newest first, with their channels."""
    query = select(DigestRun).order_by(DigestRun.started_at.desc(), DigestRun.id.desc())
    if rule:
        query = query.where(DigestRun.rule == rule)
    return list(session.scalars(query.options(selectinload(DigestRun.channels)).limit(limit)))


def is_due(session: Session, rule: Rule, now: datetime) -> bool:
    """True when a fire time of the rule's cron schedule passed since its last scheduled run
    (missed fires coalesce into one run; a never-run rule catches one within MISFIRE_GRACE)."""
    if rule.timing is None or not rule.enabled:  # "immediate" rules run after crawls instead
        return False
    last = session.scalar(
        select(DigestRun.started_at)
        .where(DigestRun.rule == rule.key, DigestRun.trigger == "schedule")
        .order_by(desc(DigestRun.started_at))
        .limit(1)
    )
    after = db.as_utc(last) + timedelta(seconds=1) if last else now - MISFIRE_GRACE
    fire = rule.timing.next_fire(after)
    return fire is not None and fire <= now


def run_due_rules(
    engine: Engine,
    config: Config,
    now: datetime | None = None,
    *,
    after_crawl: bool = False,
    alerts: AlertsConfig | None = None,
) -> list[RunResult]:
    """Run every enabled rule that is due at *now*; the scheduler's entry point.

    Call it periodically (e.g. every minute) for cron rules, and with ``after_crawl=True``
    right after a crawl finished to also run the ``schedule = "immediate"`` rules. Cheap when
    nothing is due; safe to call concurrently (claims make delivery exactly-once). *alerts*
    defaults to ``alerts.toml`` in ``config.directory``.
    """
    now = db.as_utc(now or db.utcnow())
    alerts = alerts if alerts is not None else load_alerts(config=config)
    results = []
    for rule in alerts.rules:
        if not rule.enabled:
            continue
        if rule.immediate:
            if after_crawl:
                results.append(run_rule(engine, config, alerts, rule, now, trigger="immediate"))
            continue
        with Session(engine) as session:
            due = is_due(session, rule, now)
        if due:
            results.append(run_rule(engine, config, alerts, rule, now, trigger="schedule"))
    return results
