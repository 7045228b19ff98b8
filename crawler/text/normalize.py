"""Text and URL normalisation (pure functions, no I/O).

Two families live here:

* text: ``normalize_arabic`` / ``normalize_text`` build a *matching form* used for topic tagging,
  search and content hashing; ``clean_text`` tidies text for display and storage. Stored text
  always stays the original (cleaned) text -- the matching form is never shown to anyone.
* URLs: ``canonical_url`` maps the many spellings of one article URL (tracking parameters, AMP
  and mobile variants, percent-encoding, default ports, fragments) to one canonical URL;
  ``url_key`` is the scheme-less identity used for de-duplication.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import unquote, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, url_query_cleaner

__all__ = [
    "AMP_QUERY_PARAMS",
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "canonical_url",
    "clean_text",
    "content_hash",
    "normalize_arabic",
    "normalize_text",
    "url_key",
]

# --------------------------------------------------------------------------- text


def _ranges(*spans: tuple[int, int]) -> list[int]:
    return [cp for lo, hi in spans for cp in range(lo, hi + 1)]


# Arabic diacritics (tashkeel), Quranic annotation marks and superscript alef.
_ARABIC_MARKS = _ranges(
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06DC),
    (0x06DF, 0x06E4),
    (0x06E7, 0x06E8),
    (0x06EA, 0x06ED),
    (0x08D3, 0x08FF),
)
# Invisible format characters that would split or disguise a word in the matching form.
_INVISIBLE = _ranges(
    (0x00AD, 0x00AD),  # soft hyphen
    (0x061C, 0x061C),  # Arabic letter mark
    (0x180E, 0x180E),  # Mongolian vowel separator
    (0x200B, 0x200F),  # ZWSP, ZWNJ, ZWJ, LRM, RLM
    (0x202A, 0x202E),  # bidi embeddings / overrides
    (0x2060, 0x2064),  # word joiner, invisible operators
    (0x2066, 0x2069),  # bidi isolates
    (0xFEFF, 0xFEFF),  # BOM / ZWNBSP
)

_ARABIC_TABLE: dict[int, str | None] = {cp: None for cp in _ARABIC_MARKS + _INVISIBLE}
_ARABIC_TABLE[0x0640] = None  # tatweel
_ARABIC_LETTERS: dict[str, str | None] = {
    "أ": "ا",
    "إ": "ا",
    "آ": "ا",
    "ٱ": "ا",  # alef wasla
    "ٲ": "ا",
    "ٳ": "ا",
    "ٵ": "ا",
    "ؤ": "و",
    "ئ": "ي",
    "ى": "ي",  # alef maqsura
    "ی": "ي",  # Farsi yeh
    "ۍ": "ي",
    "ة": "ه",  # ta marbuta
    "ۃ": "ه",
    "ۀ": "ه",
    "ھ": "ه",  # heh doachashmee
    "ک": "ك",  # keheh
}
_ARABIC_TABLE.update(str.maketrans(_ARABIC_LETTERS))
for _i in range(10):
    _ARABIC_TABLE[0x0660 + _i] = str(_i)  # Arabic-Indic digits
    _ARABIC_TABLE[0x06F0 + _i] = str(_i)  # Extended Arabic-Indic (Persian/Urdu) digits

# Combining marks removed after NFD to strip Latin (and other) accents.
_COMBINING_TABLE: dict[int, str | None] = {
    cp: None
    for cp in _ranges(
        (0x0300, 0x036F),
        (0x1AB0, 0x1AFF),
        (0x1DC0, 0x1DFF),
        (0x20D0, 0x20FF),
        (0xFE20, 0xFE2F),
    )
}
_LIGATURES: dict[str, str | None] = {"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d"}
_COMBINING_TABLE.update(str.maketrans(_LIGATURES))


def normalize_arabic(text: str) -> str:
    """Matching/search form of ``text`` (any language; Arabic gets the heavy lifting).

    NFKC (folds presentation forms and ligatures); removes tashkeel (U+064B-U+065F, superscript
    alef U+0670, Quranic marks), tatweel and invisible format characters; unifies alef/hamza
    forms (أ إ آ ٱ -> ا, ؤ -> و, ئ -> ي), ta marbuta (ة -> ه) and alef maqsura (ى -> ي);
    Arabic-Indic and Persian digits -> ASCII; casefolds; collapses whitespace.
    Latin accents are kept (see ``normalize_text``).
    """
    folded = unicodedata.normalize("NFKC", text).translate(_ARABIC_TABLE).casefold()
    return " ".join(folded.split())


def _strip_accents(text: str) -> str:
    if text.isascii():
        return text
    if not unicodedata.is_normalized("NFD", text):
        text = unicodedata.normalize("NFD", text)
    text = text.translate(_COMBINING_TABLE)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


def normalize_text(text: str) -> str:
    """``normalize_arabic`` plus Latin accent stripping (é -> e, œ -> oe): cross-language search."""
    return _strip_accents(normalize_arabic(text))


# Characters dropped from display text: zero-width junk and bidi controls. ZWNJ (U+200C) is
# meaningful (Persian, some Arabic typesetting) and ZWJ (U+200D) builds emoji sequences: kept.
_JUNK_TABLE: dict[int, str | None] = {cp: None for cp in _INVISIBLE if cp not in (0x200C, 0x200D)}
for _cp in (*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0)):
    if _cp != 0x85:
        _JUNK_TABLE[_cp] = None
# Unusual spaces -> plain space; vertical tab / form feed / NEL / line separators -> newline.
_JUNK_TABLE.update(
    {cp: " " for cp in (0x09, 0x00A0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)}
)
_JUNK_TABLE.update({0x0B: "\n", 0x0C: "\n", 0x85: "\n", 0x2028: "\n", 0x2029: "\n\n"})

_SPACES_RE = re.compile(r"[ ]{2,}")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def clean_text(text: str) -> str:
    """Display form: NFC, zero-width junk and control characters dropped (ZWNJ/ZWJ kept),
    exotic spaces -> space, CRLF/CR -> LF, runs of spaces collapsed, lines stripped,
    at most one blank line between paragraphs, no leading/trailing blank space."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.translate(_JUNK_TABLE)
    text = _SPACES_RE.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES_RE.sub("\n\n", text).strip()


def content_hash(text: str) -> str:
    """SHA-1 hex digest of ``normalize_text(text)`` with all whitespace removed."""
    return content_hash_of_normalized(normalize_text(text))


def content_hash_of_normalized(text_norm: str) -> str:
    """``content_hash`` of a text already normalised (``normalize_text`` output)."""
    return hashlib.sha1("".join(text_norm.split()).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- URLs

#: Query parameters that never change the page (compared case-insensitively).
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "ttclid", "li_fat_id", "igshid", "igsh", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc",
        "_hsmi", "mkt_tok", "vero_id", "vero_conv", "oly_anon_id", "oly_enc_id", "rb_clickid",
        "s_cid", "wt.mc_id", "wt_mc", "cmpid", "cmp", "ocid", "xtor", "xtref", "spm", "scm",
        "ref", "ref_src", "ref_url", "referrer", "at_medium", "at_campaign", "at_custom1",
        "at_custom2", "at_custom3", "at_custom4", "at_format", "at_link", "at_ptr_name",
        "ns_source", "ns_mchannel", "ns_campaign", "ns_linkname", "ns_fee", "smid", "smtyp",
        "sr_share", "ito", "_branch_match_id", "fb_action_ids", "fb_action_types",
        "fb_source", "fb_ref", "action_object_map", "action_type_map", "action_ref_map",
    }
)  # fmt: skip
#: Query-parameter prefixes that are always tracking (utm_source, pk_campaign, mtm_kwd, ...).
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_", "hsa_", "matomo_", "piwik_")
#: AMP switches: dropped whatever their value (``?amp``, ``?amp=1``).
AMP_QUERY_PARAMS = frozenset({"amp", "_amp", "usqp"})
#: Parameters that select AMP only with this value (``outputType=amp``).
_AMP_VALUED_PARAMS = frozenset({"outputtype", "output", "format", "view"})
_ALT_HOST_LABELS = frozenset({"m", "mobile", "amp"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_AMP_SUFFIX_RE = re.compile(r"\.amp(\.html?)$", re.IGNORECASE)


def _drop_param(raw_pair: str) -> bool:
    key, _, value = raw_pair.partition("=")
    key = unquote(key).strip().lower()
    if key in TRACKING_PARAMS or key in AMP_QUERY_PARAMS or key.startswith(TRACKING_PREFIXES):
        return True
    return key in _AMP_VALUED_PARAMS and unquote(value).strip().lower() == "amp"


def _canonical_netloc(scheme: str, netloc: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal
        host, _, rest = hostport[1:].partition("]")
        host = f"[{host.lower()}]"
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
        host = host.lower().rstrip(".")
        labels = host.split(".")
        # m.example.com / mobile.example.com / amp.example.com -> example.com
        while len(labels) > 2 and labels[0] in _ALT_HOST_LABELS:
            labels = labels[1:]
        host = ".".join(labels)
    if port.isdigit() and int(port) == _DEFAULT_PORTS.get(scheme):
        port = ""
    return f"{userinfo}{at}{host}{':' + port if port else ''}"


def _canonical_path(path: str) -> str:
    # Drop every "amp" segment: /a/amp, /a/amp/, /amp/a -> /a, /a/, /a
    segments = path.split("/")
    kept = [s for s in segments if unquote(s).lower() != "amp"]
    if len(kept) != len(segments):
        path = "/".join(kept)
        if not path.startswith("/"):
            path = "/" + path
    return _AMP_SUFFIX_RE.sub(r"\1", path)  # story.amp.html -> story.html


def canonical_url(url: str) -> str:
    """One spelling per page: lowercase scheme/host (IDNA), no default port, no fragment, no
    tracking or AMP parameters, sorted query, AMP paths/hosts and mobile hosts mapped to the main
    site, percent-encoding normalised (raw and percent-encoded Arabic slugs give the same URL,
    with upper-case UTF-8 escapes). The trailing slash is kept as given (see ``url_key``).
    Non-HTTP(S) or host-less input is returned stripped but otherwise untouched."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.netloc:
        return url
    netloc = _canonical_netloc(scheme, parts.netloc)
    path = _canonical_path(parts.path)
    query = parts.query
    if query:
        drop = sorted({pair.partition("=")[0] for pair in query.split("&") if _drop_param(pair)})
        if drop:
            query = urlsplit(url_query_cleaner("?" + query, drop, remove=True, unique=False)).query
    rebuilt = urlunsplit((scheme, netloc, path or "/", query, ""))
    try:
        return canonicalize_url(rebuilt)
    except (ValueError, UnicodeError):  # e.g. a host IDNA cannot encode
        return rebuilt


def url_key(url: str) -> str:
    """De-duplication identity: ``canonical_url`` without scheme and leading ``www.``, and with
    trailing slashes of the path ignored (``/a`` == ``/a/``; the home page is just the host)."""
    canonical = canonical_url(url)
    parts = urlsplit(canonical)
    if not parts.netloc:
        return canonical
    host = parts.netloc
    userinfo, at, hostport = host.rpartition("@")
    if hostport.startswith("www."):
        host = f"{userinfo}{at}{hostport[4:]}"
    key = host + parts.path.rstrip("/")
    return f"{key}?{parts.query}" if parts.query else key
