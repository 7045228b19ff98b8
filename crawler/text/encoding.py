"""Decode HTML bytes to text: forced > BOM > HTTP charset > <meta> charset > detection.

A declared charset is checked against the bytes: UTF-8 that is not, windows-1256 and
ISO-8859-6 mistaken for each other (or for Latin-1), UTF-16 in the HTTP header (honoured with
or without a BOM when the bytes read as UTF-16; a <meta> saying UTF-16 is a lie, as in browsers).

Pure functions, never raises. Built for the pages Marsad meets: UTF-8 (also when a page lies and
declares something else), windows-1256 and ISO-8859-6 Arabic pages with or without a declared
charset, and Latin-1/cp1252 French pages.
"""

from __future__ import annotations

import codecs
import logging
import math
import re

logger = logging.getLogger(__name__)

__all__ = ["decode_html", "normalize_charset"]

# Labels Python's codec registry does not know, or knows under a meaning browsers do not use
# (WHATWG Encoding Standard: latin-1/ascii are treated as windows-1252, gb2312 as gb18030...).
_ALIASES: dict[str, str] = {
    "x-cp1256": "cp1256",
    "cp-1256": "cp1256",
    "win-1256": "cp1256",
    "windows1256": "cp1256",
    "arabic": "iso8859_6",
    "asmo-708": "iso8859_6",
    "ecma-114": "iso8859_6",
    "csisolatinarabic": "iso8859_6",
    "iso-8859-6-i": "iso8859_6",
    "iso-8859-6-e": "iso8859_6",
    "iso-ir-127": "iso8859_6",
    "iso_8859-6": "iso8859_6",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "big5": "big5hkscs",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "unicode-1-1-utf-8": "utf-8",
    "utf8": "utf-8",
    "x-unicode20utf8": "utf-8",
}

# Labels browsers do not support (WHATWG): pages carrying them are decoded by detection.
_UNSUPPORTED = frozenset(
    {"x-mac-arabic", "mac-arabic", "macarabic", "mac_arabic", "x-user-defined"}
)

_CHARSET_IN_CT = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9._:()+-]+)""", re.I)
_META_CHARSET = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:()+-]+)""", re.I | re.S
)
_PRESCAN_BYTES = 8192
_UTF16_MIN_PRINTABLE = 0.98  # share of printable characters in a page really in UTF-16
_UTF16_MIN_ASCII = 0.1  # share of ASCII (markup, spaces, digits): not in a wrong reading

# Arabic letters (hamza..yeh) and harakat
_AR_ANY = re.compile(r"[\u0621-\u0652]")
_TANWEEN_MID = re.compile(r"[\u064b-\u064d](?=[\u0621-\u063a\u0641-\u064a])")
_LATIN_LETTER = re.compile(
    "[\u00c0-\u00ff\u0152\u0153\u2018-\u201e\u2013\u2014\u2026\u00a0\u00ab\u00bb\u00b0\u20ac]"
)
_HIGH_RUN = re.compile(rb"[\x80-\xff]{2,}")


def normalize_charset(label: str | bytes | None) -> str | None:
    """Map a charset label to a Python codec name, or None when unknown/unusable."""
    if label is None:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "ignore")
    key = label.strip().strip("\"'").lower()
    if not key or key in _UNSUPPORTED:
        return None
    name = _ALIASES.get(key, key)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    # text encodings only (not rot13, base64, zlib...) and nothing that cannot express HTML
    if not getattr(info, "_is_text_encoding", True) or info.name in {"utf-7", "mbcs"}:
        return None
    if info.name.startswith(("utf-16", "utf-32")):
        # a declaration of UTF-16 in bytes we can read as ASCII is a lie (WHATWG: use UTF-8)
        return "utf-8"
    return info.name


def _content_type_label(content_type: str | None) -> bytes | None:
    if not content_type:
        return None
    m = _CHARSET_IN_CT.search(content_type.encode("latin-1", "ignore"))
    return m.group(1) if m else None


def _from_content_type(content_type: str | None) -> str | None:
    return normalize_charset(_content_type_label(content_type))


def _is_utf16_label(label: bytes | None) -> bool:
    if not label:
        return False
    try:
        return codecs.lookup(label.decode("ascii", "ignore").strip()).name.startswith("utf-16")
    except (LookupError, ValueError):
        return False


def _utf16_from_header(body: bytes, content_type: str | None) -> str | None:
    """The UTF-16 byte order of *body* when the HTTP header says UTF-16 (BOM or not) and the
    bytes bear it out; None otherwise (the header is then ignored, as a <meta> saying UTF-16 is).

    Bytes of an ASCII-compatible page read as UTF-16 give CJK-looking text with no ASCII in it,
    and so do real UTF-16 bytes read in the wrong order: the order whose reading is printable
    and has the most ASCII (markup, spaces, digits) wins, if that is a fair share of the text.
    """
    if not _is_utf16_label(_content_type_label(content_type)):
        return None
    sample = body[: min(len(body), 300_000) // 2 * 2]
    best: tuple[float, str] | None = None
    for codec in ("utf-16-le", "utf-16-be"):
        try:
            text = sample.decode(codec)
        except UnicodeDecodeError:  # a lone surrogate: not this order
            continue
        if not text:
            continue
        printable = sum(1 for ch in text if ch.isprintable() or ch in "\t\n\r")
        if printable < len(text) * _UTF16_MIN_PRINTABLE:
            continue
        ascii_share = sum(1 for ch in text if ch < "\x80") / len(text)
        if ascii_share >= _UTF16_MIN_ASCII and (best is None or ascii_share > best[0]):
            best = (ascii_share, codec)
    return best[1] if best else None


def _from_meta(body: bytes) -> str | None:
    head = body[:_PRESCAN_BYTES]
    for m in _META_CHARSET.finditer(head):
        name = normalize_charset(m.group(1))
        if name:
            return name
    return None


def _bom(body: bytes) -> tuple[str, int] | None:
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if body.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) and len(body) % 4 == 0:
        return ("utf-32-le" if body.startswith(codecs.BOM_UTF32_LE) else "utf-32-be"), 4
    if body.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if body.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    return None


def _utf8_state(body: bytes) -> tuple[bool, bool]:
    """(valid UTF-8, has multibyte sequences)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False, False
    return True, not body.isascii()


def _mostly_utf8(body: bytes) -> bool:
    """Valid UTF-8 apart from a few stray bytes (a truncated page, one bad byte)."""
    text = body.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ord(ch) > 0x7F) - bad
    return good > 0 and bad * 20 <= good


# Approximate Arabic letter frequencies (%) in news text; used as a likelihood tie-breaker.
# fmt: off
_AR_FREQ: dict[str, float] = {
    "ا": 12.5, "ل": 11.0, "ي": 7.5, "م": 6.2, "و": 5.9, "ن": 5.8, "ر": 4.6, "ه": 3.0,
    "ة": 3.0, "ت": 4.0, "ب": 3.8, "ع": 3.5, "د": 2.9, "ف": 2.6, "س": 2.6, "ق": 2.4,
    "أ": 2.5, "ك": 2.3, "ح": 2.0, "ى": 1.5, "ج": 1.4, "ش": 1.1, "إ": 1.0, "ط": 1.0,
    "ص": 1.0, "خ": 0.9, "ذ": 0.7, "ض": 0.6, "ز": 0.6, "ث": 0.5, "ئ": 0.5, "غ": 0.4,
    "ء": 0.4, "ظ": 0.2, "ؤ": 0.2, "آ": 0.2,
    "\u064b": 0.3, "\u064c": 0.1, "\u064d": 0.1, "\u064e": 1.0, "\u064f": 0.5,  # harakat
    "\u0650": 0.7, "\u0651": 0.5, "\u0652": 0.5, "\u0640": 0.05,
}
# fmt: on
_FLOOR = 0.001


def _arabic_likelihood(text: str) -> float:
    score = 0.0
    for ch in text:
        if ch < "\x80":
            continue
        score += math.log(_AR_FREQ.get(ch, _FLOOR))
    score += (math.log(_FLOOR) - math.log(0.3)) * len(_TANWEEN_MID.findall(text))
    return score


def _arabic_single_byte(body: bytes) -> str:
    """Tell windows-1256 from ISO-8859-6 for bytes known to be Arabic single-byte text.

    Under the wrong table ISO-8859-6 heh/waw/yeh read as Latin accented letters glued to Arabic
    letters, and windows-1256 yeh/alef maksura read as tanween inside words or as undefined
    bytes; a letter-frequency likelihood decides the rest.
    """
    sample = body[:300_000]
    iso = _arabic_likelihood(sample.decode("iso8859_6", "replace"))
    cp = _arabic_likelihood(sample.decode("cp1256", "replace"))
    return "iso8859-6" if iso > cp else "cp1256"


def _looks_arabic(body: bytes, high: int) -> bool:
    """Most non-ASCII bytes read as Arabic under windows-1256 or ISO-8859-6."""
    sample = body[:300_000]
    best = max(
        len(_AR_ANY.findall(sample.decode(enc, "replace"))) for enc in ("cp1256", "iso8859_6")
    )
    n_high = sum(1 for b in sample if b >= 0x80)
    in_runs = sum(len(m) for m in _HIGH_RUN.findall(sample))
    # Arabic words are runs of non-ASCII bytes; accented Latin letters sit between ASCII ones
    return best * 2 >= min(high, n_high) and in_runs * 2 >= n_high


def _detect(body: bytes) -> str:
    """Guess the encoding of bytes with no usable declaration (already known not to be UTF-8)."""
    high = [b for b in body if b >= 0x80]
    if not high:
        return "utf-8"
    if _looks_arabic(body, len(high)):
        return _arabic_single_byte(body)
    try:
        latin = body.decode("cp1252")
    except UnicodeDecodeError:
        latin = ""
    if latin and len(_LATIN_LETTER.findall(latin)) * 5 >= len(high) * 4:
        return "cp1252"
    try:
        from charset_normalizer import from_bytes

        sample = body if len(body) < 200_000 else body[:100_000] + body[-100_000:]
        best = from_bytes(sample).best()
        if best is not None:
            name = normalize_charset(best.encoding)
            if name and name != "utf-8":
                return name
    except Exception:  # detection is best effort
        logger.debug("charset_normalizer failed", exc_info=True)
    return "cp1252"


def _decode_declared(body: bytes, name: str) -> str | None:
    """Codec name to use for a declared charset, or None to fall through to detection."""
    valid, multibyte = _utf8_state(body)
    if name == "utf-8":
        if valid or _mostly_utf8(body):
            return "utf-8"
        return None  # declared UTF-8 but clearly is not: detect
    if valid and multibyte:
        return "utf-8"  # a page that declares gb2312/iso-8859-15/... but is really UTF-8
    try:
        body.decode(name)
    except UnicodeDecodeError:
        if name == "iso8859-6":
            return "cp1256"  # labelled ISO-8859-6 but uses windows-1256-only bytes
        return name if name != "cp1252" else None
    except Exception:
        return None
    if name in {"cp1252", "cp1256", "iso8859-6"}:
        # latin-1/ascii labels are often left over from templates on Arabic pages, and the two
        # Arabic tables are confused both ways (each reads the other's bytes without an error)
        high = sum(1 for b in body if b >= 0x80)
        if high and _looks_arabic(body, high):
            return _arabic_single_byte(body)
    return name


def decode_html(
    body: bytes | bytearray | memoryview,
    content_type: str | None = None,
    forced: str | None = None,
) -> tuple[str, str]:
    """Decode an HTML body; return (text, python codec name). Never raises."""
    try:
        return _decode_html(body, content_type, forced)
    except Exception:  # pragma: no cover - last resort, keeps the promise
        logger.exception("decode_html failed; falling back to UTF-8 with replacement")
        return bytes(body or b"").decode("utf-8", "replace"), "utf-8"


def _decode_html(
    data: bytes | bytearray | memoryview, content_type: str | None, forced: str | None
) -> tuple[str, str]:
    if not data:
        return "", "utf-8"
    body = data if isinstance(data, bytes) else bytes(data)
    name = normalize_charset(forced) if forced else None
    if forced and name is None:
        logger.warning("unknown forced encoding %r ignored", forced)
    if name:
        return body.decode(name, "replace"), name
    bom = _bom(body)
    if bom:
        name, skip = bom
        return body[skip:].decode(name, "replace"), name
    utf16 = _utf16_from_header(body, content_type)
    if utf16:
        return body.decode(utf16, "replace"), utf16
    for declared in (_from_content_type(content_type), _from_meta(body)):
        if declared:
            chosen = _decode_declared(body, declared)
            if chosen:
                return body.decode(chosen, "replace"), chosen
    valid, _ = _utf8_state(body)
    if valid or _mostly_utf8(body):
        return body.decode("utf-8", "replace"), "utf-8"
    name = _detect(body)
    return body.decode(name, "replace"), name
