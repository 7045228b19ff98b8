"""Table-driven tests for crawler.normalize (text matching forms, display cleaning, URLs)."""

from __future__ import annotations

import hashlib
import unicodedata

import pytest

from crawler.text.normalize import (
    canonical_url,
    clean_text,
    content_hash,
    normalize_arabic,
    normalize_text,
    url_key,
)

# Presentation forms of «محمد» and the lam-alef ligature, built from code points so the
# source file cannot silently normalise them away.
_PRESENTATION_MUHAMMAD = "\ufee3\ufea4\ufee4\ufeaa"
_LAM_ALEF_LIGATURE = "\ufefb"

# --------------------------------------------------------------------------- normalize_arabic

ARABIC_CASES = [
    # alef / hamza forms
    ("أحمد", "احمد"),
    ("إسلام", "اسلام"),
    ("آمن", "امن"),
    ("ٱلله", "الله"),
    ("مؤتمر", "موتمر"),
    ("رئيس", "رييس"),
    ("إسرائيل", "اسراييل"),
    ("اسرائيل", "اسراييل"),
    # ta marbuta, alef maqsura
    ("مدرسة", "مدرسه"),
    ("على", "علي"),
    ("مصطفى", "مصطفي"),
    # tatweel
    ("مـــغـــرب", "مغرب"),
    ("الـمغرب", "المغرب"),
    # tashkeel, shadda, sukun, tanwin, superscript alef, Quranic marks
    ("مُحَمَّدٌ", "محمد"),
    ("إِسْرَائِيلَ", "اسراييل"),
    ("هٰذا", "هذا"),
    ("الرَّحْمَٰنِ", "الرحمن"),
    ("كِتَابًا", "كتابا"),
    # digits
    ("٢٠٢٤", "2024"),
    ("۱۴۰۳", "1403"),
    ("إف-١٦", "اف-16"),
    # NFKC: presentation forms and ligatures
    (_PRESENTATION_MUHAMMAD, "محمد"),
    (_LAM_ALEF_LIGATURE, "لا"),
    ("\ufdf2", "الله"),  # ﷲ ligature (decomposes with shadda + superscript alef)
    # combining hamza/madda written as separate marks compose, then fold
    ("ا\u0654", "ا"),
    ("و\u0654", "و"),
    # Persian letters typed on Persian keyboards
    ("ی", "ي"),
    ("ک", "ك"),
    # invisible format characters removed
    ("مغ\u200bرب", "مغرب"),
    ("\u200fالمغرب\u200e", "المغرب"),
    # casefold and whitespace
    ("ABC Straße", "abc strasse"),
    ("  المغرب \n\t وإسرائيل  ", "المغرب واسراييل"),
    # Latin accents are kept by normalize_arabic
    ("Défense", "défense"),
    ("ISRAËL", "israël"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), ARABIC_CASES)
def test_normalize_arabic(text: str, expected: str) -> None:
    assert normalize_arabic(text) == expected


def test_normalize_arabic_is_idempotent() -> None:
    for text, _ in ARABIC_CASES:
        once = normalize_arabic(text)
        assert normalize_arabic(once) == once


def test_normalize_arabic_spelling_variants_meet() -> None:
    variants = ["إسرائيل", "اسرائيل", "إِسْرَائِيل", "إسرائـــيل", "إسرايیل"]
    assert len({normalize_arabic(v) for v in variants}) == 1


# --------------------------------------------------------------------------- normalize_text

TEXT_CASES = [
    ("Défense", "defense"),
    ("ISRAËL", "israel"),
    ("Israël", "israel"),
    ("Fès Tétouan Laâyoune", "fes tetouan laayoune"),
    ("Œuvre", "oeuvre"),
    ("cœur", "coeur"),
    ("Cafe\u0301", "cafe"),  # decomposed accent
    ("naïve façade", "naive facade"),
    ("إِسْرَائِيل", "اسراييل"),
    ("المغرب و Maroc", "المغرب و maroc"),
    ("٢٠٢٤ année", "2024 annee"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), TEXT_CASES)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


# --------------------------------------------------------------------------- clean_text

CLEAN_CASES = [
    ("  hello   world  ", "hello world"),
    ("a\r\nb\rc", "a\nb\nc"),
    ("para one\n\n\n\n\npara two", "para one\n\npara two"),
    ("a\u00a0\u00a0b\u2009c\u3000d", "a b c d"),
    ("a\tb", "a b"),
    ("zero\u200bwidth\ufeff", "zerowidth"),
    ("soft\u00adhyphen", "softhyphen"),
    ("\u200fالمغرب\u200e", "المغرب"),
    ("bidi\u202a x \u202c", "bidi x"),
    ("ctrl\x00\x07chars", "ctrlchars"),
    ("  line one  \n  line two  ", "line one\nline two"),
    ("a\u2028b\u2029c", "a\nb\n\nc"),
    # ZWNJ (Persian) and ZWJ (emoji sequences) are meaningful and kept
    ("می\u200cخواهم", "می\u200cخواهم"),
    ("👩\u200d💻", "👩\u200d💻"),
    # NFC, not NFKC: presentation forms and tashkeel stay as written
    ("Cafe\u0301", "Café"),
    ("إِسْرَائِيلَ", "إِسْرَائِيلَ"),
    ("الـمغرب", "الـمغرب"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), CLEAN_CASES)
def test_clean_text(text: str, expected: str) -> None:
    assert clean_text(text) == expected


def test_clean_text_output_is_nfc() -> None:
    out = clean_text("Tétouan Cafe\u0301 ٱ")
    assert unicodedata.is_normalized("NFC", out)


# --------------------------------------------------------------------------- content_hash


def test_content_hash_definition() -> None:
    text = "Le  Maroc\net Israël  وإِسْرَائِيل"
    expected = hashlib.sha1("lemarocetisraelواسراييل".encode()).hexdigest()
    assert content_hash(text) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("وقّع المغرب وإسرائيل مذكرة", "وقع المغرب واسرائيل مذكرة"),
        ("المـغـرب  و\nإسرائيل", "المغرب وإسرائيل"),
        ("ISRAËL et le Maroc", "israel et le maroc"),
        ("a b c", "abc"),
        ("عام ٢٠٢٤", "عام 2024"),
    ],
)
def test_content_hash_ignores_matching_noise(a: str, b: str) -> None:
    assert content_hash(a) == content_hash(b)


def test_content_hash_differs_for_different_text() -> None:
    assert content_hash("المغرب") != content_hash("الجزائر")
    digest = content_hash("x")
    assert len(digest) == 40
    assert all(c in "0123456789abcdef" for c in digest)


# --------------------------------------------------------------------------- canonical_url

SLUG = "%D9%85%D8%B0%D9%83%D8%B1%D8%A9"  # «مذكرة» percent-encoded UTF-8, upper-case escapes

CANONICAL_CASES = [
    # scheme/host case, default ports, fragment
    ("HTTPS://Example.COM/News/1", "https://example.com/News/1"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("http://example.com:443/a", "http://example.com:443/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("http://127.0.0.1:8081/a", "http://127.0.0.1:8081/a"),
    ("https://example.com/a#comments", "https://example.com/a"),
    ("https://example.com", "https://example.com/"),
    ("  https://example.com/a  ", "https://example.com/a"),
    ("https://Example.com./a", "https://example.com/a"),
    # query: tracking removed, order sorted, other params kept
    ("https://example.com/a?utm_source=fb&utm_medium=social&id=3", "https://example.com/a?id=3"),
    ("https://example.com/a?UTM_Campaign=x&id=3", "https://example.com/a?id=3"),
    ("https://example.com/a?fbclid=IwAR0&gclid=abc", "https://example.com/a"),
    ("https://example.com/a?mc_cid=1&mc_eid=2&p=2", "https://example.com/a?p=2"),
    ("https://example.com/a?ref=tw&ref_src=twsrc", "https://example.com/a"),
    ("https://example.com/a?cmpid=rss&xtor=RSS-1&ocid=x", "https://example.com/a"),
    ("https://example.com/a?at_medium=x&at_campaign=y", "https://example.com/a"),
    ("https://example.com/a?igshid=1&spm=2&_ga=3", "https://example.com/a"),
    ("https://example.com/a?msclkid=1&pk_campaign=2&mtm_source=3", "https://example.com/a"),
    ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
    ("https://example.com/a?id=1&id=2", "https://example.com/a?id=1&id=2"),
    ("https://example.com/a?", "https://example.com/a"),
    ("https://example.com/a?x=1#frag", "https://example.com/a?x=1"),
    # AMP variants
    ("https://example.com/news/123/amp", "https://example.com/news/123"),
    ("https://example.com/news/123/amp/", "https://example.com/news/123/"),
    ("https://example.com/amp/news/123", "https://example.com/news/123"),
    ("https://example.com/ar/amp/news/123", "https://example.com/ar/news/123"),
    ("https://example.com/news/123?amp=1", "https://example.com/news/123"),
    ("https://example.com/news/123?amp", "https://example.com/news/123"),
    ("https://example.com/news/123?amp=true&id=4", "https://example.com/news/123?id=4"),
    ("https://example.com/news/123?outputType=amp", "https://example.com/news/123"),
    ("https://example.com/news/123?outputType=json", "https://example.com/news/123?outputType=json"),
    ("https://example.com/news/story.amp.html", "https://example.com/news/story.html"),
    ("https://example.com/news/story.AMP.htm", "https://example.com/news/story.htm"),
    ("https://amp.example.com/news/1", "https://example.com/news/1"),
    ("https://example.com/news/example-amplifier", "https://example.com/news/example-amplifier"),
    ("https://example.com/ampere/1", "https://example.com/ampere/1"),
    # mobile hosts
    ("https://m.example.com/news/1", "https://example.com/news/1"),
    ("https://mobile.example.com/news/1", "https://example.com/news/1"),
    ("https://m.example.co.ma/news/1", "https://example.co.ma/news/1"),
    ("https://m.ma/a", "https://m.ma/a"),  # a two-label host is the site itself
    ("https://www.example.com/a", "https://www.example.com/a"),  # www is kept here
    # IDNA hosts
    ("http://مثال.إختبار/a", "http://xn--mgbh0fb.xn--kgbechtv/a"),
    ("http://XN--MGBH0FB.xn--kgbechtv/a", "http://xn--mgbh0fb.xn--kgbechtv/a"),
    # Arabic slugs: raw, lower-case escapes, upper-case escapes -> one spelling
    ("https://example.com/ar/مذكرة", f"https://example.com/ar/{SLUG}"),
    (f"https://example.com/ar/{SLUG.lower()}", f"https://example.com/ar/{SLUG}"),
    (f"https://example.com/ar/{SLUG}", f"https://example.com/ar/{SLUG}"),
    ("https://example.com/search?q=المغرب", "https://example.com/search?q=%D8%A7%D9%84%D9%85%D8%BA%D8%B1%D8%A8"),
    # unreserved escapes decoded, reserved ones kept
    ("https://example.com/%7Euser/a%2Fb", "https://example.com/~user/a%2Fb"),
    ("https://example.com/a b", "https://example.com/a%20b"),
    # trailing slash kept as given
    ("https://example.com/a/", "https://example.com/a/"),
    ("https://example.com/a", "https://example.com/a"),
    # not HTTP(S): untouched
    ("mailto:x@example.com", "mailto:x@example.com"),
    ("/relative/path", "/relative/path"),
    ("", ""),
]  # fmt: skip


@pytest.mark.parametrize(("url", "expected"), CANONICAL_CASES)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_canonical_url_is_idempotent() -> None:
    for url, _ in CANONICAL_CASES:
        once = canonical_url(url)
        assert canonical_url(once) == once


# --------------------------------------------------------------------------- url_key

URL_KEY_CASES = [
    ("https://www.example.com/a", "example.com/a"),
    ("http://example.com/a/", "example.com/a"),
    ("https://example.com/", "example.com"),
    ("https://www.example.com/a/?b=2&a=1", "example.com/a?a=1&b=2"),
    ("http://127.0.0.1:8081/news/1/", "127.0.0.1:8081/news/1"),
    ("https://www2.example.com/a", "www2.example.com/a"),  # only a leading "www." goes
    ("https://example.com/www.x/a", "example.com/www.x/a"),
    ("https://example.com/ar/مذكرة/", f"example.com/ar/{SLUG}"),
]


@pytest.mark.parametrize(("url", "expected"), URL_KEY_CASES)
def test_url_key(url: str, expected: str) -> None:
    assert url_key(url) == expected


SAME_ARTICLE = [
    [
        "https://www.hespress.com/ar/مذكرة-تفاهم-123.html",
        f"https://www.hespress.com/ar/{SLUG}-%D8%AA%D9%81%D8%A7%D9%87%D9%85-123.html",
        f"http://hespress.com/ar/{SLUG.lower()}-%d8%aa%d9%81%d8%a7%d9%87%d9%85-123.html",
        "https://m.hespress.com/ar/مذكرة-تفاهم-123.html?utm_source=facebook&fbclid=abc",
        "https://www.hespress.com/ar/مذكرة-تفاهم-123.amp.html#top",
        "https://amp.hespress.com/ar/مذكرة-تفاهم-123.html",
        "https://www.hespress.com:443/ar/مذكرة-تفاهم-123.html/",
    ],
    [
        "https://www.le360.ma/politique/maroc-israel-accord-123/",
        "https://le360.ma/politique/maroc-israel-accord-123",
        "https://le360.ma/politique/maroc-israel-accord-123/amp/",
        "https://le360.ma/amp/politique/maroc-israel-accord-123",
        "https://mobile.le360.ma/politique/maroc-israel-accord-123?amp=1",
        "https://le360.ma/politique/maroc-israel-accord-123?outputType=amp&utm_medium=rss",
        "HTTPS://LE360.MA/politique/maroc-israel-accord-123#comments",
    ],
]


@pytest.mark.parametrize("variants", SAME_ARTICLE)
def test_url_key_groups_variants_of_one_article(variants: list[str]) -> None:
    keys = {url_key(u) for u in variants}
    assert len(keys) == 1, keys


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://example.com/a?id=1", "https://example.com/a?id=2"),
        ("https://example.com/News", "https://example.com/news"),
        ("https://example.com/a", "https://example.org/a"),
        ("https://ar.example.com/a", "https://fr.example.com/a"),
        ("http://127.0.0.1:8081/a", "http://127.0.0.1:8082/a"),
    ],
)
def test_url_key_keeps_different_pages_apart(a: str, b: str) -> None:
    assert url_key(a) != url_key(b)
