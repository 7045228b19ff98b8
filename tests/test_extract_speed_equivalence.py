"""The shortcuts taken for speed in crawler/extract give what the plain definitions give."""

from __future__ import annotations

import re
import sys
import unicodedata

from lxml import etree
from trafilatura.utils import load_html

from crawler.extract.cleanup import prune_boilerplate
from crawler.extract.meta import fold
from crawler.extract.signals import read_signals


def plain_fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", "", text.casefold())


def test_fold_drops_every_combining_character_like_the_definition() -> None:
    marks = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.combining(chr(c))]
    assert any(ord(m) > 0xFFFF for m in marks)
    samples = [
        "Réforme des retraites : l'Élysée tranche",
        "المجلسُ الوطنيّ يناقش الموازنة",
        "ASCII only, 2024!",
        "𝄞 music 𝅘𝅥𝅮 notes" + "\U0001d165",
        "",
        "".join(marks),
        "a" + "b".join(marks[::7]) + "ﬁ",
    ]
    for text in samples + [f"x{m}y" for m in marks]:
        assert fold(text) == plain_fold(text), repr(text)


def nested(depth: int, marks: str, inner: str = "Cookies") -> str:
    return "<div>" * (depth - 1) + f"<div {marks}>{inner}</div>" + "</div>" * (depth - 1)


def test_prune_looks_six_levels_below_body() -> None:
    page = (
        "<html><body><p>text</p>"
        + nested(6, 'class="cookie-banner"', "six")
        + nested(7, 'class="cookie-banner"', "seven")
        + nested(2, 'id="x" role="dialog"', "dialog")
        + '<main class="consent">main stays</main>'
        + nested(3, 'class="gdpr"', "x" * 1501)
        + "</body></html>"
    )
    tree = load_html(page)
    prune_boilerplate(tree)
    text = tree.text_content()
    assert "six" not in text and "dialog" not in text
    assert "seven" in text and "main stays" in text and "x" * 1501 in text


def test_prune_leaves_a_page_without_marks_alone() -> None:
    page = "<html><body><div class='card'><p>one</p></div><!-- c --><p>two</p></body></html>"
    tree = load_html(page)
    before = etree.tostring(tree)
    prune_boilerplate(tree)
    assert etree.tostring(tree) == before


def test_date_lines_follow_the_page_and_re_case_folding() -> None:
    page = (
        "<html><body><article>"
        '<span class="PUBLİSHED">1 mars 2024 à 10h</span>'
        '<time datetime="2024-03-01T10:00">1 mars</time>'
        '<p id="post-date" class="x">Posted 2 March 2024</p>'
        "</article><nav><span class='date'>today 5 May 2025</span></nav></body></html>"
    )
    sig = read_signals(load_html(page))
    assert sig.date_lines == ["1 mars 2024 à 10h", "1 mars", "Posted 2 March 2024"]
    assert sig.time_values == ["2024-03-01T10:00"]


def test_item_published_is_looked_for_below_the_root() -> None:
    page = (
        '<html itemprop="datePublished" content="2020-01-01"><body>'
        '<meta itemprop="datePublished" content="">'
        '<span itemprop="datePublished" datetime="2024-03-01">1 mars</span>'
        '<span itemprop="datePublished" datetime="2024-02-01">1 fév</span></body></html>'
    )
    assert read_signals(load_html(page)).meta_dates == ["2024-03-01"]
