"""`marsad tag`, `marsad retag` and `marsad topics ...`: thin click shells over
crawler.tagging (tag JSON lines, no database) and crawler.retag (stored articles)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import IO

import click

from crawler.cli.common import State, UsageError, format_option, since_option
from crawler.config import Topic
from crawler.tagging import Tagger, tag_record
from crawler.tagging.retag import DEFAULT_BATCH_SIZE, backtest, count_articles, retag
from crawler.text.bidi import isolate

SINCE_HELP = "Only articles published (or fetched) since a date (2024-05-01) or age (7d, 24h)."


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr (a no-op callback when stderr is not a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda n: None
        return
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


@click.command()
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
@format_option("jsonl", human=False, default="jsonl")
@click.pass_obj
def tag(state: State, file: IO[str], fmt: str) -> None:
    """Tag JSON lines from FILE (default: stdin); no database.

    Each input line has "id", "title", "text" and optionally "lang". Each output line is
    {"id": ..., "topics": {"topic": score, ...}, "matches": [{"topic", "term", "field",
    "position", "snippet"}, ...]}, listing only topics at or above their threshold.
    """
    tagger = Tagger(state.config().topics)
    out = sys.stdout
    for number, line in enumerate(file, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"line {number}: not valid JSON ({exc})") from exc
        if not isinstance(record, dict):
            raise UsageError(f"line {number}: expected a JSON object with id, title and text")
        out.write(json.dumps(tag_record(tagger, record), ensure_ascii=False) + "\n")


@click.command("retag")
@since_option(SINCE_HELP)
@click.option(
    "--batch-size", type=click.IntRange(1, 100_000), default=DEFAULT_BATCH_SIZE, show_default=True
)
@format_option("json")
@click.pass_obj
def retag_cmd(state: State, since: datetime | None, batch_size: int, fmt: str) -> None:
    """Re-apply the current topics to stored articles, replacing their tags."""
    tagger = Tagger(state.config().topics)
    with state.engine() as engine, _progress(count_articles(engine, since), "retag") as advance:
        result = retag(engine, tagger, since, batch_size, advance)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{result.articles} articles retagged.")
    for name, counts in result.to_dict()["topics"].items():
        click.echo(f"  {name:<20} +{counts['added']:<6} -{counts['removed']:<6} ={counts['kept']}")


@click.group()
def topics() -> None:
    """Inspect and try out the topics of topics.toml."""


@topics.command("list")
@click.pass_obj
def topics_list(state: State) -> None:
    """The configured topics, their threshold and number of terms per language."""
    for topic in state.config().topics:
        counts = ", ".join(f"{lang} {len(terms)}" for lang, terms in topic.terms.items())
        click.echo(f"{topic.key:<16} threshold {topic.threshold:g}  terms: {counts}  {topic.label}")


def _topic(state: State, key: str) -> Topic:
    config = state.config()
    try:
        return config.topic(key)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from exc


@topics.command("test")
@click.argument("topic_key", metavar="TOPIC")
@since_option(SINCE_HELP)
@click.option("--sample", type=click.IntRange(0, 1000), default=5, show_default=True)
@format_option("json")
@click.pass_obj
def topics_test(
    state: State, topic_key: str, since: datetime | None, sample: int, fmt: str
) -> None:
    """Backtest TOPIC as now written on stored articles; changes nothing.

    Shows how many articles it would tag, how that differs from the stored tags (added,
    removed, unchanged) and a sample of added and removed articles with their evidence.
    """
    topic = _topic(state, topic_key)
    with (
        state.engine() as engine,
        _progress(count_articles(engine, since), f"test {topic.key}") as advance,
    ):
        result = backtest(engine, Tagger([topic]), topic.key, since, sample, progress=advance)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str))
        return
    click.echo(
        f"{topic.key}: {result.would_tag} of {result.articles} articles would be tagged "
        f"(stored now: {result.stored}); added {result.added}, removed {result.removed}, "
        f"unchanged {result.unchanged}."
    )
    for heading, changes in (("Added", result.added_sample), ("Removed", result.removed_sample)):
        if not changes:
            continue
        click.echo(f"\n{heading}:")
        for change in changes:
            click.echo(f"  #{change.article_id} [{change.score:g}] {isolate(change.title)}")
            for ev in change.evidence[:3]:
                snippet = isolate(ev.get("snippet", ""))
                sense = f" (sense: {isolate(ev['sense'])})" if ev.get("sense") else ""
                click.echo(f"      {ev.get('term')!r} in {ev.get('field')}{sense}: {snippet}")
