"""Logging for every `marsad` command: the level (-v), the format (text or JSON) and the file.

Each line carries an ISO 8601 timestamp with its offset (UTC), e.g.
``2026-12-01T22:49:54+00:00 INFO crawler.schedule.daemon: leader: ...``; ``--log-format json``
writes one JSON object per line (``time``, ``level``, ``logger``, ``message``, and
``exception`` when there is one). ``--log-file PATH`` appends to PATH instead of stderr.

A crawl keeps this handler (crawler/crawl/run.py tells Scrapy not to install its own), so crawl
lines have the same format and go to the same place.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import click

TEXT, JSON = "text", "json"
LOG_FORMATS = (TEXT, JSON)


def level_for(verbose: int) -> int:
    return {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds")


class TextFormatter(logging.Formatter):
    """``TIME LEVEL logger: message`` (and the traceback on the following lines)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _timestamp(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a traceback goes into ``exception``, never onto more lines."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def make_formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == JSON else TextFormatter()


def check_log_file(path: str | None) -> Path | None:
    """The log file's path; a missing folder or a folder given as the file is a usage error."""
    if path is None:
        return None
    from crawler.cli.common import UsageError

    file = Path(path).expanduser()
    if file.is_dir():
        raise UsageError(
            f"--log-file {path}: is a folder; name a file in it, e.g. {file / 'marsad.log'}"
        )
    if not file.parent.is_dir():
        raise UsageError(
            f"--log-file {path}: the folder {file.parent} does not exist; create it or "
            "choose another path"
        )
    return file


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time (click's test runner swaps it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


_installed: logging.Handler | None = None  # ours, replaced by the next setup_logging


def setup_logging(verbose: int, log_format: str = TEXT, log_file: str | None = None) -> None:
    """One root handler (stderr, or *log_file* in append mode) in *log_format* at -v's level.

    Only the handler installed here before is replaced: handlers others put on the root logger
    (pytest's, an embedding application's) stay.
    """
    global _installed
    file = check_log_file(log_file)
    handler: logging.Handler
    if file is None:
        handler = StderrHandler()
    else:
        try:
            handler = logging.FileHandler(file, mode="a", encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(
                f"--log-file {log_file}: cannot open it for writing: {exc.strerror}; check the "
                "folder's permissions or choose another path"
            ) from exc
    handler.setFormatter(make_formatter(log_format))
    root = logging.getLogger()
    if _installed is not None:
        root.removeHandler(_installed)
        _installed.close()
    root.addHandler(handler)
    root.setLevel(level_for(verbose))
    _installed = handler


def child_log_options(log_format: str, log_file: str | None) -> list[str]:
    """The global options that give a `marsad` child process this process's log format/file."""
    options = ["--log-format", log_format]
    if log_file is not None:
        options += ["--log-file", str(Path(log_file).expanduser().resolve())]
    return options
