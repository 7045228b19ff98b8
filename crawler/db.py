"""Database models, engines and schema management (SQLite by default, PostgreSQL for scale)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import (
    DeclarativeBase,
    InstrumentedAttribute,
    Mapped,
    Session,
    mapped_column,
    relationship,
)

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

logger = logging.getLogger(__name__)

DEFAULT_DB_URL = "sqlite:///marsad.db"
DB_URL_ENV = "MARSAD_DB_URL"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def url_hash(key: str) -> str:
    """Fixed-width identity for a URL key, so the unique index stays small on every backend."""
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(Text)
    url_key: Mapped[str] = mapped_column(Text)
    url_hash: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    title_norm: Mapped[str] = mapped_column(Text)
    text_norm: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # the publisher's UTC offset in minutes at published_at (page or source timezone), if known
    published_offset: Mapped[int | None] = mapped_column(Integer)
    date_source: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    image: Mapped[str | None] = mapped_column(Text)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    content_hash: Mapped[str] = mapped_column(String(40), index=True)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    story_id: Mapped[int | None] = mapped_column(
        ForeignKey("stories.id", ondelete="SET NULL"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    topics: Mapped[list[ArticleTopic]] = relationship(
        back_populates="article", cascade="all, delete-orphan", lazy="selectin"
    )
    raw: Mapped[ArticleRaw | None] = relationship(
        back_populates="article", cascade="all, delete-orphan", lazy="select"
    )


class Story(Base):
    """Every stored copy of one article (syndicated wire, near-duplicate) belongs to a story.

    The canonical article is the earliest published copy. ``canonical_article_id`` carries no
    foreign key on purpose: articles already point here, and a cycle of foreign keys would
    complicate inserts and SQLite's batch migrations.
    """

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    canonical_article_id: Mapped[int | None] = mapped_column(Integer)
    first_published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    article_count: Mapped[int] = mapped_column(Integer, default=1)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)  # outlets, first seen first


class StoryBand(Base):
    """The near-duplicate index: one row per LSH band key, owned by the story that claimed it.

    The primary key is what keeps concurrent crawls from opening two stories for one wire:
    two writers claiming the same band key cannot both commit (see ``crawler/store.py``).
    """

    __tablename__ = "story_bands"

    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ArticleVersion(Base):
    """An earlier text of an article that was later fetched again with changed text."""

    __tablename__ = "article_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(40))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_offset: Mapped[int | None] = mapped_column(Integer)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("article_id", "version", name="uq_article_versions_article_id_version"),
    )


class ArticleUrl(Base):
    """Every URL key that led to a stored article (requested, redirected-to, canonical).

    Lets a later crawl skip an article before fetching it, whichever of its URLs it meets.
    """

    __tablename__ = "article_urls"

    url_hash: Mapped[str] = mapped_column(String(40), primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )


class ArticleTopic(Base):
    __tablename__ = "article_topics"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    article: Mapped[Article] = relationship(back_populates="topics")

    __table_args__ = (Index("ix_article_topics_topic", "topic"),)


class ArticleRaw(Base):
    """The page as fetched, compressed, so articles can be re-extracted later."""

    __tablename__ = "article_raw"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    compression: Mapped[str] = mapped_column(String(16))
    encoding: Mapped[str | None] = mapped_column(String(32))
    content_type: Mapped[str | None] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(LargeBinary)

    article: Mapped[Article] = relationship(back_populates="raw")


def resolve_db_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get(DB_URL_ENV) or DEFAULT_DB_URL


BACKENDS = ("sqlite", "postgresql")  # the search index has one adapter for each
URL_EXAMPLES = (
    "sqlite:///marsad.db (four slashes for an absolute path) or postgresql+psycopg://USER@HOST/DB"
)
# user:password@ in any URL, parsed or not (SQLAlchemy's own messages echo the whole URL)
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][\w+.-]*://[^\s:/@]*:)(?P<password>[^\s@/]*)@")


class UnusableDatabase(Exception):
    """A database that cannot be used as asked. ``str()`` says what failed (the URL with its
    password hidden) and the fix; *usage* marks a wrong ``--db`` or an unprepared database
    (exit 2), as opposed to a failure of the moment such as a server that is down (exit 1)."""

    def __init__(self, problem: str, fix: str, *, usage: bool = True) -> None:
        self.problem, self.fix, self.usage = problem, fix, usage
        super().__init__(f"{problem.rstrip('.')}.\nFix: {fix.rstrip('.')}.")


def hide_password(text: str) -> str:
    """*text* with the password of every ``scheme://user:password@`` in it replaced by ***."""
    return _URL_PASSWORD.sub(lambda m: m["head"] + ("***@" if m["password"] else "@"), text)


def url_passwords(url: str) -> list[str]:
    """The password of *url* as written and decoded, to scrub from any message."""
    found = [m["password"] for m in _URL_PASSWORD.finditer(url) if m["password"]]
    return [*found, *(unquote(p) for p in found if unquote(p) != p)]


def is_unreachable(exc: BaseException) -> bool:
    """The database cannot be reached or used right now (server down, connection lost), as
    opposed to a bad statement: worth waiting for, not a bug of ours."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def scrub(text: str, url: str) -> str:
    """*text* (a driver's message, say) with any URL password and *url*'s own password hidden."""
    text = hide_password(text)
    for password in url_passwords(url):
        text = text.replace(password, "***")
    return text


def safe_url(url: str) -> str:
    """A database URL with any password hidden (also when it does not parse)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return hide_password(url)


def parse_db_url(url: str) -> URL:
    """*url* parsed; a URL that does not parse, or names a backend Marsad cannot use, is an
    :class:`UnusableDatabase` naming it and the fix."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UnusableDatabase(
            f"invalid database URL {safe_url(url)!r}", f"write it as {URL_EXAMPLES}"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in BACKENDS:
        raise UnusableDatabase(
            f"unsupported database {backend!r} in {safe_url(url)}: Marsad stores into "
            "SQLite or PostgreSQL",
            f"use {URL_EXAMPLES}",
        )
    if backend == "sqlite" and (parsed.host or parsed.port):
        raise UnusableDatabase(
            f"invalid SQLite URL {safe_url(url)!r}: the path must follow three slashes",
            f"write sqlite:///{parsed.host}{'/' + parsed.database if parsed.database else ''}"
            " (relative) or sqlite:////absolute/path.db",
        )
    return parsed


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL; None for other backends, memory and ``file:`` URIs."""
    if url.get_backend_name() != "sqlite" or url.query.get("uri"):
        return None
    if not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser()


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets analysts query while a crawl writes; NORMAL is durable enough in WAL mode.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str | None = None, *, create: bool = True, revision: str = "heads") -> Engine:
    """An engine for *url*; with *create*, the SQLite folder is made and the schema brought to
    *revision* first (which creates a new database). Without it, nothing is checked or
    written: :func:`open_existing` is the safe way to open a database for use."""
    url = resolve_db_url(url)
    parsed = parse_db_url(url)
    path = sqlite_path(parsed)
    if path is not None and create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": 30})
            event.listen(engine, "connect", _set_sqlite_pragmas)
        else:
            engine = create_engine(parsed, pool_pre_ping=True)
    except ImportError as exc:
        driver = exc.name or parsed.get_driver_name()
        raise UnusableDatabase(
            f"the database driver {driver!r} for {safe_url(url)} is not installed",
            f"install it (pip install {driver}), or write postgresql+psycopg://... "
            "(psycopg 3 comes with Marsad)",
        ) from None
    if create:
        try:
            upgrade(engine, revision)
        except BaseException:
            engine.dispose()
            raise
    return engine


def open_existing(url: str | None = None) -> Engine:
    """An engine on an existing database whose schema is at head; checks, never writes.

    A missing SQLite file (its folder is not created), a database without Marsad's schema or
    with an older or unknown revision is an :class:`UnusableDatabase` saying to run
    ``marsad db upgrade``. Connection failures are SQLAlchemy's (see :func:`explain_error`).
    """
    url = resolve_db_url(url)
    path = sqlite_path(parse_db_url(url))
    if path is not None and not path.exists():
        raise UnusableDatabase(f"no database at {path}", "run `marsad db upgrade` or check --db")
    if path is not None and not path.is_file():
        raise UnusableDatabase(f"{path} is not a database file", "check --db")
    engine = make_engine(url, create=False)
    try:
        check_at_head(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def check_at_head(engine: Engine) -> None:
    """The schema of *engine*'s database is this Marsad's head, or :class:`UnusableDatabase`."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    where = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise UnusableDatabase(
            f"the database at {where} has no Marsad schema", "run `marsad db upgrade`"
        )
    if set(current.split(",")) <= set(_revision_ids(_script())):
        raise UnusableDatabase(
            f"the database at {where} is at revision {current}, this Marsad needs {head}",
            "run `marsad db upgrade`",
        )
    raise UnusableDatabase(
        f"the database at {where} is at revision {current}, unknown to this Marsad "
        f"(its latest is {head}): a newer Marsad wrote it",
        "upgrade Marsad, or check --db",
    )


def alembic_config(engine: Engine | None = None) -> Any:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def _revision_ids(script: ScriptDirectory) -> list[str]:
    """Every revision, newest first."""
    return [revision.revision for revision in script.walk_revisions()]


def head_revision() -> str:
    """The revision a database at head is at, as :func:`current_revision` writes it."""
    return ",".join(sorted(_script().get_heads()))


def check_revision(revision: str) -> None:
    """*revision* names a migration (or heads, head+1...), else :class:`UnusableDatabase`."""
    from alembic.util import CommandError

    script = _script()
    try:
        script.get_revisions(revision)
    except CommandError:
        known = ", ".join(reversed(_revision_ids(script)))
        raise UnusableDatabase(
            f"unknown revision {revision!r} for --revision",
            f"use --revision heads (the latest: {head_revision()}) or one of {known}",
        ) from None


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply Alembic migrations up to *revision* (creates a new database on first use)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return ",".join(sorted(heads)) or None


# what a driver's message says -> (problem, fix, usage); the first match wins
_DRIVER_MESSAGES: tuple[tuple[re.Pattern[str], str, str, bool], ...] = (
    (re.compile(r'database "(?P<name>[^"]+)" does not exist'),
     'the server at {url} has no database "{name}"',
     "create it (createdb {name}) and run `marsad db upgrade`, or check --db", True),
    (re.compile(r'role "(?P<name>[^"]+)" does not exist|password authentication failed'),
     "the server at {url} refused the login",
     "check the user and password in --db", True),
    (re.compile(r"file is not a database"),
     "{path} is not a SQLite database", "check --db", True),
    (re.compile(r"unable to open database file"),
     "cannot open the SQLite database {path}",
     "check that its folder exists and is writable, or check --db", False),
    (re.compile(r"readonly database|read-only"),
     "the database at {url} is read-only", "check the file's permissions, or check --db", False),
    (re.compile(r"disk is full|No space left on device|could not extend file"),
     "disk full: the database at {url} cannot grow", "free disk space, then run again", False),
    (re.compile(r"database is locked"),
     "the SQLite database {path} stayed locked by another process",
     "run again when the other command has finished", False),
    (re.compile(r"Connection refused|could not connect|connection failed|timeout expired|"
                r"could not translate host name|server closed the connection|"
                r"Name or service not known|Network is unreachable|No route to host"),
     "database server unreachable at {url}: {reason}",
     "start the server, or check the host and port in --db", False),
)  # fmt: skip


def explain_error(exc: DBAPIError, url: str) -> UnusableDatabase:
    """A driver error raised while using *url*, as what failed and its fix (password hidden)."""
    reason = str(exc.orig if exc.orig is not None else exc).strip().split("\n", 1)[0]
    reason = re.sub(r"^connection failed:\s*", "", reason)
    reason = re.sub(r"^connection to server at .*? failed:\s*", "", reason)
    reason = " ".join(reason.replace("FATAL:", "").split()) or type(exc).__name__
    reason = scrub(reason, url)
    try:
        path = sqlite_path(make_url(url))
    except ArgumentError:
        path = None
    for pattern, problem, fix, usage in _DRIVER_MESSAGES:
        found = pattern.search(reason)
        if found:
            values = {"url": safe_url(url), "path": path or safe_url(url), "reason": reason,
                      **found.groupdict()}  # fmt: skip
            return UnusableDatabase(problem.format(**values), fix.format(**values), usage=usage)
    return UnusableDatabase(
        f"database error at {safe_url(url)}: {reason}",
        "check the database (run with -vv for the details)",
        usage=False,
    )


def stored_values(
    session: Session, column: InstrumentedAttribute[Any], values: Sequence[str]
) -> set[str]:
    """Which of *values* some stored row has in *column* (one indexed look-up each, so checking
    a filter value costs milliseconds however large the database)."""
    return {
        value
        for value in values
        if session.scalar(select(column).where(column == value).limit(1)) is not None
    }


def stored_article_fetched(conn: Session | Connection, key: str) -> tuple[int, datetime] | None:
    """(article id, when it was last fetched, UTC) for a stored URL key, if any."""
    row = conn.execute(
        select(Article.id, Article.fetched_at)
        .join(ArticleUrl, ArticleUrl.article_id == Article.id)
        .where(ArticleUrl.url_hash == url_hash(key))
    ).first()
    if row is None:
        return None
    return row[0], as_utc(row[1])


def as_utc(value: datetime) -> datetime:
    """SQLite hands timezone-aware columns back naive (they were stored as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def publisher_time(published_at: datetime, offset: int | None) -> datetime:
    """The publisher's local time of a stored instant (``published_at`` is UTC,
    ``published_offset`` minutes east of UTC); UTC when the offset is unknown. Its first ten
    characters in ISO form are the publisher's day. Every output of a published date uses it."""
    instant = as_utc(published_at)
    if not offset:
        return instant
    return instant.astimezone(timezone(timedelta(minutes=offset)))


_engines: dict[str, Engine] = {}


def engine_for(url: str | None = None) -> Engine:
    """One shared engine per database URL in this process (schema brought up to date once)."""
    url = resolve_db_url(url)
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


class CrawlRun(Base):
    """One crawl of one source (scheduled, or a manual `marsad crawl`): when it was due, ran and
    ended, and how it went.

    A row is written as ``running`` when the crawl process starts and completed when it ends;
    the scheduler computes each source's next due time from these rows (see
    ``crawler/schedule/runs.py``), so a restart neither forgets nor repeats work.
    """

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(16))  # scheduled | overdue | first | manual
    scheduled_for: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(
        String(32), index=True
    )  # see schedule/runs.py: ok, missed, ...
    exit_code: Mapped[int | None] = mapped_column(Integer)
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    articles_stored: Mapped[int] = mapped_column(Integer, default=0)
    errors_total: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    error_summary: Mapped[str | None] = mapped_column(Text)
    scheduler: Mapped[str | None] = mapped_column(String(128))  # host:pid:nonce of the daemon
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)  # the crawl process

    __table_args__ = (Index("ix_crawl_runs_source_started_at", "source", "started_at"),)


# --------------------------------------------------------------------------- alert digests
# Appended by the digest work (migration 0005). See crawler/digest/__init__.py for the exactly-once
# protocol these three tables implement.


class DigestRun(Base):
    """One run of one alert rule (dry runs and previews are not recorded)."""

    __tablename__ = "digest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(64), index=True)
    trigger: Mapped[str] = mapped_column(String(16))  # manual | schedule | immediate
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    items: Mapped[int] = mapped_column(Integer, default=0)  # distinct articles/stories sent
    status: Mapped[str] = mapped_column(String(16))  # running | ok | partial | failed | empty

    channels: Mapped[list[DigestChannelResult]] = relationship(
        back_populates="run", cascade="all, delete-orphan", lazy="selectin"
    )


class DigestChannelResult(Base):
    """The outcome of one channel in one digest run."""

    __tablename__ = "digest_channel_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("digest_runs.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(64))
    channel_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # sent | empty | failed | busy
    items: Mapped[int] = mapped_column(Integer, default=0)
    #: after a sent/empty outcome: the next run of this rule+channel may start here (minus a
    #: safety overlap); earlier than window_end when max_items left items pending
    resume_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    run: Mapped[DigestRun] = relationship(back_populates="channels")


class DigestDelivery(Base):
    """An article delivered (or being delivered) by one rule through one channel.

    The unique key (rule, channel, article_id) is what makes delivery exactly-once: a row is
    inserted as ``claimed`` before sending, so two concurrent runs cannot both send one
    article, turned ``sent`` after the channel accepted it, or deleted when the channel failed.
    ``story_id`` (no foreign key: stories may be absent) makes a story count as delivered once
    any of its copies was.
    """

    __tablename__ = "digest_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(64))
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    story_id: Mapped[int | None] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("digest_runs.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))  # claimed | sent
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint(
            "rule", "channel", "article_id", name="uq_digest_deliveries_rule_channel_article"
        ),
        Index("ix_digest_deliveries_rule_channel_story", "rule", "channel", "story_id"),
    )
