"""Re-apply the current topics to stored articles, or preview what an edited topic would change.

Both walk the ``articles`` table in batches with keyset pagination on ``id`` (never loading
all rows) and open one short transaction per batch, so a crawl can keep writing meanwhile and
memory stays flat however many articles are stored.

* ``retag`` replaces each article's ``article_topics`` rows with the tags of the current
  topics and counts, per topic, the tags added, removed and kept.
* ``backtest`` writes nothing: for one topic it compares what the topic would tag now with what
  is stored, and keeps a small sample of the articles that would gain or lose the tag.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crawler.db import Article, ArticleTopic
from crawler.tagging import Tagger

__all__ = ["BacktestResult", "RetagResult", "backtest", "count_articles", "retag"]

DEFAULT_BATCH_SIZE = 500

Progress = Callable[[int], None]  # called with the number of articles just processed


def _article_date() -> Any:
    return func.coalesce(Article.published_at, Article.fetched_at)


def _filters(since: datetime | None) -> list[Any]:
    return [] if since is None else [_article_date() >= since]


def count_articles(engine: Engine, since: datetime | None = None) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count(Article.id)).where(*_filters(since))) or 0


@dataclass(frozen=True)
class _Row:
    id: int
    title: str
    text: str
    language: str | None


def _batches(
    session_factory: Callable[[], Session],
    since: datetime | None,
    batch_size: int,
) -> Iterator[tuple[Session, list[_Row]]]:
    """(session, rows) per batch; the caller commits or discards the session's transaction."""
    last_id = 0
    while True:
        with session_factory() as session:
            stmt = (
                select(Article.id, Article.title, Article.text, Article.language)
                .where(Article.id > last_id, *_filters(since))
                .order_by(Article.id)
                .limit(batch_size)
            )
            rows = [
                _Row(r.id, r.title or "", r.text or "", r.language) for r in session.execute(stmt)
            ]
            if not rows:
                return
            last_id = rows[-1].id
            yield session, rows


def _stored(session: Session, ids: Sequence[int], topic: str | None = None) -> dict[int, dict]:
    """article id -> {topic: (score, evidence)} of the stored tags."""
    stmt = select(
        ArticleTopic.article_id, ArticleTopic.topic, ArticleTopic.score, ArticleTopic.evidence
    ).where(ArticleTopic.article_id.in_(ids))
    if topic is not None:
        stmt = stmt.where(ArticleTopic.topic == topic)
    out: dict[int, dict] = {}
    for article_id, name, score, evidence in session.execute(stmt):
        out.setdefault(article_id, {})[name] = (score, evidence)
    return out


@dataclass
class RetagResult:
    articles: int = 0
    added: Counter[str] = field(default_factory=Counter)
    removed: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        topics = sorted(set(self.added) | set(self.removed) | set(self.kept))
        return {
            "articles": self.articles,
            "topics": {
                t: {"added": self.added[t], "removed": self.removed[t], "kept": self.kept[t]}
                for t in topics
            },
        }


def retag(
    engine: Engine,
    tagger: Tagger,
    since: datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> RetagResult:
    """Replace the stored tags of every article (published or fetched since ``since``)."""
    result = RetagResult()
    for session, rows in _batches(lambda: Session(engine), since, batch_size):
        ids = [row.id for row in rows]
        old = _stored(session, ids)
        new_rows: list[dict[str, Any]] = []
        for row in rows:
            before = old.get(row.id, {})
            tags = tagger.tag(row.title, row.text, row.language)
            after = {tag.topic for tag in tags}
            for tag in tags:
                (result.kept if tag.topic in before else result.added)[tag.topic] += 1
                new_rows.append({"article_id": row.id, **tag.stored()})
            result.removed.update(name for name in before if name not in after)
        session.execute(delete(ArticleTopic).where(ArticleTopic.article_id.in_(ids)))
        if new_rows:
            session.execute(insert(ArticleTopic), new_rows)
        session.commit()
        result.articles += len(rows)
        if progress is not None:
            progress(len(rows))
    return result


@dataclass(frozen=True)
class Change:
    article_id: int
    title: str
    score: float
    evidence: list[dict[str, Any]]  # new evidence for an added tag, stored one for a removed tag


@dataclass
class BacktestResult:
    topic: str
    articles: int = 0
    would_tag: int = 0
    stored: int = 0
    added: int = 0
    removed: int = 0
    unchanged: int = 0
    added_sample: list[Change] = field(default_factory=list)
    removed_sample: list[Change] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def backtest(
    engine: Engine,
    tagger: Tagger,
    topic: str,
    since: datetime | None = None,
    sample: int = 5,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> BacktestResult:
    """What ``topic`` as configured in ``tagger`` would tag, compared with the stored tags.

    Read-only. ``tagger`` should hold only this topic (cheaper); other topics are ignored.
    """
    result = BacktestResult(topic)
    for session, rows in _batches(lambda: Session(engine), since, batch_size):
        old = _stored(session, [row.id for row in rows], topic)
        session.rollback()
        for row in rows:
            stored = old.get(row.id, {}).get(topic)
            tag = next(
                (t for t in tagger.tag(row.title, row.text, row.language) if t.topic == topic), None
            )
            result.would_tag += tag is not None
            result.stored += stored is not None
            if tag is not None and stored is None:
                result.added += 1
                if len(result.added_sample) < sample:
                    result.added_sample.append(
                        Change(row.id, row.title, tag.score, tag.stored()["evidence"])
                    )
            elif tag is None and stored is not None:
                result.removed += 1
                if len(result.removed_sample) < sample:
                    result.removed_sample.append(
                        Change(row.id, row.title, stored[0], list(stored[1] or []))
                    )
            elif tag is not None:
                result.unchanged += 1  # tagged before and after
        result.articles += len(rows)
        if progress is not None:
            progress(len(rows))
    return result
