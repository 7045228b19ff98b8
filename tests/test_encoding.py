"""decode_html: declared, mislabelled and undeclared UTF-8 / windows-1256 / ISO-8859-6 pages."""

from __future__ import annotations

import pytest

from crawler.text.encoding import decode_html, normalize_charset

ARABIC = (
    "أعلنت وزارة الصحة اليوم عن إطلاق حملة وطنية جديدة للتلقيح في جميع المدن والقرى، "
    "وقال المسؤولون إن الهدف هو حماية الأطفال من الأمراض المعدية قبل بداية الموسم الدراسي."
)
SHORT_ARABIC = "مرحبا بكم في الموقع"
FRENCH = "Le ministère a annoncé une réforme fiscale; les élèves étaient très inquiets à Rabat."


def page(text: str, meta: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head>{meta}<title>t</title></head><body><p>{text}</p></body></html>"
    )


META_1256 = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">'
META_ISO6 = '<meta charset="iso-8859-6">'


@pytest.mark.parametrize("text", [ARABIC, SHORT_ARABIC, FRENCH])
def test_utf8_without_declaration(text: str) -> None:
    decoded, codec = decode_html(page(text).encode("utf-8"))
    assert codec == "utf-8"
    assert text in decoded


@pytest.mark.parametrize(
    ("content_type", "meta"),
    [
        ("text/html; charset=windows-1256", ""),  # HTTP header
        ("text/html", META_1256),  # meta http-equiv
        (None, ""),  # nothing declared
        ('text/html; charset="cp1256"', ""),
        ("text/html; charset=iso-8859-1", ""),  # wrong server default
    ],
)
@pytest.mark.parametrize("text", [ARABIC, SHORT_ARABIC])
def test_windows_1256(content_type: str | None, meta: str, text: str) -> None:
    decoded, codec = decode_html(page(text, meta).encode("cp1256"), content_type)
    assert codec == "cp1256"
    assert text in decoded
    assert "\ufffd" not in decoded


@pytest.mark.parametrize(
    ("content_type", "meta"),
    [
        ("text/html; charset=ISO-8859-6", ""),
        (None, META_ISO6),
        (None, ""),
        ("text/html; charset=arabic", ""),
    ],
)
@pytest.mark.parametrize("text", [ARABIC, SHORT_ARABIC])
def test_iso_8859_6(content_type: str | None, meta: str, text: str) -> None:
    decoded, codec = decode_html(page(text, meta).encode("iso8859_6"), content_type)
    assert codec == "iso8859-6"
    assert text in decoded
    assert "\ufffd" not in decoded


def test_vowelled_iso_8859_6_without_declaration() -> None:
    text = "بِسْمِ اللَّهِ الرَّحْمَنِ الرَّحِيمِ كِتَابٌ أَنْزَلْنَاهُ إِلَيْكَ مُبَارَكٌ"
    decoded, codec = decode_html(page(text).encode("iso8859_6"))
    assert codec == "iso8859-6"
    assert text in decoded


def test_labelled_iso_8859_6_but_windows_1256() -> None:
    text = ARABIC + " ي ى"
    decoded, codec = decode_html(page(text, META_ISO6).encode("cp1256"))
    assert codec == "cp1256"
    assert text in decoded


@pytest.mark.parametrize(
    "meta",
    [
        '<meta charset="gb2312">',
        '<meta charset="iso-8859-15">',
        META_1256,
        '<meta http-equiv="content-type" content="text/html; charset=ISO-8859-1">',
    ],
)
def test_mislabelled_utf8(meta: str) -> None:
    decoded, codec = decode_html(page(ARABIC + " " + FRENCH, meta).encode("utf-8"))
    assert codec == "utf-8"
    assert ARABIC in decoded and FRENCH in decoded


def test_header_mislabelled_utf8() -> None:
    body = page(ARABIC).encode("utf-8")
    decoded, codec = decode_html(body, "text/html; charset=windows-1256")
    assert codec == "utf-8"
    assert ARABIC in decoded


def test_declared_utf8_but_windows_1256() -> None:
    body = page(ARABIC, '<meta charset="utf-8">').encode("cp1256")
    decoded, codec = decode_html(body, "text/html; charset=UTF-8")
    assert codec == "cp1256"
    assert ARABIC in decoded


def test_utf8_with_one_stray_byte_stays_utf8() -> None:
    body = page(ARABIC).encode("utf-8").replace(b"</p>", b"\xff</p>")
    decoded, codec = decode_html(body)
    assert codec == "utf-8"
    assert ARABIC in decoded


@pytest.mark.parametrize("label", ["x-mac-arabic", "garbage-charset", "", "utf-7", "rot13"])
def test_unknown_or_unusable_labels_fall_back_to_detection(label: str) -> None:
    body = page(ARABIC, f'<meta charset="{label}">').encode("cp1256")
    decoded, codec = decode_html(body, f"text/html; charset={label}")
    assert codec == "cp1256"
    assert ARABIC in decoded


def test_french_latin1_without_declaration() -> None:
    decoded, codec = decode_html(page(FRENCH).encode("cp1252"))
    assert codec == "cp1252"
    assert FRENCH in decoded


def test_forced_encoding_wins() -> None:
    body = page(ARABIC, '<meta charset="utf-8">').encode("cp1256")
    decoded, codec = decode_html(body, "text/html; charset=utf-8", forced="windows-1256")
    assert codec == "cp1256"
    assert ARABIC in decoded


def test_unknown_forced_encoding_is_ignored() -> None:
    decoded, codec = decode_html(page(ARABIC).encode("utf-8"), forced="no-such-codec")
    assert codec == "utf-8"
    assert ARABIC in decoded


@pytest.mark.parametrize(
    ("bom", "codec", "expected"),
    [
        (b"\xef\xbb\xbf", "utf-8", "utf-8"),
        (b"\xff\xfe", "utf-16-le", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be", "utf-16-be"),
    ],
)
def test_bom(bom: bytes, codec: str, expected: str) -> None:
    body = bom + page(ARABIC, META_1256).encode(codec)
    decoded, name = decode_html(body, "text/html; charset=windows-1256")
    assert name == expected
    assert ARABIC in decoded


@pytest.mark.parametrize("body", [b"", b"\x00\x01\x02", b"\xff" * 10, bytes(range(256))])
def test_never_raises(body: bytes) -> None:
    text, codec = decode_html(body, "text/html; charset=\x00bad")
    assert isinstance(text, str) and isinstance(codec, str)


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("windows-1256", "cp1256"),
        ("WINDOWS-1256", "cp1256"),
        ("iso-8859-6", "iso8859-6"),
        ("ISO-8859-6-I", "iso8859-6"),
        ("utf8", "utf-8"),
        ("latin1", "cp1252"),
        ("x-mac-arabic", None),
        ("nonsense", None),
        (None, None),
    ],
)
def test_normalize_charset(label: str | None, codec: str | None) -> None:
    assert normalize_charset(label) == codec


MIXED_ARABIC = ARABIC + " " + SHORT_ARABIC + " ي ى ة"


@pytest.mark.parametrize("text", [ARABIC, SHORT_ARABIC, MIXED_ARABIC])
@pytest.mark.parametrize(
    "content_type",
    ["text/html; charset=windows-1256", "text/html; charset=cp1256", "text/html; charset=latin1"],
)
def test_header_says_windows_1256_over_iso_8859_6(content_type: str, text: str) -> None:
    """The mislabel the other way round is caught by the same check (test_labelled_iso...)."""
    decoded, codec = decode_html(page(text).encode("iso8859_6"), content_type)
    assert codec == "iso8859-6"
    assert text in decoded


@pytest.mark.parametrize("text", [ARABIC, SHORT_ARABIC, MIXED_ARABIC])
def test_meta_says_windows_1256_over_iso_8859_6(text: str) -> None:
    decoded, codec = decode_html(page(text, META_1256).encode("iso8859_6"))
    assert codec == "iso8859-6"
    assert text in decoded


def test_windows_1256_french_page_keeps_its_label() -> None:
    """Only Arabic-looking bytes are re-read: cp1256 also holds French letters."""
    decoded, codec = decode_html(page(FRENCH).encode("cp1256"), "text/html; charset=windows-1256")
    assert codec == "cp1256"
    assert FRENCH in decoded


UTF16_LABELS = ["utf-16", "UTF-16", "utf-16le", "utf-16be", '"utf-16"']


@pytest.mark.parametrize("label", UTF16_LABELS)
@pytest.mark.parametrize(("codec", "bom"), [("utf-16-le", b""), ("utf-16-be", b""),
                                            ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])  # fmt: skip
@pytest.mark.parametrize("text", [ARABIC, SHORT_ARABIC, ARABIC + " " + FRENCH])
def test_utf16_from_the_header_with_or_without_bom(
    label: str, codec: str, bom: bytes, text: str
) -> None:
    body = bom + page(text).encode(codec)
    decoded, chosen = decode_html(body, f"text/html; charset={label}")
    assert chosen == codec  # whatever order the label names: the bytes decide
    assert text in decoded
    assert "\ufffd" not in decoded and "\ufeff" not in decoded


def test_utf16_text_without_markup_and_an_odd_last_byte() -> None:
    body = (SHORT_ARABIC + " 2026").encode("utf-16-le") + b"\x00"
    decoded, codec = decode_html(body, "text/html; charset=utf-16")
    assert codec == "utf-16-le"
    assert SHORT_ARABIC + " 2026" in decoded


@pytest.mark.parametrize(
    ("body", "codec"),
    [
        (page(ARABIC).encode("utf-8"), "utf-8"),
        (page(ARABIC).encode("cp1256"), "cp1256"),
        (page(FRENCH).encode("cp1252"), "cp1252"),
        (page("plain ASCII page").encode("ascii"), "utf-8"),
    ],
)
def test_a_utf16_header_over_single_byte_pages_is_a_lie(body: bytes, codec: str) -> None:
    decoded, chosen = decode_html(body, "text/html; charset=utf-16")
    assert chosen == codec
    assert "<html>" in decoded


def test_utf16_in_meta_alone_stays_a_lie() -> None:
    body = page(ARABIC, '<meta charset="utf-16">').encode("utf-8")
    decoded, codec = decode_html(body)
    assert codec == "utf-8"
    assert ARABIC in decoded
