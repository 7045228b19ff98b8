"""`marsad digest`: send alert digests (a thin shell over :mod:`crawler.digest`).

    marsad digest [RULE...] [--dry-run] [--since 2d] [--out FILE]   # same as `digest run`
    marsad digest preview RULE --out digest.html
    marsad digest history [RULE]

A rule named like a subcommand (run, preview, history) is reached with `digest run NAME`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime

import click

from crawler import db
from crawler.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    State,
    UsageError,
    check_out,
    format_option,
    open_out,
    since_option,
)
from crawler.config import Config, ConfigError
from crawler.config.alerts import AlertsConfig, Rule, load_alerts
from crawler.config.checks import suggest
from crawler.digest import preview, recent_runs, run_rule
from crawler.digest.channels import Rendered
from crawler.text.bidi import isolate


class _DefaultRunGroup(click.Group):
    """A group whose bare form (`digest RULE...`, `digest --dry-run`) means `digest run ...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


def _alerts(state: State) -> tuple[AlertsConfig, Config]:
    config = state.config()
    try:
        return load_alerts(config=config), config
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc


# the file formats of --out, chosen by the file's suffix
OUT_SUFFIXES = {"html": (".html", ".htm"), "markdown": (".md",), "text": (".txt",),
                "json": (".json",)}  # fmt: skip


def _write_out(path: str, rendered: Rendered) -> None:
    fmt = check_out(path, OUT_SUFFIXES)
    body = {"html": rendered.html, "markdown": rendered.markdown, "text": rendered.text,
            "json": rendered.json}[fmt]  # fmt: skip
    with open_out(path) as fh:
        fh.write(body)
    click.echo(f"wrote {path}", err=True)


def _check_channels(names: Sequence[str], rules: Sequence[Rule]) -> None:
    """Each --channel names a channel of the selected rules: a typo must not send nothing."""
    known = sorted({channel.name for rule in rules for channel in rule.channels})
    for name in names:
        if name not in known:
            raise UsageError(
                f"--channel {name}: no such channel in the selected rule(s). "
                f"Fix: {suggest(name, known)}use one of {', '.join(known) or '(none)'}"
            )


@click.group("digest", cls=_DefaultRunGroup)
def digest() -> None:
    """Alert digests from config/alerts.toml; `digest RULE...` is short for `digest run RULE...`."""


@digest.command("run")
@click.argument("rules", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send and record nothing.")
@since_option("Window start: a duration (12h, 2d) or a date.")
@click.option("--channel", "channels", multiple=True, help="Only these channels (repeatable).")
@click.option("--out", metavar="FILE", help="Also write the digest (.html, .md, .json, .txt).")
@format_option("json")
@click.pass_obj
def run_cmd(
    state: State,
    rules: tuple[str, ...],
    dry_run: bool,
    since: datetime | None,
    channels: tuple[str, ...],
    out: str | None,
    fmt: str,
) -> None:
    """Send the digests of RULES (default: every enabled rule) through their channels.

    Items already delivered by a channel are never sent again by it; items a failing channel
    could not deliver stay pending for its next run. Exit status: 0 when every channel
    succeeded (or had nothing to send), 1 when one failed, 2 for usage or config errors.
    """
    if out:
        check_out(out, OUT_SUFFIXES)  # before anything is sent
    alerts, config = _alerts(state)
    try:
        selected = [alerts.rule(r) for r in rules] if rules else [
            r for r in alerts.rules if r.enabled]  # fmt: skip
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    _check_channels(channels, selected)
    with state.engine() as engine:
        results = [
            run_rule(engine, config, alerts, rule, dry_run=dry_run, since=since,
                     channels=channels or None)
            for rule in selected
        ]  # fmt: skip
    if out:
        rendered = next((r for res in results for r in res.rendered.values()), None)
        if rendered is None:
            click.echo("nothing to write: no pending items", err=True)
        else:
            _write_out(out, rendered)
    if fmt == "json":
        click.echo(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2))
    else:
        for res in results:
            for o in res.outcomes:
                detail = f"  {o.detail}" if o.detail else ""
                click.echo(f"{res.rule}\t{o.channel}\t{o.status}\t{o.items} items{detail}")
                digest_ = res.digests.get(o.channel)
                if dry_run and digest_ is not None:
                    for item in digest_.items:
                        outlet, title = isolate(item.outlet), isolate(item.title)
                        click.echo(f"    - [{outlet}] {title}  <{item.url}>")
    sys.exit(EXIT_OK if all(r.ok for r in results) else EXIT_FAILED)


@digest.command("preview")
@click.argument("rule")
@click.option("--out", metavar="FILE", required=True, help="Output: .html, .md, .json or .txt.")
@since_option("Window start (default: the rule's lookback).")
@click.option("--channel", help="Only items still pending for this channel.")
@click.pass_obj
def preview_cmd(
    state: State, rule: str, out: str, since: datetime | None, channel: str | None
) -> None:
    """Render RULE's digest to a file without sending or recording anything."""
    check_out(out, OUT_SUFFIXES)
    alerts, config = _alerts(state)
    try:
        selected = alerts.rule(rule)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    _check_channels((channel,) if channel else (), [selected])
    with state.engine() as engine:
        digest_, rendered = preview(engine, config, selected, since=since, channel=channel)
    _write_out(out, rendered)
    click.echo(f"{len(digest_.items)} items; subject: {rendered.subject}")


@digest.command("history")
@click.argument("rule", required=False)
@click.option("--limit", default=20, show_default=True)
@click.pass_obj
def history_cmd(state: State, rule: str | None, limit: int) -> None:
    """Recent digest runs with each channel's outcome."""
    with state.session() as session:
        for run in recent_runs(session, rule, limit):
            outcomes = ", ".join(f"{c.channel}={c.status}({c.items})" for c in run.channels)
            click.echo(
                f"{db.as_utc(run.started_at):%Y-%m-%d %H:%M}\t{run.rule}\t{run.trigger}\t"
                f"{run.status}\t{outcomes}"
            )
