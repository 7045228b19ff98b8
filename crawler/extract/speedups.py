"""Two speed-ups for trafilatura, installed once per process; neither changes what it selects.

**XPath regex tests.** trafilatura selects boilerplate, comments, bodies, authors, categories
and tags with XPath expressions such as ``//div[re:test(@class, 'author|[Bb]yline')]``. An
EXSLT ``re:test`` calls back into Python once per candidate element: on 150 KB news pages
(2,000-3,000 elements) the rewrite below cut the whole extraction's CPU by about 15 %
(bench/xpath_equivalence.py measures the expressions alone). Most of the patterns are
alternations of literal words, which XPath 1.0's own string functions express exactly:
``contains(@class, 'author') or contains(@class, 'byline') or ...``; anchored words become
``starts-with``; a negative lookahead after an anchored word becomes ``not(starts-with(...))``.

`rewrite_regex_tests` rewrites the short alternations it can translate exactly; every other test
(``\\s``, ``$``, flags, ranges, long alternations, for which one compiled regex is cheaper) first
checks that its attribute exists, so an element without it no longer costs a callback. `install`
swaps trafilatura's module-level XPath lists in place for the rewritten expressions. Both forms
select the same nodes: tests/test_extract_speedups.py checks each rewritten test against
``re.search`` on attribute values built from the pattern's own words, and
`bench/xpath_equivalence.py` compares the selections on whole pages.

**Element classes.** lxml.html's parser asks a Python method which class each element proxy
gets (forms, inputs and labels have subclasses), a call for every element trafilatura touches,
millions per crawl. trafilatura needs only `HtmlElement`'s methods, which a C-level default
lookup gives every element.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from lxml.etree import ElementDefaultClassLookup, XPath, XPathSyntaxError
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction

logger = logging.getLogger(__name__)

__all__ = ["install", "rewrite_regex_tests", "translate_pattern"]

REGEXP_NS = "http://exslt.org/regular-expressions"
_MAX_WORDS = 256  # a pattern expanding to more literal words than this stays a regex
# one compiled regex beats more string tests than this, each reading the attribute again
_MAX_STRING_TESTS = 12

# re:test(ATTRIBUTES, 'PATTERN') and re:test(ATTRIBUTES, 'PATTERN', 'FLAGS')
_REGEX_TEST = re.compile(
    r"re:test\(\s*(?P<subject>@[\w-]+(?:\s*\|\s*@[\w-]+)*)\s*,\s*'(?P<pattern>[^']*)'"
    r"(?:\s*,\s*'(?P<flags>[^']*)')?\s*\)"
)
_SPECIAL = set("\\.^$*+?{}[]|()")


class Untranslatable(ValueError):
    """The pattern uses something XPath's string functions cannot say exactly."""


@dataclass(frozen=True)
class _Anchor:
    pass


@dataclass(frozen=True)
class _NotFollowedBy:
    words: tuple[str, ...]


_Token = str | _Anchor | _NotFollowedBy
_Word = tuple[_Token, ...]


class _Parser:
    """Recursive descent over the regex subset: literals, escaped punctuation, ``[..]`` sets of
    literal characters, ``(?:..)`` groups, ``?``, ``^`` and ``(?!..)``."""

    def __init__(self, pattern: str):
        self.pattern = pattern
        self.at = 0

    def parse(self) -> list[_Word]:
        words = self.alternation()
        if self.at != len(self.pattern):
            raise Untranslatable(f"unexpected {self.pattern[self.at]!r}")
        return words

    def peek(self, text: str) -> bool:
        return self.pattern.startswith(text, self.at)

    def alternation(self) -> list[_Word]:
        words = self.branch()
        while self.peek("|"):
            self.at += 1
            words += self.branch()
        return words

    def branch(self) -> list[_Word]:
        words: list[_Word] = [()]
        while self.at < len(self.pattern) and not self.peek("|") and not self.peek(")"):
            options = self.item()
            words = [word + option for word in words for option in options]
            if len(words) > _MAX_WORDS:
                raise Untranslatable("too many alternatives")
        return words

    def item(self) -> list[_Word]:
        if self.peek("^"):
            self.at += 1
            return [(_Anchor(),)]
        if self.peek("(?!"):
            self.at += 3
            inner = self.alternation()
            self.close()
            literal = tuple(_literal(word) for word in inner)
            return [(_NotFollowedBy(literal),)]
        options = self.atom()
        if self.peek("?") and not self.peek("??"):
            self.at += 1
            options = [*options, ()]
        if self.at < len(self.pattern) and self.pattern[self.at] in "*+{?":
            raise Untranslatable("repetition")
        return options

    def atom(self) -> list[_Word]:
        char = self.pattern[self.at]
        if self.peek("(?:"):
            self.at += 3
            inner = self.alternation()
            self.close()
            return inner
        if char == "[":
            return [(c,) for c in self.char_set()]
        if char == "\\":
            escaped = self.pattern[self.at + 1 : self.at + 2]
            if not escaped or escaped.isalnum() or escaped == "_":
                raise Untranslatable(f"escape \\{escaped}")
            self.at += 2
            return [(escaped,)]
        if char in _SPECIAL:
            raise Untranslatable(f"{char!r}")
        self.at += 1
        return [(char,)]

    def char_set(self) -> list[str]:
        end = self.pattern.find("]", self.at + 1)
        if end < 0:
            raise Untranslatable("unclosed [")
        members = self.pattern[self.at + 1 : end]
        self.at = end + 1
        if not members or members.startswith("^") or "\\" in members or "[" in members:
            raise Untranslatable(f"set [{members}]")
        if "-" in members[1:-1]:
            raise Untranslatable(f"range in [{members}]")
        return list(dict.fromkeys(members))

    def close(self) -> None:
        if not self.peek(")"):
            raise Untranslatable("unclosed group")
        self.at += 1


def _literal(word: _Word) -> str:
    if not all(isinstance(token, str) for token in word):
        raise Untranslatable("anchor or lookahead inside a lookahead")
    return "".join(token for token in word if isinstance(token, str))


def _quoted(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    raise Untranslatable("both quote characters")


def _word_test(subject: str, word: _Word) -> str:
    anchored = bool(word) and isinstance(word[0], _Anchor)
    prefix = ""
    exclusions: list[str] = []
    for token in word[1:] if anchored else word:
        if isinstance(token, str):
            prefix += token
        elif isinstance(token, _NotFollowedBy) and anchored:
            exclusions += [prefix + excluded for excluded in token.words]
        else:  # a lookahead at an unknown position, or ^ after the start
            raise Untranslatable("anchor or lookahead away from the start")
    if not anchored:
        return f"contains({subject}, {_quoted(prefix)})"
    test = f"starts-with({subject}, {_quoted(prefix)})"
    for excluded in exclusions:
        test += f" and not(starts-with({subject}, {_quoted(excluded)}))"
    return f"({test})" if exclusions else test


def _string_tests(subject: str, pattern: str) -> list[str]:
    """XPath 1.0 tests, one per literal word, any of which ``re.search(pattern, subject)``
    needs; raises `Untranslatable`."""
    words = _Parser(pattern).parse()
    return list(dict.fromkeys(_word_test(subject, word) for word in words))


def translate_pattern(subject: str, pattern: str) -> str:
    """XPath 1.0 for ``re:test(subject, pattern)``; raises `Untranslatable`."""
    return "(" + " or ".join(_string_tests(subject, pattern)) + ")"


def rewrite_regex_tests(expression: str) -> str:
    """*expression* with every ``re:test`` made cheaper: a short alternation of literal words
    becomes string functions, and any other test first checks that its attribute exists (an
    element without it cannot match a pattern that needs at least one character)."""

    def replace(match: re.Match[str]) -> str:
        subject, pattern = match["subject"], match["pattern"]
        if re.search(pattern, "", re.IGNORECASE if "i" in (match["flags"] or "") else 0):
            return match[0]  # matches an absent attribute too: the check would change it
        if not match["flags"]:
            try:
                tests = _string_tests(subject, pattern)
            except Untranslatable:
                tests = []
            if 0 < len(tests) <= _MAX_STRING_TESTS:
                return f"(({subject}) and ({' or '.join(tests)}))"
        return f"(({subject}) and {match[0]})"

    return _REGEX_TEST.sub(replace, expression)


def _rewritten(expressions: list[XPath]) -> Iterable[tuple[int, XPath]]:
    for index, expression in enumerate(expressions):
        rewritten = rewrite_regex_tests(expression.path)
        if rewritten == expression.path:
            continue
        try:
            yield index, XPath(rewritten, namespaces={"re": REGEXP_NS})
        except XPathSyntaxError:  # a construct this module misread: keep trafilatura's own
            logger.warning("could not rewrite trafilatura XPath %r", expression.path[:80])


_installed = False
REPLACED: list[tuple[XPath, XPath]] = []  # (trafilatura's expression, its rewrite) once installed


def install() -> int:
    """Rewrite trafilatura's XPath lists in place (every module holding one sees the change)
    and give its HTML parser the C-level element lookup; returns how many expressions changed.
    Idempotent."""
    global _installed
    if _installed:
        return 0
    import trafilatura.utils
    import trafilatura.xpaths as library

    trafilatura.utils.HTML_PARSER.set_element_class_lookup(
        ElementDefaultClassLookup(
            element=HtmlElement,
            comment=HtmlComment,
            pi=HtmlProcessingInstruction,
            entity=HtmlEntity,
        )
    )

    changed = 0
    for value in vars(library).values():
        if isinstance(value, list) and value and all(isinstance(x, XPath) for x in value):
            for index, expression in _rewritten(value):
                REPLACED.append((value[index], expression))
                value[index] = expression
                changed += 1
    _installed = True
    logger.debug("rewrote %d trafilatura XPath expressions", changed)
    return changed
