"""crawler.text.bidi: the one place that decides direction and isolates right-to-left text."""

from __future__ import annotations

import pytest

from crawler.text.bidi import (
    FSI,
    PDI,
    clean_line,
    direction,
    first_strong,
    has_rtl,
    isolate,
    strip_controls,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("المغرب يوقع اتفاقية", "rtl"),
        ("2026: المغرب", "rtl"),  # digits are weak: the first letter decides
        ("Le Maroc et «المغرب»", "ltr"),
        ("ישראל", "rtl"),  # Hebrew is right to left too
        ("  123 — ", None),
        ("", None),
    ],
)
def test_first_strong(text: str, expected: str | None) -> None:
    assert first_strong(text) == expected


def test_direction_from_language_or_text() -> None:
    assert direction("Breaking", "ar") == "rtl"  # an Arabic article with a Latin headline
    assert direction("مرصد") == "rtl"
    assert direction("Marsad مرصد", "fr") == "ltr"
    assert direction("", None) == "ltr"


def test_isolate_wraps_only_text_with_rtl_letters() -> None:
    assert isolate("Hespress") == "Hespress"
    assert isolate("هسبريس") == f"{FSI}هسبريس{PDI}"
    assert isolate("MAP — وكالة المغرب") == f"{FSI}MAP — وكالة المغرب{PDI}"
    assert isolate(42) == "42"
    assert has_rtl("abc ب") and not has_rtl("abc 123")


def test_crawled_controls_cannot_escape_the_isolate() -> None:
    # a page's own bidi override, an ANSI escape and a newline must not leak into a line
    hostile = "\u202eعنوان\x1b[31m\nsecond\u2069"
    out = isolate(hostile)
    assert out.startswith(FSI) and out.endswith(PDI)
    inner = out[1:-1]
    assert "\u202e" not in inner and "\x1b" not in inner and "\n" not in inner
    assert PDI not in inner  # a stray PDI would close our isolate early
    assert clean_line(" a \t b\r\nc ") == "a b c"


def test_strip_controls_keeps_lines() -> None:
    assert strip_controls("a\x00b\nc\td\u202b") == "a b\nc\td "
