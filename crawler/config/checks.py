"""Shared config validation: ConfigError, the MISSING marker, languages, key and type checks."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

LANGUAGES: tuple[str, ...] = ("ar", "fr", "en")

LANG_ALIASES = {
    "arabic": "ar", "arabe": "ar", "ara": "ar", "عربي": "ar", "العربية": "ar",
    "french": "fr", "francais": "fr", "français": "fr", "fra": "fr", "fre": "fr",
    "english": "en", "anglais": "en", "eng": "en",
}  # fmt: skip


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


class ConfigError(Exception):
    """A configuration mistake; ``str()`` names the file, key, value, problem and fix.

    ``str()`` looks like::

        config/sources.toml: key 'sources.hespress-ar.lang' = 'arr': unknown language.
        Fix: use one of 'ar', 'fr', 'en'.

    File-level problems (missing file, TOML syntax) have ``key == ""``.
    """

    def __init__(
        self,
        file: str,
        key: str,
        value: object,
        fix: str,
        problem: str = "invalid value",
    ) -> None:
        self.file = str(file)
        self.key = key
        self.value = value
        self.fix = fix
        self.problem = problem
        super().__init__(self._render())

    def _render(self) -> str:
        fix = self.fix.rstrip(".")
        problem = self.problem.rstrip(".")
        if not self.key:
            where = f"{self.file}"
        elif self.value is MISSING:
            where = f"{self.file}: key '{self.key}' is not set"
        else:
            where = f"{self.file}: key '{self.key}' = {_show(self.value)}"
        return f"{where}: {problem}. Fix: {fix}."

    def __str__(self) -> str:
        return self._render()


def _show(value: object, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def quoted_languages() -> str:
    return ", ".join(repr(x) for x in LANGUAGES)


def suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def check_unknown(
    table: Mapping[str, Any], allowed: Sequence[str], file: str, prefix: str, where: str
) -> None:
    for key in table:
        if key not in allowed:
            allowed_list = ", ".join(allowed)
            raise ConfigError(
                file,
                f"{prefix}.{key}" if prefix else key,
                table[key],
                f"{suggest(key, allowed)}Allowed keys in {where}: {allowed_list}",
                problem="unknown key",
            )


def expect_table(value: Any, file: str, key: str, fix: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(file, key, value, fix, problem="expected a table")
    return value
