"""`marsad sources list` and `marsad sources check`: the configured sources."""

from __future__ import annotations

import sys

import click

from crawler.cli.common import EXIT_FAILED, State, format_option
from crawler.cli.output import print_sources


@click.group()
def sources() -> None:
    """List and check the configured sources."""


@sources.command("list")
@format_option("json")
@click.pass_obj
def sources_list(state: State, fmt: str) -> None:
    """The configured sources, their languages and discovery endpoints."""
    print_sources(state.config(), fmt)


@sources.command("check")
@click.option("--online", is_flag=True, help="Also fetch every feed, sitemap and section page.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=15.0,
    show_default=True,
    help="Seconds to wait for each endpoint (more than 0).",
)
@click.pass_obj
def sources_check(state: State, online: bool, timeout: float) -> None:
    """Validate sources.toml, topics.toml and alerts.toml; with --online, probe each endpoint."""
    from crawler.config.alerts import load_alerts

    config = state.config()
    alerts = load_alerts(config=config)  # a ConfigError is a usage error (exit 2)
    click.echo(
        f"{config.directory}: {len(config.sources)} sources and "
        f"{len(config.topics)} topics are valid."
    )
    if alerts.file.exists():
        rules = (
            "1 alert rule is" if len(alerts.rules) == 1 else f"{len(alerts.rules)} alert rules are"
        )
        click.echo(f"{alerts.file}: {rules} valid.")
    else:
        click.echo(f"{alerts.file}: none (no alert rules).")
    if not online:
        return
    from crawler.crawl.probe import probe_sources

    failures = 0
    for result in probe_sources(config.sources, timeout=timeout):
        failures += not result.ok
        mark = "ok  " if result.ok else "FAIL"
        click.echo(f"{mark} {result.source:<20} {result.kind:<8} {result.url}  {result.detail}")
    if failures:
        click.echo(f"{failures} endpoint(s) failed.", err=True)
        sys.exit(EXIT_FAILED)
