"""crawler.extract.speedups: rewritten XPath regex tests select exactly what the regexes did."""

from __future__ import annotations

import re

import pytest
import trafilatura.utils
import trafilatura.xpaths
from lxml import etree, html
from lxml.html import HtmlElement

from crawler.extract import core  # noqa: F401  (installs the speed-ups)
from crawler.extract.speedups import (
    REGEXP_NS,
    REPLACED,
    Untranslatable,
    _Parser,
    rewrite_regex_tests,
    translate_pattern,
)

NS = {"re": REGEXP_NS}


def _select(expression: str, tree: etree._Element) -> list[str]:
    return [element.get("data-n") for element in etree.XPath(expression, namespaces=NS)(tree)]


def _values(pattern: str) -> list[str]:
    """Attribute values around the pattern's own words: the words alone, inside other text, cut
    short, in another case, and followed by each lookahead's text."""
    words = ["".join(t for t in word if isinstance(t, str)) for word in _Parser(pattern).parse()]
    extra = re.findall(r"\(\?!([^)]*)\)", pattern)
    values = {"", " ", "x", "-"}
    for word in words:
        for variant in {word, word.upper(), word.lower(), word.capitalize()}:
            values |= {variant, f"a {variant}", f"{variant} b", f"x{variant}y", variant[:-1]}
            values |= {variant[1:], f" {variant}", f"{variant}\n"}
            for tail in extra:
                values |= {variant + part for part in tail.split("|")}
                values |= {f"q {variant}{part}" for part in tail.split("|")}
    return sorted(values)


def _document(values: list[str]) -> etree._Element:
    root = html.fromstring("<html><body></body></html>")
    body = root.find("body")
    assert body is not None
    n = 0
    for value in values:
        for attributes in ({"class": value}, {"id": value}, {"style": value}):
            for tag in ("div", "a", "p", "span", "section", "li", "h1", "h2", "header", "footer"):
                n += 1
                element = etree.SubElement(body, tag, {**attributes, "data-n": str(n)})
                n += 1
                etree.SubElement(element, "a", {"href": "/x", "data-n": str(n)})
        # both attributes, in both orders: a union's string value is its first in the document
        for first, second in (("id", "class"), ("class", "id")):
            n += 1
            element = etree.SubElement(body, "div", {"data-n": str(n)})
            element.set(first, value)
            element.set(second, "other " + value[::-1])
    return root


def _patterns(expression: str) -> list[str]:
    return re.findall(r"re:test\(\s*@[\w-]+(?:\s*\|\s*@[\w-]+)*\s*,\s*'([^']*)'", expression)


def test_each_installed_rewrite_selects_what_trafilatura_selected() -> None:
    assert len(REPLACED) >= 10
    for original, rewritten in REPLACED:
        values: set[str] = set()
        for pattern in _patterns(original.path):
            try:
                values |= set(_values(pattern))
            except Untranslatable:  # guarded only: its words, alone and between spaces
                for word in re.findall(r"[A-Za-z][\w-]*", pattern):
                    values |= {word, f" {word} ", f"a {word}", f"{word} b"}
        tree = _document(sorted(values))
        selected = [element.get("data-n") for element in original(tree)]
        assert selected, original.path  # the document holds elements each expression selects
        assert [element.get("data-n") for element in rewritten(tree)] == selected, original.path


def test_translations_of_typical_patterns_select_what_the_regex_selects() -> None:
    patterns = [
        ("@class", "author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by"),
        ("@id", "^(?:[Cc]omment(?!ary)|comol|disqus_thread|dsq-comments)"),
        ("@class", "^[Cc]omment(?!ary)|(?:article|post)-comments"),
        ("@id|@class", "^comment[s-]"),
        ("@id|@class", "comment-?list"),
        ("@class", "post[-_]text|post-?entry|article(?:-|__)?body|content(?:-|__)body"),
        ("@class", "^(?:post-?info|post-?meta|meta|entry-meta|entry-info|entry-utility)"),
        ("@id|@style", "hidden"),
        ("@class", "(?:post-|entry-|article-|post__)title|headline"),
        ("@class", "^hide-|comments-title| hidden| hide|noprint"),
    ]
    for subject, pattern in patterns:
        tree = _document(_values(pattern))
        original = f"//*[re:test({subject}, '{pattern}')]"
        expected = _select(original, tree)
        assert expected, pattern
        assert _select(f"//*[{translate_pattern(subject, pattern)}]", tree) == expected, pattern
        assert _select(rewrite_regex_tests(original), tree) == expected, pattern


@pytest.mark.parametrize(
    "pattern",
    [r"(^|\s)bottom|bottom(\s|$)", "a+b", "[a-z]x", "x{2}", "ab$", "a.b", "[^a]", "(a)", "ab??"],
)
def test_patterns_beyond_plain_words_stay_regexes_behind_an_attribute_check(pattern: str) -> None:
    with pytest.raises(Untranslatable):
        translate_pattern("@class", pattern)
    original = f"//*[re:test(@class, '{pattern}')]"
    assert rewrite_regex_tests(original) == f"//*[((@class) and re:test(@class, '{pattern}'))]"


def test_a_pattern_matching_the_empty_string_is_left_as_written() -> None:
    # 'x?' matches the empty string, so an element without the attribute matches too
    original = "//*[re:test(@class, 'x?')]"
    assert rewrite_regex_tests(original) == original
    tree = _document(["", "y"])
    assert _select(original, tree) == _select("//*", tree)  # html and body included


def test_anchors_and_lookaheads_become_prefix_tests() -> None:
    assert translate_pattern("@id", "^ad-|[Ss]hare") == (
        "(starts-with(@id, 'ad-') or contains(@id, 'Share') or contains(@id, 'share'))"
    )
    assert translate_pattern("@class", "^comment(?!ary)") == (
        "((starts-with(@class, 'comment') and not(starts-with(@class, 'commentary'))))"
    )
    with pytest.raises(Untranslatable):
        translate_pattern("@class", "comment(?!ary)")  # unanchored: no fixed position


def test_install_rewrote_the_library_and_gave_its_parser_plain_html_elements() -> None:
    paths = [x.path for x in trafilatura.xpaths.AUTHOR_XPATHS]
    assert not any("re:test(@class, 'author|" in path for path in paths)
    tree = trafilatura.utils.load_html(
        "<html><body><form><input name='q'><label>x</label></form><p>t</p></body></html>"
    )
    assert tree is not None
    assert {type(element) for element in tree.iter()} == {HtmlElement}
