"""Parse and validate ``topics.toml`` (topics, their terms, exclusions and term options) and
``senses.toml`` (named sense rules that terms refer to with ``senses = [...]``)."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
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
SENSES_FILE = "senses.toml"

DEFAULT_THRESHOLD = 1.0
DEFAULT_TITLE_WEIGHT = 2.0
DEFAULT_NEAR_WITHIN = 5  # words between a term and its near/not_near context
MAX_NEAR_WITHIN = 50
FIELDS: tuple[str, ...] = ("title", "text")

_TOPIC_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_TOPIC_FIELDS = (
    "label", "threshold", "title_weight", "fields", "terms", "exclude", "corroborate",
)  # fmt: skip
_TERM_ENTRY_FIELDS = ("term", "weight", "near", "not_near", "within", "senses")
_SENSE_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_SENSE_FIELDS = (
    "description", "means", "within", "side", "ar", "fr", "en",
    "prev_word", "prev_word_except", "next_word", "next_word_except", "spread",
    "article_hits",
)  # fmt: skip
SENSE_MEANS = ("cancel", "confirm")
SENSE_SIDES = ("both", "before", "after")
SENSE_SPREADS = ("", "collocation", "article")
DEFAULT_SENSE_WITHIN = 3
MAX_WORD_PATTERN = 1000


@dataclass(frozen=True)
class Sense:
    """A named sense rule, shared by any term of any topic that lists it in ``senses``.

    means     "cancel": the term does not mean the topic's subject here (sport, law...);
              "confirm": the term counts only where this sense is found
    phrases   (lang, phrases) pairs: context words or phrases
    within    words allowed between the term and a context phrase
    side      where the context must be: "before", "after" or "both"
    prev_word / next_word   RE2 pattern the word right before / after the term must match
              in full (original spelling, only whitespace between), e.g. a capitalised name;
              *_except: a pattern that voids it (e.g. "Defense|Police")
    spread    "collocation": the term followed by the same next word is cancelled in the
              whole article (one sense per collocation: «Israel Okafor» in the text clears
              the title's); "article": every occurrence of the term in the article is
              (one sense per discourse: «رباط المنستير» then «بناء الرباط»); "" for neither
    article_hits  > 0: the sense is also found, for every occurrence of the term, when at
              least this many DISTINCT context phrases occur anywhere in the article (its
              register: a match report full of sport words, wherever the term is)
    """

    name: str
    means: str
    within: int
    side: str
    phrases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    prev_word: str = ""
    prev_word_except: str = ""
    next_word: str = ""
    next_word_except: str = ""
    spread: str = ""
    article_hits: int = 0
    description: str = ""

    @property
    def confirms(self) -> bool:
        return self.means == "confirm"

    def phrases_for(self, lang: str) -> tuple[str, ...]:
        return next((p for code, p in self.phrases if code == lang), ())


_EXCLUDE_ENTRY_FIELDS = ("term", "within")


@dataclass(frozen=True)
class TermOptions:
    """How one configured term (or exclusion) counts; the defaults are a plain string entry.

    weight    score added per match (before the field weight); below 1 the term is weak
    senses    named sense rules (``senses.toml``) deciding where the term means the topic
    near      the match counts only when one of these phrases is within ``within`` words
    not_near  the match is cancelled when one of these phrases is within ``within`` words
    within    words between the match and its context (for exclusions: 0 = overlapping only)
    """

    weight: float = 1.0
    near: tuple[str, ...] = ()
    not_near: tuple[str, ...] = ()
    within: int = 0
    senses: tuple[Sense, ...] = ()


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
    #: a score made only of one weak term (weight < 1) in the text does not tag the topic:
    #: it needs a strong term, a term in the title, or a second distinct term
    corroborate: bool = True
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


def _parse_terms(
    value: Any, file: str, key: str, required: bool, senses: Mapping[str, Sense]
) -> tuple[_Terms, _Options]:
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
                text, opts = _parse_term_entry(entry, file, ekey, exclude, senses)
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
    entry: Mapping[str, Any], file: str, key: str, exclude: bool, senses: Mapping[str, Sense]
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
    used = _sense_refs(entry.get("senses", MISSING), file, f"{key}.senses", senses)
    return text, TermOptions(weight, contexts["near"], contexts["not_near"], within, used)


def _sense_refs(value: Any, file: str, key: str, senses: Mapping[str, Sense]) -> tuple[Sense, ...]:
    if value is MISSING:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            file,
            key,
            value,
            "write senses = ['sport', 'law'] (names of [senses.<name>] tables in senses.toml)",
            problem="expected a non-empty list of sense names",
        )
    out: list[Sense] = []
    for i, name in enumerate(value):
        if name not in senses:
            known = ", ".join(sorted(senses)) or "none defined"
            raise ConfigError(
                file,
                f"{key}[{i}]",
                name,
                f"{suggest(name, sorted(senses))}use a sense defined in {SENSES_FILE} "
                f"(known: {known}) or add a [senses.{name}] table there",
                problem="unknown sense",
            )
        if senses[name] not in out:
            out.append(senses[name])
    return tuple(out)


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


def parse_topics(
    data: Mapping, file: str = TOPICS_FILE, senses: Mapping[str, Sense] | None = None
) -> tuple[Topic, ...]:
    """Validate the parsed ``topics.toml`` document and build the topics, in file order.

    ``senses``: the sense rules terms may name (default: the shipped ``senses.toml``)."""
    if senses is None:
        senses = shipped_senses()
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
            table.get("terms", MISSING), file, f"{prefix}.terms", True, senses
        )
        exclude, exclude_options = _parse_terms(
            table.get("exclude", MISSING), file, f"{prefix}.exclude", False, senses
        )
        corroborate = table.get("corroborate", True)
        if not isinstance(corroborate, bool):
            raise ConfigError(
                file,
                f"{prefix}.corroborate",
                corroborate,
                "write corroborate = true (one weak term alone does not tag) or false",
                problem="expected true or false",
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
                corroborate=corroborate,
                terms=terms,
                exclude=exclude,
                term_options=term_options,
                exclude_options=exclude_options,
            )
        )
    return tuple(out)


# --------------------------------------------------------------------------- sense rules


def parse_senses(data: Mapping, file: str = SENSES_FILE) -> dict[str, Sense]:
    """Validate a parsed ``senses.toml`` (``[senses.<name>]`` tables) into name -> Sense."""
    check_unknown(data, ("senses",), file, "", f"{file} (sense tables go under [senses.<name>])")
    tables = expect_table(
        data.get("senses", {}), file, "senses", "define sense rules as [senses.<name>] tables"
    )
    out: dict[str, Sense] = {}
    for name, table in tables.items():
        prefix = f"senses.{name}"
        if not _SENSE_KEY_RE.match(name):
            fixed = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "my_sense"
            raise ConfigError(
                file,
                prefix,
                name,
                f"rename the table to [senses.{fixed}] (lowercase letters, digits and '_')",
                problem="invalid sense name",
            )
        table = expect_table(table, file, prefix, f"write [senses.{name}] followed by means = ...")
        check_unknown(table, _SENSE_FIELDS, file, prefix, "a [senses.<name>] table")
        out[name] = _parse_sense(name, table, file, prefix)
    return out


def _parse_sense(name: str, table: Mapping[str, Any], file: str, prefix: str) -> Sense:
    means = table.get("means", "cancel")
    if means not in SENSE_MEANS:
        raise ConfigError(
            file,
            f"{prefix}.means",
            means,
            'write means = "cancel" (the context rules the topic out) or "confirm" '
            "(the term counts only in that context)",
            problem="unknown meaning",
        )
    side = table.get("side", "both")
    if side not in SENSE_SIDES:
        raise ConfigError(
            file,
            f"{prefix}.side",
            side,
            'write side = "before", "after" or "both"',
            problem="unknown side",
        )
    within = table.get("within", DEFAULT_SENSE_WITHIN)
    if (
        not isinstance(within, int)
        or isinstance(within, bool)
        or not 0 <= within <= MAX_NEAR_WITHIN
    ):
        raise ConfigError(
            file,
            f"{prefix}.within",
            within,
            f"write a whole number of words from 0 to {MAX_NEAR_WITHIN}, e.g. within = 3",
            problem="expected a word count",
        )
    phrases: list[tuple[str, tuple[str, ...]]] = []
    for lang in LANGUAGES:
        if lang not in table:
            continue
        raw = table[lang]
        if isinstance(raw, str) or not isinstance(raw, list):
            raise ConfigError(
                file,
                f"{prefix}.{lang}",
                raw,
                f"write {lang} = ['phrase one', 'phrase two']",
                problem="expected a list of strings",
            )
        phrases.append(
            (lang, tuple(_phrase(p, file, f"{prefix}.{lang}[{i}]") for i, p in enumerate(raw)))
        )
    patterns = {
        field: _word_pattern(table.get(field, ""), file, f"{prefix}.{field}")
        for field in ("prev_word", "prev_word_except", "next_word", "next_word_except")
    }
    if not phrases and not patterns["prev_word"] and not patterns["next_word"]:
        raise ConfigError(
            file,
            prefix,
            dict(table),
            "add context phrases (ar = [...], fr = [...], en = [...]) or a prev_word / "
            "next_word pattern",
            problem="the sense rule has nothing to look for",
        )
    spread = table.get("spread", "")
    if spread is True:
        spread = "collocation"
    if spread is False:
        spread = ""
    if spread not in SENSE_SPREADS:
        raise ConfigError(
            file,
            f"{prefix}.spread",
            spread,
            'write spread = "collocation" (the term with the same next word, everywhere in '
            'the article) or "article" (the term everywhere in the article), or remove it',
            problem="unknown spread",
        )
    article_hits = table.get("article_hits", 0)
    if (
        not isinstance(article_hits, int)
        or isinstance(article_hits, bool)
        or not 0 <= article_hits <= MAX_NEAR_WITHIN
    ):
        raise ConfigError(
            file,
            f"{prefix}.article_hits",
            article_hits,
            "write how many distinct context phrases anywhere in the article make the sense, "
            "e.g. article_hits = 3 (0 = only near the term)",
            problem="expected a whole number from 0 to 50",
        )
    description = table.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(
            file,
            f"{prefix}.description",
            description,
            'write description = "what the word means in this context"',
            problem="expected a string",
        )
    return Sense(
        name=name,
        means=means,
        within=within,
        side=side,
        phrases=tuple(phrases),
        spread=spread,
        article_hits=article_hits,
        description=description.strip(),
        **patterns,
    )


def _word_pattern(value: Any, file: str, key: str) -> str:
    """A prev_word/next_word pattern, checked to compile with RE2 (linear-time matching)."""
    if value == "":
        return ""
    example = r'e.g. next_word = "\\p{Lu}\\p{Ll}+" (a capitalised word)'
    if not isinstance(value, str) or len(value) > MAX_WORD_PATTERN:
        raise ConfigError(
            file,
            key,
            value,
            f"write a regular expression of at most {MAX_WORD_PATTERN} characters, {example}",
            problem="expected a pattern string",
        )
    import re2  # RE2: a sense pattern cannot make matching slow, whatever it says

    try:
        re2.compile(value, _re2_options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ConfigError(
            file,
            key,
            value,
            f"correct the regular expression (RE2 syntax: no backreferences or lookarounds), "
            f"{example}",
            problem=f"bad regular expression: {reason}",
        ) from None
    return value


@cache
def _re2_options() -> Any:
    import re2

    options = re2.Options()
    options.log_errors = False
    return options


def _shipped_senses_path() -> Path | None:
    package_dir = Path(__file__).resolve().parents[1]
    for directory in (package_dir.parent / "config", package_dir / "default_config"):
        if (directory / SENSES_FILE).is_file():
            return directory / SENSES_FILE
    return None


@cache
def shipped_senses() -> Mapping[str, Sense]:
    """The sense rules shipped with Marsad (the repository's or the installed package's
    ``config/senses.toml``); empty when neither exists."""
    path = _shipped_senses_path()
    if path is None:
        return {}
    with open(path, "rb") as fh:
        return parse_senses(tomllib.load(fh), str(path))


def load_senses(directory: Path, read: Any = None, show: Any = str) -> dict[str, Sense]:
    """The shipped sense rules, overridden and extended by ``<directory>/senses.toml`` when
    the configuration directory has one (``read(path, required=False)``: the caller's TOML
    reader, for its syntax errors; ``show(path)``: how the file is named in errors)."""
    senses = dict(shipped_senses())
    path = Path(directory) / SENSES_FILE
    shipped = _shipped_senses_path()
    if path.is_file() and (shipped is None or path.resolve() != shipped.resolve()):
        if read is not None:
            data = read(path, required=False)
        else:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        senses.update(parse_senses(data or {}, show(path)))
    return senses
