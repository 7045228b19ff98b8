"""`marsad search`, `show`, `export` and `stats`: thin shells over crawler.search."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import IO, Any

import click
from sqlalchemy.orm import Session

from crawler import db
from crawler import search as api
from crawler.cli.common import (
    State,
    UsageError,
    check_known,
    check_out,
    first_unknown,
    format_option,
    open_out,
    since_option,
    until_option,
)
from crawler.config.checks import LANG_ALIASES, LANGUAGES, suggest
from crawler.search.export import CSV_FIELDS, csv_chunks, export_fields, ndjson_chunks
from crawler.search.query import QuerySyntaxError, search_tokens
from crawler.text.bidi import isolate
from crawler.text.tokens import TOKEN_RE, token_key


def filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--topic, --source, --lang, --since, --until -> a ``filters`` argument."""

    @click.option(
        "--topic",
        "topics",
        multiple=True,
        metavar="KEY",
        help="Tagged with this topic (repeatable: any of them).",
    )
    @click.option(
        "--source", "sources", multiple=True, metavar="KEY", help="From this outlet (repeatable)."
    )
    @click.option(
        "--lang",
        "languages",
        multiple=True,
        metavar="CODE",
        help="In this language: ar, fr, en (repeatable).",
    )
    @since_option("Published at or after: 2024-05-01, 2024-05-01T08:00, or 7d / 24h ago.")
    @until_option("Published before (a bare date is included): same forms as --since.")
    @functools.wraps(func)
    def wrapper(
        *args: Any,
        topics: tuple[str, ...],
        sources: tuple[str, ...],
        languages: tuple[str, ...],
        since: datetime | None,
        until: datetime | None,
        **kwargs: Any,
    ) -> Any:
        filters = api.Filters(
            topics=topics, sources=sources, languages=languages, since=since, until=until
        )
        return func(*args, filters=filters, **kwargs)

    return wrapper


@contextmanager
def _session(state: State, filters: api.Filters | None = None) -> Iterator[Session]:
    """A session whose malformed queries become usage errors, once *filters* are checked."""
    with state.session() as session:
        if filters is not None:
            check_filters(state, session, filters)
        try:
            yield session
        except QuerySyntaxError as exc:
            raise UsageError(f"bad query: {exc.pretty()}") from None


def check_filters(state: State, session: Session, filters: api.Filters) -> None:
    """Each --topic, --source and --lang value is configured or stored, else a usage error with
    "did you mean": a typo must not look like an empty result. Stored values count too, so the
    articles of a source since removed from sources.toml stay searchable."""
    if not (filters.topics or filters.sources or filters.languages):
        return
    try:
        config = state.config()
        topics, sources = [t.key for t in config.topics], [s.key for s in config.sources]
    except UsageError:  # no usable configuration here: the stored values alone decide
        topics, sources = [], []
    check_known(session, "--topic", filters.topics, topics, db.ArticleTopic.topic)
    check_known(session, "--source", filters.sources, sources, db.Article.source)
    ours = [code for code in filters.languages if _base_language(code) in LANGUAGES]
    code = first_unknown(session, db.Article.language, filters.languages, ours)
    if code is not None:
        alias = LANG_ALIASES.get(code.lower())
        hint = f"did you mean {alias!r}? " if alias else suggest(code.lower(), LANGUAGES)
        raise UsageError(
            f"--lang {code}: no stored article is in this language. Fix: {hint}use "
            f"{', '.join(LANGUAGES)}, optionally with a region (fr-MA)"
        )


def _base_language(code: str) -> str:
    return code.lower().replace("_", "-").split("-")[0]


def _cut(value: str, width: int) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def _day(row: dict[str, Any]) -> str:
    return (row.get("published_at") or row.get("fetched_at") or "")[:10] or "-"


def _write_csv(
    fh: IO[str], records: Iterable[dict[str, Any]], fields: Sequence[str], *, bom: bool
) -> int:
    """Write *records* as CSV with the shared writer (formula cells neutralised); the count."""
    written = 0

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal written
        for record in records:
            written += 1
            yield record

    for chunk in csv_chunks(counted(), fields, bom=bom):
        fh.write(chunk)
    return written


def _print_table(rows: list[dict[str, Any]], limit: int, collapsed: bool) -> None:
    if not rows:
        click.echo("No matching article.")
        return
    click.echo(f"{'id':>7}  {'date':<10}  {'outlet':<16}  {'topics':<24}  title")
    for row in rows:
        topics = ",".join(row["topics"]) or "-"
        title = row["title"]
        if collapsed and row.get("copies", 1) > 1:
            title += f"  (+{row['copies'] - 1} copies)"
        click.echo(
            f"{row['id']:>7}  {_day(row):<10}  {_cut(row['source'], 16):<16}  "
            f"{_cut(topics, 24):<24}  {isolate(title)}"
        )
    if len(rows) == limit:
        click.echo(f"(first {limit}; --limit N for more)", err=True)


@click.command()
@click.argument("query")
@filter_options
@click.option(
    "--story", "collapse", is_flag=True, help="One line per story: collapse copies of one article."
)
@click.option("--sort", type=click.Choice(api.SORTS), default="relevance", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@format_option("json", "jsonl", "csv")
@click.pass_obj
def search(
    state: State, query: str, filters: api.Filters, collapse: bool, sort: str, limit: int, fmt: str
) -> None:
    """Full-text search of stored articles (title and text).

    \b
    QUERY syntax:
      إسرائيل غزة         both words       مصر OR الأردن   either
      -word, NOT word      exclude          "exact phrase"  words in this order
      word*                prefix           (a OR b) c      grouping
    Hamza, tashkeel, tatweel, case and accents never matter; an Arabic word also
    matches it with clitics (و ب ل ك ف ال ...) and endings: اسرائيل finds وإسرائيل and
    الإسرائيلية. Words inside quotes are exact (a leading و/ب/ل/ك/ف is allowed).
    """  # fmt: skip
    with _session(state, filters) as session:
        rows = api.search(
            session, query, filters, limit=limit, sort=sort, collapse_stories=collapse
        )
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
    elif fmt == "csv":
        _write_csv(sys.stdout, rows, CSV_FIELDS, bom=False)
    else:
        _print_table(rows, limit, collapse)


def _highlight(snippet: str, term: str) -> str:
    """*snippet* with the words that match *term* in bold yellow."""
    keys = [k[2:] if k.startswith("ال") and len(k) > 4 else k for k in search_tokens(term)]
    out, last = [], 0
    for match in TOKEN_RE.finditer(snippet):
        if any(k and k in token_key(match.group()) for k in keys):
            out.append(snippet[last : match.start()])
            out.append(click.style(match.group(), bold=True, fg="yellow"))
            last = match.end()
    out.append(snippet[last:])
    return "".join(out)


@click.command()
@click.argument("article_id", metavar="ID", type=int)
@format_option("json")
@click.pass_obj
def show(state: State, article_id: int, fmt: str) -> None:
    """One stored article in full: its topics with the evidence that tagged them (highlighted),
    the other copies of its story, and whether its raw HTML is stored."""
    with _session(state) as session:
        article = api.article_detail(session, article_id)
    if article is None:
        raise click.ClickException(f"no article with id {article_id}")
    if fmt == "json":
        click.echo(json.dumps(article, ensure_ascii=False, indent=2, default=str))
        return
    echo = click.echo
    echo(click.style(isolate(article["title"]), bold=True))
    published = article["published_at"] or "-"
    language = article["language"] or "-"
    echo(f"id {article['id']}  {article['source']}  {language}  published {published}")
    echo(article["url"])
    if article["author"]:
        echo(f"by {isolate(article['author'])}")
    raw = article["raw"]
    echo(
        f"raw HTML: stored ({raw['compression']}, {raw['bytes']} bytes)"
        if raw["stored"]
        else "raw HTML: not stored"
    )
    echo("")
    if article["topics"]:
        echo("Topics:")
        for topic in article["topics"]:
            echo(f"  {topic['topic']}  score {topic['score']}")
            for ev in topic["evidence"]:
                # isolated before highlighting: isolate() drops control characters (ANSI too)
                snippet = _highlight(isolate(ev.get("snippet", "")), ev.get("term", ""))
                term = isolate(ev.get("term", ""))
                sense = f" (sense: {isolate(ev['sense'])})" if ev.get("sense") else ""
                echo(f"    [{ev.get('field', '?')}] {term}{sense}: {snippet}")
    else:
        echo("Topics: none")
    siblings = article["story_siblings"]
    if siblings:
        copies = "1 other copy" if len(siblings) == 1 else f"{len(siblings)} other copies"
        echo(f"Story {article.get('story_id')}: {copies}")
        for s in siblings:
            day = (s["published_at"] or "-")[:10]
            echo(f"  {s['id']:>7}  {day:<10}  {_cut(s['source'], 16):<16}  {isolate(s['title'])}")
    else:
        echo("Story: no other copy.")
    echo("")
    echo(article["text"])


EXPORT_SUFFIXES = {"csv": (".csv",), "jsonl": (".jsonl", ".json", ".ndjson")}


@click.command()
@click.argument("query", required=False)
@filter_options
@format_option("csv", "jsonl", human=False, default="jsonl")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    show_default=True,
    help="File to write ('-' = stdout): .csv for csv, .jsonl or .json for jsonl. Written whole "
    "or not at all.",
)
@click.option("--no-text", is_flag=True, help="Leave the article text out.")
@click.option(
    "--bom/--no-bom",
    default=None,
    help="Start a CSV with a UTF-8 byte order mark, so Excel reads Arabic (default: with --out "
    "FILE yes, on stdout no: a pipe's next tool would see it in the first column's name).",
)
@click.pass_obj
def export(
    state: State,
    query: str | None,
    filters: api.Filters,
    fmt: str,
    out: str,
    no_text: bool,
    bom: bool | None,
) -> None:
    """Write every matching article (all of them without QUERY), newest first, as CSV or JSON
    lines. Streams: memory stays flat however many articles match."""
    check_out(out, EXPORT_SUFFIXES, fmt)
    if bom and fmt != "csv":
        raise UsageError("--bom: only a CSV starts with a byte order mark (use --format csv)")
    count = 0
    with _session(state, filters) as session, open_out(out) as fh:
        records = api.iter_articles(session, query, filters, with_text=not no_text)
        if fmt == "csv":
            with_bom = out != "-" if bom is None else bom
            count = _write_csv(fh, records, export_fields(not no_text), bom=with_bom)
        else:
            for chunk in ndjson_chunks(records):
                fh.write(chunk)
                count += 1
    click.echo(f"Exported {count} article(s).", err=True)


@click.command()
@since_option("From: 2024-05-01 or 7d / 24h ago.")
@until_option("Until (a bare date is included).")
@format_option("json")
@click.pass_obj
def stats(state: State, since: datetime | None, until: datetime | None, fmt: str) -> None:
    """Stored articles per topic, per source and per day (as each publisher dated it)."""
    with state.session() as session:
        result = api.stats(session, since=since, until=until)
    if fmt == "json":
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"{result['articles']} article(s)")
    for title, key in (("Per topic", "topics"), ("Per source", "sources"), ("Per day", "days")):
        click.echo(f"\n{title}:")
        if not result[key]:
            click.echo("  -")
        for name, n in result[key].items():
            click.echo(f"  {n:>8}  {isolate(name)}")
