"""A large synthetic collection written straight into a migrated database, for the web page's
browser tests and benchmark: N articles in Arabic, French and English over the configured
sources, tagged topics with evidence, stories with copies across outlets, earlier versions,
and crawl runs per source and day.

    generate(engine, config, BulkSpec(articles=100_000))  ->  BulkSummary

Rows go in through SQLAlchemy Core in batches (the search index is kept by its triggers, as for
crawled articles), with ids assigned here so topics, stories and versions point at them without
a round trip: 100,000 articles take about a minute on SQLite. The text is made of word lists,
so it matches what the analysts' queries look for (Arabic clitic and hamza forms, French and
English plurals) without copying any publisher's page. A phrase is planted in a known number
of articles per language (``BulkSummary.planted``): what a search for it must count.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection, Engine

from crawler import db
from crawler.config import Config, Source
from crawler.config.topics import Topic
from crawler.text.normalize import normalize_text
from crawler.text.tokens import TOKEN_RE

logger = logging.getLogger(__name__)

LANGS = ("ar", "fr", "en")
#: planted in ``BulkSpec.planted_share`` of the articles of each language (and their copies)
PLANTED = {"ar": "مذكرة تفاهم", "fr": "protocole d'accord", "en": "memorandum of understanding"}
#: the hostile article's title and text: markup that must reach a page as text
HOSTILE_TITLE = '<script>alert("title")</script> مذكرة <img src=x onerror=alert(1)>'
HOSTILE_TEXT = (
    "نص فيه <script>alert('text')</script> و <img src=x onerror=alert(2)> "
    'و <a href="javascript:alert(3)">رابط</a> ثم مذكرة تفاهم بين الطرفين.'
)


def _vocabulary(words: str) -> tuple[str, ...]:
    return tuple(words.split())


_WORDS = {
    "ar": _vocabulary(
        "الحكومة وزير الخارجية البرلمان الاقتصاد المدينة الشركة المشروع التعاون الاتفاق الأمن "
        "الطاقة الماء الفلاحة التعليم الصحة الشباب الانتخابات الميزانية المستشفى الطريق "
        "القطار الميناء المطار السياحة الثقافة المهرجان الرياضة المنتخب الملعب الجامعة الطلبة "
        "الأساتذة الأسعار السوق التضخم البنك الاستثمار الصادرات الواردات المجلس الجماعة "
        "الإقليم الجهة القرار البلاغ الندوة اللقاء الزيارة الوفد الرئيس أعلن أكد قال أوضح "
        "أشار دعا قرر افتتح وقع ناقش استقبل شارك انطلق تواصل اليوم أمس الأسبوع الشهر السنة "
        "الجديد الأول الثاني الكبير الوطني الدولي المحلي بالمغرب للمغرب والمغرب بإسرائيل "
        "وإسرائيل الإسرائيلية الرباط والرباط بالرباط غزة وغزة مصر ومصر الجزائر تونس فرنسا "
        "إسبانيا أوروبا إفريقيا العالم المنطقة"
    ),
    "fr": _vocabulary(
        "gouvernement ministre affaires étrangères parlement économie ville entreprise projet "
        "coopération accord sécurité énergie eau agriculture éducation santé jeunes élections "
        "budget hôpital route train port aéroport tourisme culture festival sport équipe "
        "stade université étudiants enseignants prix marché inflation banque investissement "
        "exportations importations conseil commune province région décision communiqué "
        "rencontre visite délégation président annonce confirme déclare précise appelle "
        "décide inaugure signe discute reçoit participe lance poursuit aujourd'hui hier "
        "semaine mois année nouveau premier deuxième grand national international local Maroc "
        "Rabat Israël Gaza Égypte Algérie Tunisie France Espagne Europe Afrique monde armées "
        "crises politiques nationales régionales"
    ),
    "en": _vocabulary(
        "government minister foreign affairs parliament economy city company project "
        "cooperation agreement security energy water agriculture education health youth "
        "elections budget hospital road train port airport tourism culture festival sport "
        "team stadium university students teachers prices market inflation bank investment "
        "exports imports council province region decision statement meeting visit delegation "
        "president announces confirms says explains calls decides opens signs discusses "
        "receives joins launches continues today yesterday week month year new first second "
        "large national international local Morocco Rabat Israel Gaza Egypt Algeria Tunisia "
        "France Spain Europe Africa world policies crises armies"
    ),
}


@dataclass(frozen=True)
class BulkSpec:
    articles: int
    seed: int = 7
    end: datetime = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # the newest fetch time
    days: int = 60  # articles spread over this many days before *end*
    story_share: float = 0.15  # share of articles that open a story copied by other outlets
    topic_share: float = 0.3  # share of articles tagged with one or two topics
    version_share: float = 0.02  # share of articles with an earlier stored version
    planted_share: float = 0.03  # share of articles that carry the language's PLANTED phrase
    hostile: bool = True  # add one Arabic article whose title and text hold markup
    batch: int = 2000


@dataclass
class BulkSummary:
    articles: int = 0
    stories: int = 0
    copies: int = 0  # articles that belong to a story (every copy, the first included)
    versions: int = 0
    runs: int = 0
    planted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LANGS, 0))
    per_day: dict[str, int] = field(default_factory=dict)  # UTC day -> articles fetched
    hostile_id: int | None = None
    first_id: int = 0
    last_id: int = 0


class _Writer:
    """Buffers rows per table and writes them in batches, parents first."""

    ORDER = ("stories", "articles", "article_topics", "article_versions", "crawl_runs")

    def __init__(self, conn: Connection, batch: int) -> None:
        self.conn, self.batch = conn, batch
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in self.ORDER}

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows[table].append(row)
        if table == "articles" and len(self.rows[table]) >= self.batch:
            self.flush()

    def flush(self) -> None:
        for name in self.ORDER:
            if self.rows[name]:
                self.conn.execute(insert(db.Base.metadata.tables[name]), self.rows[name])
                self.rows[name] = []


def _sentence(rng: random.Random, lang: str, extra: Sequence[str] = ()) -> str:
    words = rng.choices(_WORDS[lang], k=rng.randint(8, 18))
    for phrase in extra:
        words.insert(rng.randrange(len(words) + 1), phrase)
    return " ".join(words) + "."


def _token_position(sentences: Sequence[str], at: int, phrase: str) -> int:
    """The index of the phrase's first token in the body ``"\\n".join(sentences)``, as the
    tagger's evidence ``position`` counts it (the article page places evidence with it)."""
    before = "\n".join(sentences[:at]) + ("\n" if at else "")
    # the inserted word itself, not the same letters inside another (إسرائيلية in الإسرائيلية)
    found = re.search(rf"(?:^| ){re.escape(phrase)}(?= |\.|$)", sentences[at])
    start = found.start() if found is not None else 0
    return len(TOKEN_RE.findall(before + sentences[at][:start]))


def _topic_phrases(topics: Sequence[Topic]) -> dict[str, dict[str, list[str]]]:
    """lang -> topic key -> the first terms of that topic in that language."""
    out: dict[str, dict[str, list[str]]] = {lang: {} for lang in LANGS}
    for topic in topics:
        for lang in LANGS:
            terms = [phrase.rstrip("*") for phrase in topic.terms.get(lang, ())[:3]]
            if terms:
                out[lang][topic.key] = terms
    return out


def _next_id(conn: Connection, column: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(column), 0))).scalar_one()) + 1


def generate(
    engine: Engine,
    config: Config,
    spec: BulkSpec,
    progress: Callable[[int], None] | None = None,
) -> BulkSummary:
    """Write *spec.articles* synthetic articles (plus their stories, topics, versions and crawl
    runs) for *config*'s sources into the migrated database of *engine*."""
    rng = random.Random(spec.seed)
    by_lang: dict[str, list[Source]] = {lang: [] for lang in LANGS}
    for source in config.sources:
        if source.lang in by_lang:
            by_lang[source.lang].append(source)
    langs = [lang for lang in LANGS if by_lang[lang]]
    if not langs:
        raise ValueError("the configuration has no source in ar, fr or en to write articles for")
    weights = [{"ar": 6, "fr": 2, "en": 2}[lang] for lang in langs]
    phrases = _topic_phrases(config.topics)
    summary = BulkSummary()
    start_time = spec.end - timedelta(days=spec.days)
    with engine.begin() as conn:
        article_id = summary.first_id = _next_id(conn, db.Article.id)
        story_id = _next_id(conn, db.Story.id)
        writer = _Writer(conn, spec.batch)

        def article(source: Source, title: str, body: str, fetched: datetime, **extra: Any) -> int:
            nonlocal article_id
            aid = article_id
            article_id += 1
            url = f"https://{source.domains[0] if source.domains else source.key}/bulk/{aid}"
            published = fetched - timedelta(minutes=rng.randint(5, 600))
            writer.add(
                "articles",
                {
                    "id": aid, "source": source.key, "url": url, "url_key": url[8:],
                    "url_hash": db.url_hash(url), "title": title, "text": body,
                    "title_norm": normalize_text(title), "text_norm": normalize_text(body),
                    "published_at": published, "published_offset": 60 if source.lang != "en"
                    else 0, "date_source": "meta", "language": source.lang,
                    "description": body[:160], "categories": [], "tags": [],
                    "content_hash": db.url_hash(body), "fetched_at": fetched,
                    "version": 1, "story_id": None,
                } | extra,
            )  # fmt: skip
            day = fetched.date().isoformat()
            summary.per_day[day] = summary.per_day.get(day, 0) + 1
            summary.articles += 1
            if progress is not None and summary.articles % 10_000 == 0:
                progress(summary.articles)
            return aid

        while summary.articles < spec.articles:
            lang = rng.choices(langs, weights)[0]
            fetched = start_time + timedelta(seconds=rng.randrange(spec.days * 86400))
            tagged: list[tuple[str, str]] = []
            if phrases[lang] and rng.random() < spec.topic_share:
                keys = sorted(phrases[lang])
                for topic in rng.sample(keys, k=min(len(keys), rng.choice((1, 2)))):
                    tagged.append((topic, rng.choice(phrases[lang][topic])))
            planted = rng.random() < spec.planted_share
            sentences = [_sentence(rng, lang) for _ in range(rng.randint(4, 10))]
            # one sentence of its own for each topic's evidence and for the planted phrase
            slots = rng.sample(range(len(sentences)), k=len(tagged) + 1)
            for (_topic, phrase), at in zip(tagged, slots, strict=False):
                sentences[at] = _sentence(rng, lang, [phrase])
            if planted:
                sentences[slots[-1]] = _sentence(rng, lang, [PLANTED[lang]])
            body = "\n".join(sentences)
            positions = [
                (topic, phrase, _token_position(sentences, at, phrase), sentences[at])
                for (topic, phrase), at in zip(tagged, slots, strict=False)
            ]
            title = " ".join(_sentence(rng, lang).split()[:9])
            if planted and rng.random() < 0.5:
                title = f"{PLANTED[lang]} {title}"
            copies = 1
            outlets = [rng.choice(by_lang[lang])]
            if rng.random() < spec.story_share and len(by_lang[lang]) > 1:
                others = [s for s in by_lang[lang] if s is not outlets[0]]
                outlets += rng.sample(others, k=min(len(others), rng.randint(1, 4)))
                copies = len(outlets)
            copies = min(copies, spec.articles - summary.articles)
            sid = story_id if copies > 1 else None
            if sid is not None:  # before its articles: they point at it
                story_id += 1
                summary.stories += 1
                summary.copies += copies
                writer.add("stories", {
                    "id": sid, "canonical_article_id": article_id, "article_count": copies,
                    "sources": [s.key for s in outlets[:copies]],
                    "first_published_at": fetched - timedelta(minutes=5), "created_at": fetched,
                    "updated_at": fetched + timedelta(hours=3),
                })  # fmt: skip
            ids = []
            for n, source in enumerate(outlets[:copies]):
                when = min(spec.end, fetched + timedelta(minutes=n * rng.randint(10, 180)))
                ids.append(article(source, title, body, when, story_id=sid))
                for topic, phrase, at, sentence in positions:
                    writer.add("article_topics", {
                        "article_id": ids[-1], "topic": topic, "score": 2.0 + len(phrase) % 3,
                        "evidence": [{"term": phrase, "field": "text", "position": at,
                                      "snippet": sentence[:200]}],
                    })  # fmt: skip
                if planted:
                    summary.planted[lang] += 1
            if rng.random() < spec.version_share:
                old = "\n".join(sentences[:-1]) or body
                writer.add("article_versions", {
                    "article_id": ids[0], "version": 1, "title": title, "text": old,
                    "content_hash": db.url_hash(old), "published_at": fetched,
                    "fetched_at": fetched - timedelta(hours=2),
                })  # fmt: skip
                summary.versions += 1
        if spec.hostile and "ar" in langs:
            summary.hostile_id = article(by_lang["ar"][0], HOSTILE_TITLE, HOSTILE_TEXT, spec.end)
            summary.planted["ar"] += 1
        summary.last_id = article_id - 1
        writer.flush()
        summary.runs = _crawl_runs(writer, config.sources, start_time, spec.days, rng)
        writer.flush()
        # later rows (the version bump) after their articles exist
        if summary.versions:
            conn.execute(
                text(
                    "UPDATE articles SET version = 2 WHERE id IN "
                    "(SELECT article_id FROM article_versions) AND id >= :first"
                ),
                {"first": summary.first_id},
            )
        if conn.dialect.name == "postgresql":
            for table in ("articles", "stories", "article_versions", "crawl_runs"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table}))"
                    )
                )
    return summary


def _crawl_runs(
    writer: _Writer, sources: Sequence[Source], start: datetime, days: int, rng: random.Random
) -> int:
    """One crawl run per source and day (a few failed), as the scheduler records them."""
    count = 0
    for source in sources:
        for day in range(days):
            began = start + timedelta(days=day, hours=rng.randint(0, 23))
            failed = rng.random() < 0.05
            writer.add("crawl_runs", {
                "source": source.key, "trigger": "scheduled", "scheduled_for": began,
                "started_at": began, "finished_at": began + timedelta(minutes=3),
                "outcome": "failed" if failed else "ok", "exit_code": 1 if failed else 0,
                "pages_fetched": rng.randint(20, 200), "articles_stored": rng.randint(0, 60),
                "errors_total": 3 if failed else 0,
                "errors": {"http_500": 3} if failed else {},
                "error_summary": "HTTP 500 from the feed" if failed else None,
            })  # fmt: skip
            count += 1
    return count
