"""Parse and validate ``topics.toml``: topics, their terms, exclusions and term options."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crawler.config.checks import (
    LANG_ALIASES,
    LANGUAGES,
    MISSING,
    ConfigError,
    check_unknown,
    expect_table,
    quoted_languages,
    suggest,
)

TOPICS_FILE = "topics.toml"

DEFAULT_THRESHOLD = 1.0
DEFAULT_TITLE_WEIGHT = 2.0
DEFAULT_NEAR_WITHIN = 5  # words between a term and its near/not_near context
MAX_NEAR_WITHIN = 50
FIELDS: tuple[str, ...] = ("title", "text")

_TOPIC_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_TOPIC_FIELDS = ("label", "threshold", "title_weight", "fields", "terms", "exclude")
_TERM_ENTRY_FIELDS = ("term", "weight", "near", "not_near", "within")
_EXCLUDE_ENTRY_FIELDS = ("term", "within")


@dataclass(frozen=True)
class TermOptions:
    """How one configured term (or exclusion) counts; the defaults are a plain string entry.

    weight    score added per match (before the field weight)
    near      the match counts only when one of these phrases is within ``within`` words
    not_near  the match is cancelled when one of these phrases is within ``within`` words
    within    words between the match and its context (for exclusions: 0 = overlapping only)
    """

    weight: float = 1.0
    near: tuple[str, ...] = ()
    not_near: tuple[str, ...] = ()
    within: int = 0


PLAIN_TERM = TermOptions()


@dataclass(frozen=True)
class Topic:
    key: str
    label: str
    threshold: float
    title_weight: float
    terms: Mapping[str, tuple[str, ...]]
    exclude: Mapping[str, tuple[str, ...]]
    text_weight: float = 1.0
    #: lang -> phrase -> options, only for entries written as tables; others are PLAIN_TERM
    term_options: Mapping[str, Mapping[str, TermOptions]] = dataclasses.field(default_factory=dict)
    exclude_options: Mapping[str, Mapping[str, TermOptions]] = dataclasses.field(
        default_factory=dict
    )

    def options(self, lang: str, phrase: str, exclude: bool = False) -> TermOptions:
        table = self.exclude_options if exclude else self.term_options
        return table.get(lang, {}).get(phrase, PLAIN_TERM)

    def field_weight(self, name: str) -> float:
        return self.title_weight if name == "title" else self.text_weight


_Terms = dict[str, tuple[str, ...]]
_Options = dict[str, dict[str, TermOptions]]


def _parse_terms(value: Any, file: str, key: str, required: bool) -> tuple[_Terms, _Options]:
    """``{lang: [entry, ...]}`` -> (phrases per language, options of table entries)."""
    example = "{ ar = ['...'], fr = ['...'], en = ['...'] }"
    exclude = not required
    if value is MISSING:
        if required:
            raise ConfigError(file, key, value, f"add terms = {example}", problem="required key")
        return {lang: () for lang in LANGUAGES}, {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            file,
            key,
            value,
            f"write {key.rsplit('.', 1)[-1]} = {example}",
            problem="expected a table of language -> list of phrases",
        )
    out: _Terms = {lang: () for lang in LANGUAGES}
    options: _Options = {}
    for lang, phrases in value.items():
        lkey = f"{key}.{lang}"
        if lang not in LANGUAGES:
            alias = LANG_ALIASES.get(lang.lower())
            hint = f"did you mean {alias!r}? " if alias else suggest(lang, LANGUAGES)
            raise ConfigError(
                file,
                lkey,
                phrases,
                f"{hint}use one of {quoted_languages()}",
                problem="unknown language",
            )
        if isinstance(phrases, str) or not isinstance(phrases, list):
            raise ConfigError(
                file,
                lkey,
                phrases,
                f"write {lang} = ['phrase one', 'phrase two']",
                problem="expected a list of strings",
            )
        seen: list[str] = []
        for i, entry in enumerate(phrases):
            ekey = f"{lkey}[{i}]"
            if isinstance(entry, Mapping):
                text, opts = _parse_term_entry(entry, file, ekey, exclude)
            else:
                text, opts = _phrase(entry, file, ekey), PLAIN_TERM
            if text in seen:
                if opts != PLAIN_TERM:
                    raise ConfigError(
                        file,
                        ekey,
                        entry,
                        f"keep one entry for {text!r} and put its options there",
                        problem="duplicate term",
                    )
                continue
            seen.append(text)
            if opts != PLAIN_TERM:
                options.setdefault(lang, {})[text] = opts
        out[lang] = tuple(seen)
    if required and not any(out.values()):
        raise ConfigError(
            file,
            key,
            dict(value),
            f"add phrases, e.g. terms = {example}",
            problem="no terms in any language",
        )
    return out, options


def _phrase(value: Any, file: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            file,
            key,
            value,
            "make every entry a non-empty quoted string (or { term = '...', weight = 2 })",
            problem="expected a non-empty string",
        )
    return " ".join(value.split())


def _parse_term_entry(
    entry: Mapping[str, Any], file: str, key: str, exclude: bool
) -> tuple[str, TermOptions]:
    allowed = _EXCLUDE_ENTRY_FIELDS if exclude else _TERM_ENTRY_FIELDS
    where = "an exclusion entry" if exclude else "a term entry"
    check_unknown(entry, allowed, file, key, where)
    if "term" not in entry:
        raise ConfigError(
            file,
            f"{key}.term",
            MISSING,
            "write the entry as { term = 'phrase', weight = 2 }",
            problem="required key",
        )
    text = _phrase(entry["term"], file, f"{key}.term")
    weight = 1.0
    if "weight" in entry:
        weight = _positive_float(entry["weight"], 1.0, file, f"{key}.weight", allow_zero=False)
    contexts: dict[str, tuple[str, ...]] = {}
    for name in ("near", "not_near"):
        if name not in entry:
            contexts[name] = ()
            continue
        raw = entry[name]
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not raw:
            raise ConfigError(
                file,
                f"{key}.{name}",
                raw,
                f"write {name} = ['phrase one', 'phrase two']",
                problem="expected a non-empty list of phrases",
            )
        contexts[name] = tuple(_phrase(p, file, f"{key}.{name}[{j}]") for j, p in enumerate(raw))
    has_context = bool(contexts["near"] or contexts["not_near"])
    within = DEFAULT_NEAR_WITHIN if has_context else 0
    if "within" in entry:
        within = entry["within"]
        if not exclude and not has_context:
            raise ConfigError(
                file,
                f"{key}.within",
                within,
                "add near = [...] or not_near = [...] to the entry, or remove within",
                problem="within only applies to near/not_near contexts",
            )
        if (
            not isinstance(within, int)
            or isinstance(within, bool)
            or not 0 <= within <= MAX_NEAR_WITHIN
        ):
            raise ConfigError(
                file,
                f"{key}.within",
                within,
                f"write a whole number of words from 0 to {MAX_NEAR_WITHIN}, e.g. within = 5",
                problem="expected a word count",
            )
    return text, TermOptions(weight, contexts["near"], contexts["not_near"], within)


def _parse_fields(value: Any, file: str, key: str) -> tuple[float, float]:
    """``fields = { title = 2.0, text = 1.0 }`` -> (title weight, text weight); 0 ignores one."""
    fix = "write fields = { title = 2.0, text = 1.0 } (0 makes a field not count)"
    table = expect_table(value, file, key, fix)
    check_unknown(table, FIELDS, file, key, "fields")
    weights = [
        _positive_float(table.get(name, MISSING), default, file, f"{key}.{name}", allow_zero=True)
        for name, default in (("title", DEFAULT_TITLE_WEIGHT), ("text", 1.0))
    ]
    if not any(weights):
        raise ConfigError(file, key, dict(table), fix, problem="no field counts")
    return weights[0], weights[1]


def _positive_float(value: Any, default: float, file: str, key: str, allow_zero: bool) -> float:
    if value is MISSING:
        return default
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and (value > 0 or (allow_zero and value == 0)):
        return float(value)
    bound = ">= 0" if allow_zero else "> 0"
    raise ConfigError(
        file,
        key,
        value,
        f"write a number {bound}, e.g. {key.rsplit('.', 1)[-1]} = {default}",
        problem=f"expected a number {bound}",
    )


def parse_topics(data: Mapping, file: str = TOPICS_FILE) -> tuple[Topic, ...]:
    """Validate the parsed ``topics.toml`` document and build the topics, in file order."""
    check_unknown(data, ("topics",), file, "", f"{file} (topic tables go under [topics.<key>])")
    topics = expect_table(
        data.get("topics", {}), file, "topics", "define topics as [topics.<key>] tables"
    )
    out: list[Topic] = []
    for key, table in topics.items():
        prefix = f"topics.{key}"
        if not _TOPIC_KEY_RE.match(key):
            fixed = re.sub(r"[^a-z0-9_-]+", "-", key.lower()).strip("-") or "my-topic"
            raise ConfigError(
                file,
                prefix,
                key,
                f"rename the table to [topics.{fixed}] (lowercase letters, digits, '-' and '_')",
                problem="invalid topic key",
            )
        table = expect_table(table, file, prefix, f"write [topics.{key}] followed by label = ...")
        check_unknown(table, _TOPIC_FIELDS, file, prefix, "a [topics.<key>] table")
        label = table.get("label", key)
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(
                file,
                f"{prefix}.label",
                label,
                f"write label = {key.title()!r}",
                problem="expected a non-empty string",
            )
        title_weight = _positive_float(
            table.get("title_weight", MISSING),
            DEFAULT_TITLE_WEIGHT,
            file,
            f"{prefix}.title_weight",
            allow_zero=True,
        )
        text_weight = 1.0
        if "fields" in table:
            if "title_weight" in table:
                raise ConfigError(
                    file,
                    f"{prefix}.title_weight",
                    table["title_weight"],
                    "remove title_weight and write the weight in fields = { title = ... }",
                    problem="both title_weight and fields are set",
                )
            title_weight, text_weight = _parse_fields(table["fields"], file, f"{prefix}.fields")
        terms, term_options = _parse_terms(
            table.get("terms", MISSING), file, f"{prefix}.terms", True
        )
        exclude, exclude_options = _parse_terms(
            table.get("exclude", MISSING), file, f"{prefix}.exclude", False
        )
        out.append(
            Topic(
                key=key,
                label=label.strip(),
                threshold=_positive_float(
                    table.get("threshold", MISSING),
                    DEFAULT_THRESHOLD,
                    file,
                    f"{prefix}.threshold",
                    allow_zero=False,
                ),
                title_weight=title_weight,
                text_weight=text_weight,
                terms=terms,
                exclude=exclude,
                term_options=term_options,
                exclude_options=exclude_options,
            )
        )
    return tuple(out)
