"""`-s KEY=VALUE` values checked before a crawl starts, against the type of each key's default.

Pure; a bad value raises `SettingError`, whose message names the value and the fix (the CLI
turns it into a usage error, exit 2, before any database or reactor is touched).
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Mapping
from functools import cache
from types import ModuleType
from typing import Any

import scrapy.settings.default_settings as scrapy_defaults
from scrapy.settings import BaseSettings

from crawler import settings as marsad_defaults
from crawler.crawl.agent import SettingError
from crawler.extract.pool import COMPRESSIONS

logger = logging.getLogger(__name__)

LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
# String settings with a fixed set of values (every other string is taken as given).
CHOICES: dict[str, tuple[str, ...]] = {
    "LOG_LEVEL": LOG_LEVELS,
    "RETRY_GIVE_UP_LOG_LEVEL": LOG_LEVELS,
    "MARSAD_RAW_HTML": COMPRESSIONS,
}
_UNITS = (
    (
        (
            "_DELAY",
            "_TIMEOUT",
            "_INTERVAL",
            "_SECONDS",
            "_BACKOFF_BASE",
            "_BACKOFF_MAX",
            "_AFTER_MAX",
            "_WINDOW",
        ),
        "seconds",
    ),
    (("_DAYS",), "days"),
    (("_SIZE",), "bytes"),
)


def _settings_of(module: ModuleType) -> dict[str, Any]:
    # vars(), not getattr(): Scrapy's module warns on access to its deprecated names
    return {name: value for name, value in vars(module).items() if name.isupper()}


@cache
def known_settings() -> dict[str, Any]:
    """Every setting Scrapy or Marsad knows, with its default (ours win: crawler/settings.py)."""
    return {**_settings_of(scrapy_defaults), **_settings_of(marsad_defaults)}


def _unit(key: str) -> str:
    for suffixes, unit in _UNITS:
        if key.endswith(suffixes):
            return f" ({unit})"
    return ""


def _check_value(key: str, value: str, default: Any) -> Any:
    """*value* as Scrapy will read it (bool, int, float), else unchanged; SettingError if it
    cannot be read. Scrapy's own getters decide, so exactly what they accept passes."""
    if key in CHOICES:
        if value not in CHOICES[key]:
            raise SettingError(f"-s {key}={value}: expected one of {', '.join(CHOICES[key])}")
        return value
    read: Callable[[BaseSettings, str], Any]
    if isinstance(default, bool):
        read, expected = (
            BaseSettings.getbool,
            f"True or False (or 1 or 0), e.g. -s {key}={not default}",
        )
    elif isinstance(default, int):
        read, expected = (
            BaseSettings.getint,
            f"a whole number{_unit(key)}, e.g. -s {key}={default} (the default)",
        )
    elif isinstance(default, float):
        read, expected = (
            BaseSettings.getfloat,
            f"a number{_unit(key)}, e.g. -s {key}={default:g} (the default)",
        )
    elif isinstance(default, dict):
        read, expected = BaseSettings.getdict, f"""a JSON object, e.g. -s '{key}={{"name": 100}}'"""
    else:
        return value  # a string, a list (comma-separated) or no default: taken as given
    try:
        converted = read(BaseSettings({key: value}), key)
    except (ValueError, TypeError):
        raise SettingError(f"-s {key}={value}: expected {expected}") from None
    return value if isinstance(default, dict) else converted  # Scrapy parses the JSON itself


def check_overrides(overrides: Mapping[str, str]) -> dict[str, Any]:
    """`-s KEY=VALUE` pairs checked against the type of each key's default; returns them with
    booleans and numbers converted. An unknown key is passed on, with a warning that suggests
    the known key it is closest to (a typo like DOWNLOAD_DELY would otherwise do nothing)."""
    known = known_settings()
    checked: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in known:
            checked[key] = _check_value(key, value, known[key])
            continue
        close = difflib.get_close_matches(key.upper(), known, n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]}?)" if close else ""
        logger.warning(
            "-s %s=%s: %s is not a Scrapy or Marsad setting%s; it is passed on unchanged",
            key, value, key, hint,
        )  # fmt: skip
        checked[key] = value
    return checked
