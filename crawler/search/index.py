"""The full-text index over articles, kept up to date by database triggers (no Python on write).

Both backends index the Arabic-normalised columns ``articles.title_norm`` / ``text_norm`` (see
``crawler.text.normalize.normalize_text``), so hamza, tashkeel, tatweel, case and accents are
already folded; clitics are handled when a query is expanded (``crawler.search.query``).

Everything that differs between the backends lives here, behind one adapter: ``index_for(bind)``
gives the backend's ``SearchIndex`` (DDL and lifecycle; ``among``, ``day``, ``read_index``,
``run_bounded``), and its ``query(session, node)`` an ``IndexQuery`` (``match``, ``rank``,
``newest_ids``, ``ranked``, ``probe``). ``crawler.search`` is written once over them.

* SQLite: ``article_search``, an FTS5 *external-content* table over ``articles`` (the index holds
  no second copy of the text), columns ``title_norm`` and ``text_norm``, tokenizer ``unicode61``,
  prefix indexes for 3..10 letters (clitic-expanded Arabic words are prefix queries);
  triggers ``article_search_ai/_ad/_au`` on ``articles`` insert, delete and update of the two
  columns.
* PostgreSQL: ``article_search(article_id, document tsvector, marks tsvector)``, filled by the
  trigger ``article_search_sync`` (insert, update of the two columns; deletes cascade).
  ``marsad_search_document(title, text)`` splits on the same separators as unicode61 (any
  non-letter, non-digit: punctuation, symbols, emoji) before the 'simple' configuration, so both
  backends see the same words; title words carry weight A, text words weight B. ``document``
  (positions, weights) is what ``ts_rank`` scores and long phrases are checked on; matching
  goes through a second column, ``marks`` = ``marsad_search_marks(document)``, the one with the
  GIN index: the words without positions, plus *marked* lexemes that spare a query most prefix
  alternatives and position re-checks, with the same matches
  (``crawler.search.query.compile_pg_match``): each Arabic word behind a clitic of
  ``crawler.text.tokens.AR_PREFIXES`` without it (``~stem``), and each pair of adjacent words of
  one field (``+first second``). Kept apart from ``document`` so that ranking reads no more
  than before. ``marsad db reindex`` (``rebuild``) adds the column to an older index,
  re-creates the functions and re-indexes every article.
* Both: ``ix_articles_search_when`` on ``coalesce(published_at, fetched_at)``, the date order of
  search results (an expression index, raw DDL left out of autogenerate like the tables).

SQLite "batch" migrations recreate ``articles`` and lose its triggers: ``ensure_triggers`` runs
after every migration (``crawler/migrations/env.py``) and puts them back.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import (
    ARRAY,
    Boolean,
    ColumnElement,
    Exists,
    Float,
    Integer,
    Select,
    String,
    Text,
    and_,
    bindparam,
    cast,
    column,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.engine import Connection, Engine, Row, RowMapping
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import CTE, ColumnClause, TableClause

from crawler.db import Article
from crawler.search.query import (
    BIGRAM_MARK,
    BIGRAM_MAX,
    MIN_STRIPPED,
    STRIPPED_MARK,
    Node,
    PgMatch,
    compile_fts5,
    compile_pg_match,
    compile_tsquery,
)
from crawler.text.tokens import AR_MAX_PREFIX, AR_PREFIXES

logger = logging.getLogger(__name__)

AnySelect: TypeAlias = Select[*tuple[Any, ...]]
AnyRow: TypeAlias = Row[*tuple[Any, ...]]

SEARCH_TABLE = "article_search"
#: The FTS5 table and its shadow tables: not models, left out of autogenerate comparisons.
SEARCH_TABLES = frozenset(
    {SEARCH_TABLE}
    | {f"{SEARCH_TABLE}_{suffix}" for suffix in ("data", "idx", "content", "docsize", "config")}
)

# ------------------------------------------------------------------ SQLite

#: Prefix lengths (in characters) FTS5 keeps a prefix index for. A bare Arabic word becomes one
#: prefix query per clitic (``اسرائيل*``, ``واسرائيل*``, ``الاسرائيل*`` ...): without an index of
#: that length FTS5 merges the doclists of every word under the prefix before returning a single
#: row (cost grows with the corpus); with one, the prefix is a single lazily read doclist, so
#: newest-first and LIMIT-ed plans stop early. 3..10 covers stems of 3+ letters behind clitics of
#: up to 4 letters (longer prefixes are rare words: small doclists, cheap to merge).
SQLITE_PREFIXES = "3 4 5 6 7 8 9 10"
#: bm25 column weights: a word in the title counts this many times a word in the text.
SQLITE_TITLE_WEIGHT = 4.0
SQLITE_TABLE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {SEARCH_TABLE} USING fts5("
    "title_norm, text_norm, content='articles', content_rowid='id', "
    f"tokenize='unicode61 remove_diacritics 2', prefix='{SQLITE_PREFIXES}')"
)
#: Articles newest first, the order of ``search --sort date``: the date plan walks this index and
#: probes the full-text index per article, stopping after LIMIT matches. Raw DDL (an expression
#: index), kept with the search index rather than in the model.
WHEN_INDEX = "ix_articles_search_when"
SQLITE_WHEN_INDEX = (
    f"CREATE INDEX IF NOT EXISTS {WHEN_INDEX} ON articles (coalesce(published_at, fetched_at))"
)
PG_WHEN_INDEX = (
    f"CREATE INDEX IF NOT EXISTS {WHEN_INDEX} "
    "ON articles ((coalesce(published_at, fetched_at)) DESC NULLS LAST, id DESC)"
)
SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER IF NOT EXISTS {SEARCH_TABLE}_ai AFTER INSERT ON articles BEGIN
  INSERT INTO {SEARCH_TABLE}(rowid, title_norm, text_norm)
  VALUES (new.id, new.title_norm, new.text_norm);
END""",
    f"""CREATE TRIGGER IF NOT EXISTS {SEARCH_TABLE}_ad AFTER DELETE ON articles BEGIN
  INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rowid, title_norm, text_norm)
  VALUES ('delete', old.id, old.title_norm, old.text_norm);
END""",
    f"""CREATE TRIGGER IF NOT EXISTS {SEARCH_TABLE}_au
AFTER UPDATE OF title_norm, text_norm ON articles BEGIN
  INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rowid, title_norm, text_norm)
  VALUES ('delete', old.id, old.title_norm, old.text_norm);
  INSERT INTO {SEARCH_TABLE}(rowid, title_norm, text_norm)
  VALUES (new.id, new.title_norm, new.text_norm);
END""",
)
SQLITE_TRIGGER_NAMES = tuple(f"{SEARCH_TABLE}_{s}" for s in ("ai", "ad", "au"))

# ------------------------------------------------------------------ PostgreSQL

# Everything unicode61 treats as a separator that PostgreSQL's parser might keep inside a word
# (in a "C" locale it takes every non-ASCII character for a letter): ASCII non-alphanumerics,
# Latin-1 punctuation and symbols, general punctuation, currency, arrows and other symbols,
# Arabic punctuation, CJK and full-width punctuation, emoji.
_SEPARATORS = (
    r"[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f\u0080-\u00bf\u00d7\u00f7"
    r"\u060c\u060d\u061b\u061e\u061f\u066a-\u066d\u06d4\u06dd\u06de\u06e9\ufd3e\ufd3f"
    r"\u2000-\u206f\u20a0-\u20cf\u2100-\u2bff\u2e00-\u2e7f\u3000-\u303f"
    r"\ufe10-\ufe6f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
    r"\U0001f000-\U0001faff]+"
)
# ~ and + are separators (never inside an indexed word), so marked lexemes cannot collide with
# words, and no query word or prefix without the marker reaches them (ts_rank is unchanged).
_PREFIX_ARRAY = "ARRAY[" + ", ".join(f"'{p}'" for p in sorted(AR_PREFIXES)) + "]::text[]"

PG_FUNCTIONS = (
    f"""CREATE OR REPLACE FUNCTION marsad_search_document(title text, body text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT setweight(to_tsvector('pg_catalog.simple'::regconfig,
           regexp_replace(coalesce(title, ''), '{_SEPARATORS}', ' ', 'g')), 'A')
      || setweight(to_tsvector('pg_catalog.simple'::regconfig,
           regexp_replace(coalesce(body, ''), '{_SEPARATORS}', ' ', 'g')), 'B')
$$""",
    f"""CREATE OR REPLACE FUNCTION marsad_search_marks(document tsvector)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  WITH words AS (
    SELECT u.lexeme, p.pos, p.weight
    FROM unnest(document) AS u, unnest(u.positions, u.weights) AS p(pos, weight)
  )
  SELECT strip(document)
      || array_to_tsvector(ARRAY(
           SELECT DISTINCT '{STRIPPED_MARK}' || substr(w.lexeme, k + 1)
           FROM unnest(tsvector_to_array(document)) AS w(lexeme),
                generate_series(1, {AR_MAX_PREFIX}) AS k
           WHERE left(w.lexeme, k) = ANY ({_PREFIX_ARRAY})
             AND char_length(w.lexeme) >= k + {MIN_STRIPPED}))
      || array_to_tsvector(ARRAY(
           SELECT DISTINCT left('{BIGRAM_MARK}' || a.lexeme || ' ' || b.lexeme, {BIGRAM_MAX})
           FROM words AS a JOIN words AS b ON b.pos = a.pos + 1 AND b.weight = a.weight))
$$""",
    f"""CREATE OR REPLACE FUNCTION marsad_article_search_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  doc tsvector := marsad_search_document(NEW.title_norm, NEW.text_norm);
BEGIN
  INSERT INTO {SEARCH_TABLE} (article_id, document, marks)
  VALUES (NEW.id, doc, marsad_search_marks(doc))
  ON CONFLICT (article_id) DO UPDATE SET document = EXCLUDED.document, marks = EXCLUDED.marks;
  RETURN NULL;
END
$$""",
)
PG_TABLE = (
    f"""CREATE TABLE IF NOT EXISTS {SEARCH_TABLE} (
  article_id integer NOT NULL,
  document tsvector NOT NULL,
  marks tsvector NOT NULL,
  CONSTRAINT pk_{SEARCH_TABLE} PRIMARY KEY (article_id),
  CONSTRAINT fk_{SEARCH_TABLE}_article_id_articles FOREIGN KEY (article_id)
    REFERENCES articles (id) ON DELETE CASCADE
)""",
    f"CREATE INDEX IF NOT EXISTS ix_{SEARCH_TABLE}_marks ON {SEARCH_TABLE} USING gin (marks)",
)
#: A database indexed before ``marks`` existed gets the column here (filled by ``rebuild``).
PG_MARKS_COLUMN = (
    f"ALTER TABLE {SEARCH_TABLE} ADD COLUMN IF NOT EXISTS marks tsvector NOT NULL DEFAULT ''"
)
PG_TRIGGER = f"""CREATE TRIGGER {SEARCH_TABLE}_sync
AFTER INSERT OR UPDATE OF title_norm, text_norm ON articles
FOR EACH ROW EXECUTE FUNCTION marsad_article_search_sync()"""


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic autogenerate hook: the search index is not a model (its tables are raw DDL)."""
    if type_ == "table" and name in SEARCH_TABLES:
        return False
    if type_ == "index" and name == WHEN_INDEX:
        return False
    table_ = getattr(obj, "table", None)
    return not (
        type_ in ("index", "column") and table_ is not None and table_.name in SEARCH_TABLES
    )


# ------------------------------------------------------------------ the adapter


class OverBudget(Exception):
    """A statement run with ``SearchIndex.run_bounded`` went over its time budget."""


class IndexQuery(ABC):
    """One parsed query against one backend's index: the SQL pieces search is written with.

    ``match`` selects the matching rows of ``index.table`` (joined to articles on
    ``index.key``); ``rank`` scores them, lower is better, and can be read only in a statement
    over the index table.
    """

    def __init__(self, index: SearchIndex, session: Session, node: Node) -> None:
        self.index = index
        self.session = session
        self.key = index.key
        self.match = self._match(node)
        self.rank = self._rank(node)

    @abstractmethod
    def _match(self, node: Node) -> ColumnElement[bool]: ...

    @abstractmethod
    def _rank(self, node: Node) -> ColumnElement[float]: ...

    @abstractmethod
    def ranked(self, limit: int | None, window: int | None) -> list[tuple[int, float]]:
        """(id, rank) of the best *limit* (None: all) matches among the newest *window* (None:
        every match), best first."""

    def hits(self) -> CTE:
        """The ids of every match (one column), to select articles by."""
        return select(self.key).select_from(self.index.table).where(self.match).cte("hits")

    def newest_ids(self, limit: int, offset: int = 0) -> list[int]:
        """Ids of matching articles, most recently stored (highest id) first."""
        stmt = select(self.key).select_from(self.index.table).where(self.match)
        stmt = stmt.order_by(self.key.desc()).limit(limit).offset(offset)
        return [int(row[0]) for row in self.index.read_index(self.session, stmt)]

    def probe(self) -> Exists:
        """EXISTS: the outer article matches (correlated with ``articles.id``)."""
        return (
            select(literal_column("1"))
            .select_from(self.index.table)
            .where(self.match, self.key == Article.id)
            .exists()
        )


class SearchIndex(ABC):
    """The full-text index of one backend: its DDL, and what search needs to read it."""

    table: TableClause
    key: ColumnClause[int]  # the article id in ``table``

    @abstractmethod
    def install(self, conn: Connection) -> None:
        """Create the index, its triggers, and fill it from the stored articles."""

    @abstractmethod
    def uninstall(self, conn: Connection) -> None: ...

    @abstractmethod
    def rebuild(self, conn: Connection) -> None:
        """Re-index every stored article."""

    @abstractmethod
    def is_installed(self, conn: Connection) -> bool: ...

    @abstractmethod
    def ensure_triggers(self, conn: Connection) -> None:
        """Put back what a batch migration of ``articles`` dropped."""

    @abstractmethod
    def query(self, session: Session, node: Node) -> IndexQuery: ...

    @abstractmethod
    def among(self, ids: Sequence[int]) -> ColumnElement[bool]:
        """``articles.id IN ids`` as one bound parameter (one statement shape for any count)."""

    @abstractmethod
    def day(self, when: ColumnElement[datetime]) -> ColumnElement[str]:
        """The UTC day of a timestamp, as ``YYYY-MM-DD``."""

    @abstractmethod
    def local_day(
        self, when: ColumnElement[datetime], offset: ColumnElement[int | None]
    ) -> ColumnElement[str]:
        """The day of a timestamp *offset* minutes east of UTC (UTC when NULL), ``YYYY-MM-DD``."""

    def read_index(self, session: Session, stmt: AnySelect) -> list[AnyRow]:
        """Rows of *stmt*, a statement over the index table alone."""
        return list(session.execute(stmt))

    def run_bounded(
        self, session: Session, stmt: AnySelect, seconds: float, check_steps: int
    ) -> list[RowMapping]:
        """Rows of *stmt* as mappings; OverBudget when it runs over *seconds* (where the backend
        can interrupt a statement: SQLite looks at the clock every *check_steps* VM steps)."""
        return list(session.execute(stmt).mappings())


# ---------------------------------------------------------------- SQLite


class _SqliteQuery(IndexQuery):
    def __init__(self, index: SearchIndex, session: Session, node: Node) -> None:
        super().__init__(index, session, node)
        self.lowest_id: int | None = None
        self.window: int | None = None

    def _match(self, node: Node) -> ColumnElement[bool]:
        # `article_search MATCH :q`: the table's hidden column of its own name
        return literal_column(SEARCH_TABLE).match(compile_fts5(node))

    def _rank(self, node: Node) -> ColumnElement[float]:
        return literal_column(f"bm25({SEARCH_TABLE}, {SQLITE_TITLE_WEIGHT}, 1.0)", Float)

    def ranked(self, limit: int | None, window: int | None) -> list[tuple[int, float]]:
        # bm25 can only be computed in the FTS5 scan: bound that scan by rowid instead.
        if window != self.window:
            edge = self.newest_ids(1, window - 1) if window else []
            self.lowest_id, self.window = (edge[0] if edge else None), window
        score = self.rank.label("score")
        stmt = select(self.key, score).select_from(self.index.table).where(self.match)
        if self.lowest_id is not None:
            stmt = stmt.where(self.key >= self.lowest_id)
        stmt = stmt.order_by(score).limit(limit)
        return [(int(i), float(r)) for i, r in self.index.read_index(self.session, stmt)]


class SqliteIndex(SearchIndex):
    """FTS5 over ``articles`` (external content), kept by triggers."""

    table = table(SEARCH_TABLE, column("rowid", Integer))
    key = table.c.rowid

    def install(self, conn: Connection) -> None:
        conn.exec_driver_sql(SQLITE_TABLE)
        conn.exec_driver_sql(SQLITE_WHEN_INDEX)
        for statement in SQLITE_TRIGGERS:
            conn.exec_driver_sql(statement)
        self.rebuild(conn)

    def uninstall(self, conn: Connection) -> None:
        for name in SQLITE_TRIGGER_NAMES:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {SEARCH_TABLE}")
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {WHEN_INDEX}")

    def rebuild(self, conn: Connection) -> None:
        conn.exec_driver_sql(f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}) VALUES ('rebuild')")

    def is_installed(self, conn: Connection) -> bool:
        query = text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name")
        return conn.execute(query, {"name": SEARCH_TABLE}).first() is not None

    def ensure_triggers(self, conn: Connection) -> None:
        """Put back the triggers and the date index a batch migration of ``articles`` dropped."""
        if not self.is_installed(conn):
            return
        conn.exec_driver_sql(SQLITE_WHEN_INDEX)
        present = {
            row[0]
            for row in conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
                {"t": "articles"},
            )
        }
        if set(SQLITE_TRIGGER_NAMES) <= present:
            return
        logger.info("re-creating the search index triggers on articles")
        for statement in SQLITE_TRIGGERS:
            conn.exec_driver_sql(statement)

    def query(self, session: Session, node: Node) -> IndexQuery:
        return _SqliteQuery(self, session, node)

    def among(self, ids: Sequence[int]) -> ColumnElement[bool]:
        listed = bindparam("candidate_ids", "[" + ",".join(map(str, ids)) + "]", type_=Text)
        return Article.id.in_(select(column("value")).select_from(func.json_each(listed)))

    def day(self, when: ColumnElement[datetime]) -> ColumnElement[str]:
        return func.date(when, type_=String)

    def local_day(
        self, when: ColumnElement[datetime], offset: ColumnElement[int | None]
    ) -> ColumnElement[str]:
        shift = func.printf("%+d minutes", func.coalesce(offset, 0))
        return func.date(when, shift, type_=String)

    def run_bounded(
        self, session: Session, stmt: AnySelect, seconds: float, check_steps: int
    ) -> list[RowMapping]:
        raw = session.connection().connection.driver_connection
        if raw is None:  # pragma: no cover - a checked-out connection always has one
            return super().run_bounded(session, stmt, seconds, check_steps)
        deadline = time.perf_counter() + seconds
        raw.set_progress_handler(lambda: time.perf_counter() > deadline, check_steps)
        try:
            return list(session.execute(stmt).mappings())
        except OperationalError as exc:
            if "interrupted" in str(exc):
                raise OverBudget from exc
            raise
        finally:
            raw.set_progress_handler(None, 0)


# ---------------------------------------------------------------- PostgreSQL


class _PostgresQuery(IndexQuery):
    def _match(self, node: Node) -> ColumnElement[bool]:
        # match with the marked lexemes (few index terms, no position re-checks), rank with the
        # plain query (the scores of before)
        return pg_match(self.index.table, compile_pg_match(node))

    def _rank(self, node: Node) -> ColumnElement[float]:
        self.tsquery = cast(bindparam("search_query", compile_tsquery(node), type_=Text), TSQUERY)
        return -func.ts_rank(self.index.table.c.document, self.tsquery, type_=Float)

    def hits(self) -> CTE:
        """Read from the GIN index first. Asked for the newest matches (``ORDER BY article_id
        DESC LIMIT n``), the planner walks the primary key backwards and tests ``marks @@`` on
        every row (it expects matches early; a query with a few thousand matches reads most of
        the table: 1-2 s at 100k articles). The materialised CTE makes it collect the matches
        from the GIN index first, then sort their ids."""
        return super().hits().prefix_with("MATERIALIZED")

    def newest_ids(self, limit: int, offset: int = 0) -> list[int]:
        hits = self.hits()
        stmt = select(hits.c.article_id).order_by(hits.c.article_id.desc())
        stmt = stmt.limit(limit).offset(offset)
        return [int(row[0]) for row in self.index.read_index(self.session, stmt)]

    def ranked(self, limit: int | None, window: int | None) -> list[tuple[int, float]]:
        # one pass: the window of newest matches (ids only), then their documents ranked
        fts = self.index.table
        hits = self.hits()
        newest = select(hits.c.article_id)
        if window:
            newest = newest.order_by(hits.c.article_id.desc()).limit(window)
        w = newest.subquery("window")
        score = self.rank.label("score")
        stmt = (
            select(fts.c.article_id, score)
            .join(w, w.c.article_id == fts.c.article_id)
            .order_by(score)
            .limit(limit)
        )
        return [(int(i), float(r)) for i, r in self.index.read_index(self.session, stmt)]


def pg_match(fts: TableClause, condition: PgMatch) -> ColumnElement[bool]:
    """SQL for a ``compile_pg_match`` condition over *fts* (a table with ``document`` and
    ``marks`` columns); every tsquery a bound parameter."""
    kind, arg = condition
    if kind in ("document", "marks"):
        return fts.c[kind].op("@@", return_type=Boolean)(cast(literal(arg, type_=Text), TSQUERY))
    if kind == "not":
        return not_(pg_match(fts, arg))
    parts = [pg_match(fts, c) for c in arg]
    return and_(*parts) if kind == "and" else or_(*parts)


class PostgresIndex(SearchIndex):
    """``article_search`` (document, marks) kept by a trigger, GIN on the marks."""

    table = table(SEARCH_TABLE, column("article_id", Integer), column("document"), column("marks"))
    key = table.c.article_id

    def install(self, conn: Connection) -> None:
        for statement in (*PG_TABLE, PG_MARKS_COLUMN, *PG_FUNCTIONS, PG_WHEN_INDEX):
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {SEARCH_TABLE}_sync ON articles")
        conn.exec_driver_sql(PG_TRIGGER)
        self.rebuild(conn)

    def uninstall(self, conn: Connection) -> None:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {WHEN_INDEX}")
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {SEARCH_TABLE}_sync ON articles")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {SEARCH_TABLE}")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS marsad_article_search_sync()")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS marsad_search_document(text, text)")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS marsad_search_marks(tsvector)")

    def rebuild(self, conn: Connection) -> None:
        # the current document function (a database indexed by an older one gets it here), then
        # a bulk load with the GIN index built once at the end (faster than per-row upkeep)
        for statement in (PG_MARKS_COLUMN, *PG_FUNCTIONS):
            conn.exec_driver_sql(statement)
        for name in ("document", "marks"):  # (document: the GIN index before marks existed)
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS ix_{SEARCH_TABLE}_{name}")
        conn.exec_driver_sql(f"TRUNCATE {SEARCH_TABLE}")
        conn.exec_driver_sql(
            f"INSERT INTO {SEARCH_TABLE} (article_id, document, marks) "
            "SELECT id, doc, marsad_search_marks(doc) FROM "
            "(SELECT id, marsad_search_document(title_norm, text_norm) AS doc FROM articles) AS a"
        )
        for statement in PG_TABLE[1:]:
            conn.exec_driver_sql(statement)

    def is_installed(self, conn: Connection) -> bool:
        query = text("SELECT 1 FROM pg_catalog.pg_class WHERE oid = to_regclass(:name)")
        return conn.execute(query, {"name": SEARCH_TABLE}).first() is not None

    def ensure_triggers(self, conn: Connection) -> None:
        """Nothing to do: PostgreSQL migrations alter ``articles`` in place, triggers kept."""

    def query(self, session: Session, node: Node) -> IndexQuery:
        return _PostgresQuery(self, session, node)

    def among(self, ids: Sequence[int]) -> ColumnElement[bool]:
        return Article.id == func.any(bindparam("candidate_ids", list(ids), type_=ARRAY(Integer)))

    def day(self, when: ColumnElement[datetime]) -> ColumnElement[str]:
        return func.to_char(func.timezone("UTC", when), "YYYY-MM-DD", type_=String)

    def local_day(
        self, when: ColumnElement[datetime], offset: ColumnElement[int | None]
    ) -> ColumnElement[str]:
        shift = func.make_interval(0, 0, 0, 0, 0, func.coalesce(offset, 0))
        return func.to_char(func.timezone("UTC", when) + shift, "YYYY-MM-DD", type_=String)

    def read_index(self, session: Session, stmt: AnySelect) -> list[AnyRow]:
        """PostgreSQL prices ``@@`` on a large (TOASTed) ``marks`` like any cheap filter, so for
        a query with few matches it may read every row instead of the GIN index (1 s against
        20 ms at 100k articles): sequential scans are turned off for this one statement."""
        conn = session.connection()
        setting = text(
            "SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', :v, true)"
        )
        previous = conn.execute(setting, {"v": "off"}).one()[0]
        try:
            return list(conn.execute(stmt))
        finally:
            conn.execute(setting, {"v": previous})


_INDEXES: dict[str, SearchIndex] = {"sqlite": SqliteIndex(), "postgresql": PostgresIndex()}


def index_for(bind: Connection | Session | Engine) -> SearchIndex:
    """The search index of this database's backend."""
    dialect = (bind.get_bind() if isinstance(bind, Session) else bind).dialect.name
    try:
        return _INDEXES[dialect]
    except KeyError:
        raise ValueError(
            f"full-text search supports SQLite and PostgreSQL, not {dialect}"
        ) from None


# ---------------------------------------------------------------- lifecycle (migrations, CLI)


def install(conn: Connection) -> None:
    """Create the index, its triggers, and fill it from the stored articles."""
    index_for(conn).install(conn)


def uninstall(conn: Connection) -> None:
    index_for(conn).uninstall(conn)


def rebuild(conn: Connection) -> int:
    """Re-index every stored article; the number of articles indexed."""
    index_for(conn).rebuild(conn)
    return int(conn.execute(text("SELECT count(*) FROM articles")).scalar_one())


def is_installed(conn: Connection) -> bool:
    return index_for(conn).is_installed(conn)


def ensure_triggers(conn: Connection) -> None:
    """Put back SQLite triggers and the date index a batch migration of ``articles`` dropped
    (no-op otherwise)."""
    index_for(conn).ensure_triggers(conn)
