"""/topics: each topic's terms as written, its trend and a link to its articles; /topics/<name>:
attention over time and a backtest form; /topics/backtest: an edited definition tried on the
stored articles of the last N days -- what it would tag against what is tagged now (added,
removed, unchanged, with evidence), written nowhere: the engine of `marsad topics test`."""

from __future__ import annotations

import dataclasses
import re
import threading
import tomllib
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from crawler.config import ConfigError, Topic
from crawler.config.topics import PLAIN_TERM, TOPICS_FILE, load_senses, parse_topics
from crawler.search import Filters, search
from crawler.search.attention import attention
from crawler.search.facets import matches
from crawler.tagging import Tagger
from crawler.tagging.retag import BacktestResult, backtest, count_articles
from crawler.web.charts import Series, line_chart
from crawler.web.pages._format import number
from crawler.web.pages.search import attention_charts
from crawler.web.params import BadRequest, NotFound
from crawler.web.render import render
from crawler.web.state import context

TREND_DAYS = 30
#: the backtest form: its body, the topics one paste may hold, the articles x topics it may tag
MAX_FORM_BYTES = 64 * 1024
MAX_BACKTEST_TOPICS = 5
MAX_BACKTEST_WORK = 10_000
#: one backtest at a time: each is seconds of CPU, and the server has a few cores to share
_BACKTESTS = threading.Lock()
BACKTEST_DAYS = ("1", "7", "30", "90", "365", "all")
DEFAULT_BACKTEST_DAYS = "30"
BACKTEST_SAMPLE = 20
PASTED = "the pasted definition"

#: Topic fields shown by the terms tables; any other field is listed as a setting
_TERM_FIELDS = {"key", "label", "terms", "exclude", "term_options", "exclude_options"}


# --------------------------------------------------------------------------- terms as written


def _show(value: Any) -> str:
    """A configuration value as the analyst wrote it (sense rules by name)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return ", ".join(_show(v) for v in value)
    name = getattr(value, "name", None)
    return str(name) if isinstance(name, str) and dataclasses.is_dataclass(value) else str(value)


def _options(topic: Topic, lang: str, phrase: str, exclude: bool) -> list[tuple[str, str]]:
    """The non-default options of one entry, generically (whatever TermOptions holds)."""
    options = topic.options(lang, phrase, exclude)
    out = []
    for field in dataclasses.fields(options):
        value = getattr(options, field.name)
        if value != getattr(PLAIN_TERM, field.name):
            out.append((field.name, _show(value)))
    return out


def terms_view(topic: Topic) -> dict[str, Any]:
    """Per language, the terms and exclusions with their options; and the other settings."""
    languages = list(dict.fromkeys([*topic.terms, *topic.exclude]))
    per_lang = [
        {
            "lang": lang,
            "terms": [
                {"phrase": p, "options": _options(topic, lang, p, False)}
                for p in topic.terms.get(lang, ())
            ],
            "exclude": [
                {"phrase": p, "options": _options(topic, lang, p, True)}
                for p in topic.exclude.get(lang, ())
            ],
        }
        for lang in languages
    ]
    settings = [
        (field.name, _show(getattr(topic, field.name)))
        for field in dataclasses.fields(topic)
        if field.name not in _TERM_FIELDS
    ]
    return {
        "key": topic.key,
        "label": topic.label,
        "languages": per_lang,
        "settings": settings,
        "senses": _senses(topic),
    }


def _senses(topic: Topic) -> list[dict[str, Any]]:
    """The sense rules the topic's entries name, each with its set fields, generically."""
    found: dict[str, Any] = {}
    for table in (topic.term_options, topic.exclude_options):
        for options in table.values():
            for entry in options.values():
                for sense in getattr(entry, "senses", ()):
                    found.setdefault(sense.name, sense)
    out = []
    for name, sense in sorted(found.items()):
        fields: list[tuple[str, str]] = []
        for field in dataclasses.fields(sense):
            value = getattr(sense, field.name)
            if field.name == "name" or value in ("", (), None, False):
                continue
            if field.name == "phrases":
                fields.extend((lang, _show(phrases)) for lang, phrases in value)
            else:
                fields.append((field.name, _show(value)))
        out.append({"name": name, "fields": fields})
    return out


_HEADER_RE = re.compile(r"^\s*\[{1,2}\s*([^\]]+?)\s*\]{1,2}\s*(?:#.*)?$")


def topic_source(toml_text: str, key: str) -> str | None:
    """The lines of ``topics.toml`` that define *key* (its table and sub-tables), as written."""
    out: list[str] = []
    inside = False
    for line in toml_text.splitlines():
        header = _HEADER_RE.match(line)
        if header:
            name = header.group(1).replace('"', "").replace("'", "")
            inside = name == f"topics.{key}" or name.startswith(f"topics.{key}.")
        if inside:
            out.append(line)
    while out and (not out[-1].strip() or out[-1].lstrip().startswith("#")):
        out.pop()  # the comments above the next topic belong to it
    return "\n".join(out) or None


def _topics_file_text(config: Any) -> str:
    try:
        return (config.directory / TOPICS_FILE).read_text(encoding="utf-8-sig")
    except OSError:
        return ""


# --------------------------------------------------------------------------- trends


def newest_day(session: Any) -> date:
    """The last day of a trend: today, or the newest stored article's day when the collection
    stopped earlier (an archive still shows its last month)."""
    today = datetime.now(UTC).date()
    newest = search(session, None, Filters(), limit=1, sort="date")
    if not newest:
        return today
    when = newest[0]["published_at"] or newest[0]["fetched_at"]
    return min(today, datetime.fromisoformat(when).astimezone(UTC).date())


def _window(last: date, days: int) -> tuple[datetime, datetime, list[str]]:
    first = last - timedelta(days=days - 1)
    labels = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    start = datetime.combine(first, time(), tzinfo=UTC)
    return start, datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC), labels


def trend(
    session: Any, key: str, last: date, days: int = TREND_DAYS
) -> tuple[list[str], list[int]]:
    """Articles tagged *key* per UTC day over the *days* days up to *last*, zeros included."""
    since, until, labels = _window(last, days)
    per_day: dict[str, int] = {}
    for group in matches(session, None, Filters(topics=(key,), since=since, until=until)).groups:
        per_day[group.day] = per_day.get(group.day, 0) + group.articles
    return labels, [per_day.get(day, 0) for day in labels]


def _search_link(key: str) -> str:
    return "/search?" + urlencode({"topic": key})


def topics_page(request: Request) -> Response:
    marsad = context(request)
    topics = marsad.config.topics
    with marsad.session() as session:
        last = newest_day(session)
        trends = {t.key: trend(session, t.key, last) for t in topics}
    views = []
    for topic in topics:
        labels, values = trends[topic.key]
        views.append(
            terms_view(topic)
            | {
                "total": sum(values),
                "search": _search_link(topic.key),
                "search_window": "/search?"
                + urlencode({"topic": topic.key, "since": labels[0], "until": labels[-1]}),
                "chart": line_chart(
                    labels,
                    [Series("articles", values)],
                    title=f"{topic.key}: tagged articles per day, {labels[0]} to {labels[-1]}",
                    width=480,
                    height=130,
                    css_class="chart topic-trend",
                ),
            }
        )
    return render(
        request,
        "topics.html",
        {"nav": "topics", "topics": views, "days": TREND_DAYS, "last": last.isoformat()},
    )


def _known_topic(config: Any, name: str) -> Topic:
    try:
        topic: Topic = config.topic(name)
    except KeyError as exc:
        raise NotFound(str(exc.args[0])) from None
    return topic


def topic_page(request: Request) -> Response:
    marsad = context(request)
    topic = _known_topic(marsad.config, str(request.path_params["name"]))
    with marsad.session() as session:
        over_time = attention(session, None, Filters(topics=(topic.key,)))
    charts = attention_charts(over_time, topic.key)
    query = urlencode({"topic": topic.key})
    return render(
        request,
        "topic.html",
        {
            "nav": "topics",
            "topic": terms_view(topic),
            "attention": over_time,
            "charts": charts,
            "links": {
                "search": _search_link(topic.key),
                "attention": f"/search/attention?{query}",
                "csv": f"/api/attention?{query}&format=csv",
                "json": f"/api/attention?{query}",
                "feed": f"/feeds/topic/{topic.key}.atom",
            },
            "form": _form_defaults(marsad.config, topic.key),
        },
    )


# --------------------------------------------------------------------------- backtest


def _form_defaults(config: Any, key: str | None) -> dict[str, Any]:
    definition = topic_source(_topics_file_text(config), key) if key else None
    return {
        "definition": definition or "",
        "days": DEFAULT_BACKTEST_DAYS,
        "choices": BACKTEST_DAYS,
        "max_bytes": MAX_FORM_BYTES,
    }


def parse_definition(text: str, config: Any) -> tuple[Topic, ...]:
    """The topics of a pasted ``topics.toml`` excerpt, validated like the file (BadRequest with
    the loader's message otherwise)."""
    if not text.strip():
        raise BadRequest("paste a topic definition: [topics.<key>] with label, terms ...")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", 0)
        lines = text.splitlines()
        reads = (
            f" (the line reads: {lines[line - 1].strip()[:80]!r})" if 0 < line <= len(lines) else ""
        )
        raise BadRequest(
            f"{PASTED} is not valid TOML: {exc}{reads}. Strings need quotes, lists use [ ], "
            "tables use [name]"
        ) from None
    try:
        topics = parse_topics(data, PASTED, load_senses(config.directory))
    except ConfigError as exc:
        raise BadRequest(str(exc)) from None
    if not topics:
        raise BadRequest(f"{PASTED} defines no topic: write [topics.<key>] tables")
    if len(topics) > MAX_BACKTEST_TOPICS:
        raise BadRequest(
            f"{PASTED} defines {len(topics)} topics: try at most {MAX_BACKTEST_TOPICS} at a time"
        )
    return topics


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "") and parts.scheme == request.url.scheme


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form of a POST, at most MAX_FORM_BYTES (413 past that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise BadRequest(f"the form is {int(declared):,} bytes: at most {MAX_FORM_BYTES:,}", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise BadRequest(f"the form is over {MAX_FORM_BYTES:,} bytes", 413)
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"the form could not be read ({exc})") from None
    return {name: values[0] for name, values in fields.items()}


def _change_view(change: Any) -> dict[str, Any]:
    return {
        "id": change.article_id,
        "title": change.title,
        "score": f"{change.score:g}",
        "evidence": list(change.evidence)[:5],
    }


def _counts(result: BacktestResult) -> dict[str, str]:
    numbers = ("articles", "would_tag", "stored", "added", "removed", "unchanged")
    return {name: number(getattr(result, name)) for name in numbers}


def run_backtests(
    marsad: Any, topics: Sequence[Topic], days: str
) -> tuple[list[dict[str, Any]], str, int]:
    """(one result per topic, the window described, articles considered). Writes nothing."""
    with marsad.session() as session:
        last = newest_day(session)
    since = None if days == "all" else _window(last, int(days))[0]
    considered = count_articles(marsad.engine, since)
    if considered * len(topics) > MAX_BACKTEST_WORK:
        raise BadRequest(
            f"{considered:,} articles in that window x {len(topics)} topic(s) is more than "
            f"{MAX_BACKTEST_WORK:,} to tag at once: choose fewer days (or run `marsad topics "
            "test` on the command line, which has no limit)"
        )
    if not _BACKTESTS.acquire(blocking=False):
        raise BadRequest("another backtest is running: try again when it has finished", 503)
    try:
        results = [_one_backtest(marsad, topic, since) for topic in topics]
    finally:
        _BACKTESTS.release()
    window = "every stored article" if since is None else f"articles since {since:%Y-%m-%d} UTC"
    return results, window, considered


def _one_backtest(marsad: Any, topic: Topic, since: datetime | None) -> dict[str, Any]:
    result: BacktestResult = backtest(
        marsad.engine, Tagger([topic]), topic.key, since, BACKTEST_SAMPLE
    )
    return {
        "topic": topic.key,
        "label": topic.label,
        "counts": _counts(result),
        "added": [_change_view(c) for c in result.added_sample],
        "removed": [_change_view(c) for c in result.removed_sample],
    }


async def backtest_page(request: Request) -> Response:
    marsad = context(request)
    if request.method == "GET":
        key = request.query_params.get("topic", "")[:64] or None
        form = _form_defaults(marsad.config, key)
        return render(request, "topic_backtest.html", {"nav": "topics", "form": form})
    if not _same_origin(request):
        raise BadRequest("this form only answers pages of this site (the Origin differs)", 403)
    fields = await _form(request)
    definition = fields.get("definition", "")
    days = fields.get("days", DEFAULT_BACKTEST_DAYS).strip() or DEFAULT_BACKTEST_DAYS
    if days not in BACKTEST_DAYS:
        raise BadRequest(f"days={days[:20]!r} is not one of: {', '.join(BACKTEST_DAYS)}")
    topics = parse_definition(definition, marsad.config)
    results, window, considered = await run_in_threadpool(run_backtests, marsad, topics, days)
    form = _form_defaults(marsad.config, None) | {"definition": definition, "days": days}
    return render(
        request,
        "topic_backtest.html",
        {
            "nav": "topics",
            "form": form,
            "results": results,
            "window": window,
            "considered": number(considered),
        },
    )


routes: list[BaseRoute] = [
    Route("/topics", topics_page),
    Route("/topics/backtest", backtest_page, methods=["GET", "POST"]),
    Route("/topics/{name}", topic_page),
]
