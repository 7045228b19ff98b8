"""Words as topic tagging and search see them: tokens, matching keys, clitics and plurals (pure).

* ``TOKEN_RE`` splits ORIGINAL text into tokens: letters, digits, combining marks (Arabic
  tashkeel, Latin accents in NFD, ZWNJ/ZWJ) and tatweel stay inside a token; an apostrophe joins
  ``l'armée`` into one token.
* ``token_key`` is the matching form of one raw token: ``normalize_text`` (hamza, alef, ta
  marbuta, diacritics, tatweel, digits, case, accents), apostrophes unified, French elision
  (``l'``, ``d'``, ``qu'``...) and English ``'s`` removed.
* ``term_keys`` is the key sequence of a configured term or phrase: the token keys, with a
  leading Arabic article «ال» dropped when at least ``MIN_STEM`` letters remain.
* ``AR_PREFIXES`` / ``AR_SUFFIXES`` are the Arabic clitics in matching form; ``latin_fr``,
  ``latin_en`` and ``latin_any`` the singular candidates of a French / English plural.

Tagging (``crawler.tagging``) looks stems up in its term index; search (``crawler.search``)
expands query words into the forms text may hold and indexes clitic-stripped words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from crawler.text.normalize import normalize_text

__all__ = [
    "AR_MAX_PREFIX",
    "AR_MAX_SUFFIX",
    "AR_PREFIXES",
    "AR_SUFFIXES",
    "LATIN_RULES",
    "MIN_STEM",
    "TOKEN_RE",
    "is_arabic",
    "latin_any",
    "latin_en",
    "latin_fr",
    "term_keys",
    "token_key",
]

_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670"
    "\u06d6-\u06ed\u08d3-\u08ff\u1ab0-\u1aff\u1dc0-\u1dff\u200c\u200d\u20d0-\u20ff\ufe20-\ufe2f"
)
#: One token: word characters plus combining marks (Arabic tashkeel, Latin accents in NFD,
#: ZWNJ/ZWJ), optionally joined by apostrophes (l'armée, aujourd'hui, Israel's).
TOKEN_RE = re.compile(rf"[\w{_MARKS}]+(?:['’ʼ][\w{_MARKS}]+)*")

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'"})
_ELISIONS = frozenset({"l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu"})

#: Arabic clitic prefixes, in matching form (``normalize_text`` already mapped ة -> ه, ى -> ي,
#: hamzas).
AR_PREFIXES = frozenset(
    {
        "و", "ف", "ب", "ل", "ك", "ال", "وال", "فال", "بال", "كال", "لل", "ولل", "فلل",
        "وب", "فب", "ول", "فل", "وك", "فك", "وبال", "فبال", "وكال", "فكال",
    }
)  # fmt: skip
#: Arabic suffix -> endings to put back on the stem ("" = none). ات/تين/تان are feminine
#: plurals/duals of a word ending in ta marbuta (مذكرات -> مذكره).
AR_SUFFIXES: dict[str, tuple[str, ...]] = {
    "ه": ("",), "ي": ("",), "يه": ("",), "ين": ("",), "ون": ("",), "ان": ("",),
    "يين": ("",), "يون": ("",), "يان": ("",), "يات": ("",), "ات": ("", "ه"),
    "تين": ("ه",), "تان": ("ه",), "ها": ("",), "هم": ("",), "هن": ("",), "هما": ("",),
    "نا": ("",), "كم": ("",), "كما": ("",),
}  # fmt: skip
AR_MAX_PREFIX = max(map(len, AR_PREFIXES))
AR_MAX_SUFFIX = max(map(len, AR_SUFFIXES))
MIN_STEM = 3  # a stripped candidate (or a term key without «ال») keeps at least this many letters


def is_arabic(char: str) -> bool:
    """Whether *char* (say the first of a token) is an Arabic letter."""
    return "\u0600" <= char <= "\u06ff" or "\u0750" <= char <= "\u077f"


def token_key(raw: str) -> str:
    """Matching form of one raw token: normalised, apostrophes unified, French elision removed."""
    key = normalize_text(raw).translate(_APOSTROPHES)
    if "'" in key:
        head, _, rest = key.partition("'")
        if head in _ELISIONS and rest:
            key = rest  # l'armée -> armée, qu'Israël -> israël
        if key.endswith("'s"):
            key = key[:-2]  # Israel's -> israel
    return key


def _canonical_term_key(key: str) -> str:
    if key.startswith("ال") and len(key) - 2 >= MIN_STEM:
        return key[2:]
    return key


def term_keys(phrase: str) -> tuple[str, ...]:
    """The term-key sequence a configured term/phrase is matched as."""
    keys = (_canonical_term_key(token_key(raw)) for raw in TOKEN_RE.findall(phrase))
    return tuple(k for k in keys if k and " " not in k)


def latin_fr(token: str) -> Iterable[str]:
    """Singular candidates of a French plural (armées -> armée, journaux -> journal)."""
    if len(token) >= 3 and token[-1] in "sx":
        yield token[:-1]
        if token.endswith("aux") and len(token) >= 5:
            yield token[:-3] + "al"


def latin_en(token: str) -> Iterable[str]:
    """Singular candidates of an English plural (talks -> talk, crises, policies -> policy)."""
    if len(token) >= 3 and token.endswith("s") and not token.endswith("ss"):
        yield token[:-1]
        if token.endswith("es") and len(token) >= 4:
            yield token[:-2]
            if token.endswith("ies") and len(token) >= 5:
                yield token[:-3] + "y"


def latin_any(token: str) -> Iterable[str]:
    """The French candidates, then the English ones (language unknown)."""
    yield from latin_fr(token)
    yield from latin_en(token)


#: Plural rules per language code; other languages use ``latin_any``.
LATIN_RULES: dict[str, Callable[[str], Iterable[str]]] = {"fr": latin_fr, "en": latin_en}
