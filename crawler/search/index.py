"""The full-text index over articles, kept up to date by database triggers (no Python on write).

Both backends index the Arabic-normalised columns ``articles.title_norm`` / ``text_norm`` (see
``crawler.normalize.normalize_text``), so hamza, tashkeel, tatweel, case and accents are already
folded; clitics are handled when a query is expanded (``crawler.search_query``).

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
  (``crawler.search_query.compile_pg_match``): each Arabic word behind a clitic of
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

from sqlalchemy import text
from sqlalchemy.engine import Connection

from crawler.text.tokens import AR_MAX_PREFIX, AR_PREFIXES

logger = logging.getLogger(__name__)

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
#: Marker of a clitic-stripped form: «والحكومة» (normalised «والحكومه») is also indexed as
#: ``~الحكومه`` (after «و») and ``~حكومه`` (after «وال»), so a bare Arabic word compiles to
#: ``'حكومه':* | '~حكومه':*`` instead of one prefix per clitic (``crawler.search_query``).
STRIPPED_MARK = "~"
#: Marker of two adjacent words of one field: ``+وزير الخارجيه``. A two-word phrase is one exact
#: lexeme (no positions to re-check); a longer one needs all its pairs before the positions are
#: checked. Pairs longer than BIGRAM_MAX characters are stored cut to that length (lexemes are at
#: most 2047 bytes); the query compiler falls back to positions for such pairs.
BIGRAM_MARK = "+"
BIGRAM_MAX = 500
MIN_STRIPPED = 3  # letters left after a clitic (crawler.search_query.MIN_STEM)
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


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    """Alembic autogenerate hook: the search index is not a model (its tables are raw DDL)."""
    if type_ == "table" and name in SEARCH_TABLES:
        return False
    if type_ == "index" and name == WHEN_INDEX:
        return False
    table = getattr(obj, "table", None)
    return not (type_ in ("index", "column") and table is not None and table.name in SEARCH_TABLES)


def install(conn: Connection) -> None:
    """Create the index, its triggers, and fill it from the stored articles."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(SQLITE_TABLE)
        conn.exec_driver_sql(SQLITE_WHEN_INDEX)
        for statement in SQLITE_TRIGGERS:
            conn.exec_driver_sql(statement)
    else:
        for statement in (*PG_TABLE, PG_MARKS_COLUMN, *PG_FUNCTIONS, PG_WHEN_INDEX):
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {SEARCH_TABLE}_sync ON articles")
        conn.exec_driver_sql(PG_TRIGGER)
    rebuild(conn)


def uninstall(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        for name in SQLITE_TRIGGER_NAMES:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {SEARCH_TABLE}")
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {WHEN_INDEX}")
    else:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {WHEN_INDEX}")
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {SEARCH_TABLE}_sync ON articles")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {SEARCH_TABLE}")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS marsad_article_search_sync()")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS marsad_search_document(text, text)")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS marsad_search_marks(tsvector)")


def rebuild(conn: Connection) -> int:
    """Re-index every stored article; the number of articles indexed."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}) VALUES ('rebuild')")
    else:
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
    return int(conn.execute(text("SELECT count(*) FROM articles")).scalar_one())


def is_installed(conn: Connection) -> bool:
    if conn.dialect.name == "sqlite":
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"
    else:
        query = "SELECT 1 FROM pg_catalog.pg_class WHERE oid = to_regclass(:name)"
    return conn.execute(text(query), {"name": SEARCH_TABLE}).first() is not None


def ensure_triggers(conn: Connection) -> None:
    """Put back SQLite triggers and the date index a batch migration of ``articles`` dropped
    (no-op otherwise)."""
    if conn.dialect.name != "sqlite" or not is_installed(conn):
        return
    conn.exec_driver_sql(SQLITE_WHEN_INDEX)
    present = {
        row[0]
        for row in conn.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'articles'")
        )
    }
    if set(SQLITE_TRIGGER_NAMES) <= present:
        return
    logger.info("re-creating the search index triggers on articles")
    for statement in SQLITE_TRIGGERS:
        conn.exec_driver_sql(statement)
