"""Right-to-left text in left-to-right surroundings: direction tests and Unicode isolates.

Crawled strings reach terminals, plain-text e-mails and subjects next to Latin text and
numbers; wrapping a right-to-left value in FSI ... PDI keeps it from reordering its
neighbours. Stray bidi controls and other control characters from crawled content are
removed first, so a page cannot override the direction of what follows it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

FSI, PDI = "\u2068", "\u2069"  # first-strong isolate / pop directional isolate
RTL_LANGS = frozenset({"ar", "fa", "he", "ur"})

Direction = Literal["rtl", "ltr"]

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_RTL_CLASSES = frozenset({"R", "AL"})


def strip_controls(text: str) -> str:
    """*text* with control characters and stray bidi overrides blanked (tabs, newlines kept)."""
    return _CONTROL_RE.sub(" ", text)


def clean_line(text: str) -> str:
    """One line, no control characters or stray bidi overrides from crawled content."""
    return " ".join(strip_controls(text).split())


def first_strong(text: str) -> Direction | None:
    """The direction of the first letter with a strong direction (the Unicode P2 rule)."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind == "L":
            return "ltr"
        if kind in _RTL_CLASSES:
            return "rtl"
    return None


def has_rtl(text: str) -> bool:
    """True when any character of *text* is written right to left."""
    return any(unicodedata.bidirectional(ch) in _RTL_CLASSES for ch in text)


def direction(text: str, lang: str | None = None) -> Direction:
    """``rtl`` for a right-to-left language or text that starts right to left, else ``ltr``."""
    return "rtl" if (lang or "") in RTL_LANGS or first_strong(text) == "rtl" else "ltr"


def isolate(value: object) -> str:
    """*value* as one clean line, wrapped in FSI ... PDI when it holds right-to-left letters."""
    text = clean_line(str(value))
    return f"{FSI}{text}{PDI}" if has_rtl(text) else text
