"""Publication dates as publishers print them (crawler/extract/dates.py), and the publisher's
offset kept through extraction. Every example is our own writing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from crawler.db import publisher_time
from crawler.extract.core import Extracted, PageHints, Rejected, extract
from crawler.extract.dates import (
    MAX_CHARS,
    normalize_digits,
    parse_date,
    parse_human_date,
    parse_relative,
)

FETCHED = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
CASABLANCA = ZoneInfo("Africa/Casablanca")
BEIRUT = ZoneInfo("Asia/Beirut")


def day_and_time(text: str) -> tuple[str, str | None]:
    found = parse_human_date(text)
    assert found is not None, text
    when, has_time = found
    return when.date().isoformat(), when.strftime("%H:%M") if has_time else None


def test_eastern_arabic_and_persian_digits() -> None:
    assert normalize_digits("٢٠٢٥/٠٧/٠٩") == "2025/07/09"
    assert normalize_digits("۱۴۰۳") == "1403"
    assert day_and_time("٠٩/٠٧/٢٠٢٥") == ("2025-07-09", None)
    assert day_and_time("۱۸ مارس ۲۰۲۵") == ("2025-03-18", None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Egyptian / Gulf month names, with and without hamza, ta marbuta variants
        ("3 يناير 2025", "2025-01-03"),
        ("17 فبراير 2025", "2025-02-17"),
        ("2 أبريل 2025", "2025-04-02"),
        ("2 ابريل 2025", "2025-04-02"),
        ("2 إبريل 2025", "2025-04-02"),
        ("11 يونيه 2025", "2025-06-11"),
        ("11 يونيو 2025", "2025-06-11"),
        ("30 أغسطس 2024", "2024-08-30"),
        ("30 اغسطس 2024", "2024-08-30"),
        ("5 أكتوبر 2024", "2024-10-05"),
        ("28 ديسمبر 2024", "2024-12-28"),
        # Levantine / Iraqi names, one and two words
        ("9 كانون الثاني 2025", "2025-01-09"),
        ("9 كانون ثاني 2025", "2025-01-09"),
        ("21 شباط 2025", "2025-02-21"),
        ("4 آذار 2025", "2025-03-04"),
        ("4 اذار 2025", "2025-03-04"),
        ("15 أيار 2024", "2024-05-15"),
        ("1 تموز 2024", "2024-07-01"),
        ("6 آب 2024", "2024-08-06"),
        ("12 أيلول 2024", "2024-09-12"),
        ("19 تشرين الأول 2024", "2024-10-19"),
        ("19 تشرين الاول 2024", "2024-10-19"),
        ("25 تشرين الثاني 2024", "2024-11-25"),
        ("31 كانون الأول 2024", "2024-12-31"),
        # both names, as Levantine papers print them
        ("8 كانون الأول/ديسمبر 2024", "2024-12-08"),
        # Maghrebi Arabic
        ("14 جانفي 2025", "2025-01-14"),
        ("7 فيفري 2025", "2025-02-07"),
        ("22 يوليوز 2024", "2024-07-22"),
        ("13 غشت 2024", "2024-08-13"),
        ("27 شتنبر 2024", "2024-09-27"),
        ("3 نونبر 2024", "2024-11-03"),
        ("24 دجنبر 2024", "2024-12-24"),
        # harakat and tatweel do not get in the way
        ("3 يَنايِر 2025", "2025-01-03"),
        ("3 ينـــاير 2025", "2025-01-03"),
    ],
)
def test_arabic_month_names(text: str, expected: str) -> None:
    assert day_and_time(text)[0] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("۲ تیر ۱۳۹۹", ("2020-06-22", None)),
        ("دوشنبه ۱ فروردین ۱۴۰۳", ("2024-03-20", None)),
        ("29 اسفند 1402", ("2024-03-19", None)),
        ("11 دی 1399 - 04:15 ب.ظ", ("2020-12-31", "16:15")),
        ("3 آبان 1401 ساعت 09:30 ق.ظ", ("2022-10-25", "09:30")),
    ],
)
def test_solar_hijri_dates_become_gregorian(text: str, expected: tuple[str, str | None]) -> None:
    assert day_and_time(text) == expected


def test_a_short_month_name_is_a_whole_word() -> None:
    # «آب» (August) inside «كتاب» is no month
    assert parse_human_date("كتاب 2024 عن 12 رواية") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("الأحد، 16 مارس 2025 - 10:45 ص", ("2025-03-16", "10:45")),
        ("الاثنين 17 مارس 2025 الساعة 04:05 م", ("2025-03-17", "16:05")),
        ("الخميس ٢٠ آذار ٢٠٢٥ - ١١:٣٠ م", ("2025-03-20", "23:30")),
        ("الجمعة 21 مارس 2025 12:15 ص", ("2025-03-21", "00:15")),
        ("السبت 22 مارس 2025 12:15 م", ("2025-03-22", "12:15")),
        ("نشر في: الثلاثاء 18 مارس 2025 - 8:00 مساءً", ("2025-03-18", "20:00")),
        ("الأربعاء 19 مارس 2025 - 7:20 صباحا", ("2025-03-19", "07:20")),
    ],
)
def test_weekday_prefix_and_am_pm(text: str, expected: tuple[str, str]) -> None:
    assert day_and_time(text) == expected


def test_a_year_suffix_is_not_pm() -> None:
    # «2025م» is the Gregorian year mark; the clock that follows is a 24-hour one
    assert day_and_time("16 مارس 2025م 09:10") == ("2025-03-16", "09:10")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Publié le 12 janvier 2025 à 14h30", ("2025-01-12", "14:30")),
        ("le 1er février 2025 à 9h05", ("2025-02-01", "09:05")),
        ("3 févr. 2025 à 18h00", ("2025-02-03", "18:00")),
        ("lundi 7 avril 2025 - 07:40", ("2025-04-07", "07:40")),
        ("Mis en ligne le 15 août 2024", ("2024-08-15", None)),
        ("15 aout 2024", ("2024-08-15", None)),
        ("2 déc. 2024 à 22 h 10", ("2024-12-02", "22:10")),
        ("1 décembre 2024 à 2h", ("2024-12-01", "02:00")),
        ("Le 09/11/2024 à 11h20", ("2024-11-09", "11:20")),
        ("March 4, 2025 at 6:12 p.m.", ("2025-03-04", "18:12")),
        ("4 Mar 2025, 11:03 PM", ("2025-03-04", "23:03")),
    ],
)
def test_french_and_english_forms(text: str, expected: tuple[str, str | None]) -> None:
    assert day_and_time(text) == expected


def test_an_american_numeric_date_is_read_month_first_when_it_must_be() -> None:
    assert day_and_time("12/25/2024") == ("2024-12-25", None)
    assert day_and_time("05/04/2024") == ("2024-04-05", None)  # day first otherwise


@pytest.mark.parametrize(
    ("text", "back"),
    [
        ("منذ ساعتين", timedelta(hours=2)),
        ("منذ 3 ساعات", timedelta(hours=3)),
        ("منذ ٥ دقائق", timedelta(minutes=5)),
        ("منذ ساعة", timedelta(hours=1)),
        ("قبل يومين", timedelta(days=2)),
        ("قبل ثلاثة أيام", timedelta(days=3)),
        ("منذ أسبوع", timedelta(weeks=1)),
        ("il y a 3 heures", timedelta(hours=3)),
        ("Il y a une heure", timedelta(hours=1)),
        ("il y a 20 min", timedelta(minutes=20)),
        ("il y a 2 jours", timedelta(days=2)),
        ("2 hours ago", timedelta(hours=2)),
        ("an hour ago", timedelta(hours=1)),
        ("45 mins ago", timedelta(minutes=45)),
        ("أمس", timedelta(days=1)),
        ("hier", timedelta(days=1)),
    ],
)
def test_relative_dates_count_back_from_the_fetch_time(text: str, back: timedelta) -> None:
    assert parse_relative(text, FETCHED) == FETCHED - back
    dated = parse_date(text, None, FETCHED, human=True)
    assert dated is not None and dated.relative and dated.when == FETCHED - back


def test_a_relative_date_takes_the_sources_offset() -> None:
    dated = parse_date("منذ ساعتين", BEIRUT, FETCHED, human=True)
    assert dated is not None and dated.relative
    assert dated.offset == 120 and dated.when.isoformat() == "2026-03-14T09:30:00+02:00"


def test_words_that_are_no_relative_date() -> None:
    assert parse_relative("قبل الانتخابات المقبلة", FETCHED) is None
    assert parse_relative("il y a des années", FETCHED) is None
    assert parse_relative("منذ 90000 يوم", FETCHED) is None  # absurd: refused


def test_an_explicit_offset_is_kept_and_the_day_is_the_publishers() -> None:
    dated = parse_date("2025-12-01T02:00:00+03:00")
    assert dated is not None
    assert dated.offset == 180 and dated.day == "2025-12-01"
    assert dated.when == datetime(2025, 11, 30, 23, 0, tzinfo=UTC)  # the same instant


def test_a_naive_time_takes_the_source_zone_or_stays_as_written() -> None:
    zoned = parse_date("2025-07-10 23:30", CASABLANCA)
    assert zoned is not None and zoned.offset == 60 and zoned.day == "2025-07-10"
    assert zoned.when == datetime(2025, 7, 10, 22, 30, tzinfo=UTC)
    bare = parse_date("2025-07-10 23:30")
    assert bare is not None and bare.offset is None
    assert bare.when == datetime(2025, 7, 10, 23, 30, tzinfo=UTC)  # not shifted


def test_a_zone_follows_its_own_summer_time() -> None:
    winter = parse_date("2025-01-15 10:00", BEIRUT)
    summer = parse_date("2025-07-15 10:00", BEIRUT)
    assert winter is not None and summer is not None
    assert (winter.offset, summer.offset) == (120, 180)


def test_dates_that_are_no_publication_date() -> None:
    assert parse_date("2025") is None  # a bare year
    assert parse_date("31 فبراير 2025", human=True) is None  # no such day
    assert parse_date("1 يناير 1980", human=True) is None  # older than any news page
    assert parse_date("5 مارس 2026", None, FETCHED, human=True) is not None
    assert parse_date("25 مارس 2026", None, FETCHED, human=True) is None  # after the fetch


def test_input_is_cut_before_any_pattern_sees_it() -> None:
    long = "x" * (MAX_CHARS + 5000) + " 3 يناير 2025"
    assert parse_date(long, human=True) is None
    assert parse_date("١" * 100_000, human=True) is None


# ------------------------------------------------------------------ through extraction

PARAS = "".join(
    f"<p>فقرة رقم {i}: أعلن المجلس البلدي عن برنامج جديد لإصلاح الطرق في الأحياء الشعبية، "
    "وقال رئيس المجلس إن الأشغال ستبدأ خلال الأسابيع المقبلة وتستمر حتى نهاية السنة.</p>"
    for i in range(5)
)


def page(head: str = "", date_line: str = "") -> str:
    return (
        f"<html lang='ar' dir='rtl'><head><title>برنامج لإصلاح الطرق</title>{head}</head><body>"
        "<header><nav><a href='/'>الرئيسية</a> <a href='/sport'>رياضة</a></nav>"
        "<span class='date'>السبت 14 مارس 2026</span></header>"
        f"<article><h1>برنامج لإصلاح الطرق</h1>{date_line}{PARAS}</article></body></html>"
    )


def ok(result: Extracted | Rejected) -> Extracted:
    assert isinstance(result, Extracted), result
    return result


def test_publication_after_midnight_keeps_the_publishers_day() -> None:
    head = '<meta property="article:published_time" content="2025-12-01T02:00:00+03:00">'
    result = ok(extract(page(head), None))
    assert result.published is not None and result.published_offset == 180
    assert result.published.isoformat() == "2025-12-01T02:00:00+03:00"
    assert result.published.isoformat()[:10] == "2025-12-01"


def test_utc_metadata_goes_back_to_the_local_time_printed_on_the_page() -> None:
    head = '<meta property="article:published_time" content="2025-11-30T23:00:00Z">'
    line = "<time>الاثنين 1 ديسمبر 2025 - 02:00 ص</time>"
    result = ok(extract(page(head, line), None))
    assert result.published_offset == 180 and result.published is not None
    assert result.published.isoformat() == "2025-12-01T02:00:00+03:00"


def test_utc_metadata_is_shown_in_the_source_zone() -> None:
    head = '<meta property="article:published_time" content="2025-11-30T23:30:00Z">'
    result = ok(extract(page(head), None, PageHints(timezone="Africa/Casablanca")))
    assert result.published_offset == 60 and result.published is not None
    assert result.published.isoformat()[:10] == "2025-12-01"


def test_a_date_line_in_arabic_is_the_page_date() -> None:
    line = "<div class='post-date'>الخميس ١٢ آذار ٢٠٢٦ - ٠٩:١٥ م</div>"
    result = ok(extract(page(date_line=line), None, PageHints(timezone="Asia/Beirut")))
    assert result.date_source == "page" and result.published_offset == 120
    assert result.published is not None
    assert result.published.isoformat() == "2026-03-12T21:15:00+02:00"


def test_a_relative_date_line_says_so() -> None:
    line = "<span class='time'>منذ 3 ساعات</span>"
    result = ok(extract(page(date_line=line), None, PageHints(fetched_at=FETCHED)))
    assert result.date_source == "relative"
    assert result.published == FETCHED - timedelta(hours=3)


def test_the_header_date_of_the_site_is_not_the_articles() -> None:
    result = ok(extract(page(), None, PageHints(fetched_at=FETCHED)))
    assert result.published is None and result.date_source is None


def test_a_feed_date_keeps_its_offset() -> None:
    feed = datetime(2026, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    result = ok(extract(page(), None, PageHints(feed_date=feed, fetched_at=FETCHED)))
    assert result.date_source == "feed" and result.published_offset == 60
    assert result.published is not None and result.published.isoformat()[:10] == "2026-03-01"


def test_publisher_time_of_a_stored_instant() -> None:
    stored = datetime(2025, 11, 30, 23, 0)  # SQLite hands it back naive, in UTC
    assert publisher_time(stored, 180).isoformat() == "2025-12-01T02:00:00+03:00"
    assert publisher_time(stored, None).isoformat() == "2025-11-30T23:00:00+00:00"
    assert publisher_time(stored, -300).isoformat()[:10] == "2025-11-30"


# ------------------------------------------------------------------ the source's timezone


def test_a_source_timezone_is_checked_when_the_configuration_loads() -> None:
    from crawler.config import ConfigError, parse_sources

    source = {"name": "S", "lang": "ar", "domains": ["s.ma"], "feeds": ["https://s.ma/rss"]}
    parsed = parse_sources({"sources": {"s": {**source, "timezone": "Africa/Casablanca"}}})
    assert parsed[0].timezone == "Africa/Casablanca"
    assert parse_sources({"sources": {"s": source}})[0].timezone is None
    with pytest.raises(ConfigError) as caught:
        parse_sources({"sources": {"s": {**source, "timezone": "Africa/Rabat"}}})
    message = str(caught.value)
    assert "sources.s.timezone" in message and "Africa/Rabat" in message
    assert "Africa/Casablanca" in message  # the fix names a real zone


def test_utc_metadata_takes_the_offset_the_page_gives_the_same_instant_elsewhere() -> None:
    head = (
        '<meta property="og:updated_time" content="2025-11-30T23:10:00Z">'
        '<meta property="article:published_time" content="2025-11-30T23:10:00+00:00">'
        "<meta itemprop='x'><time datetime='2025-12-01T00:10:00+01:00'>1 déc.</time>"
    )
    result = ok(extract(page(head), None))
    assert result.published_offset == 60 and result.published is not None
    assert result.published.isoformat() == "2025-12-01T00:10:00+01:00"


def test_arabic_digits_in_metadata() -> None:
    head = '<meta name="date" content="٢٠٢٥-١١-٢٠T١٠:٠٠:٠٠+٠٣:٠٠">'
    result = ok(extract(page(head), None, PageHints(fetched_at=FETCHED)))
    assert result.published_offset == 180 and result.published is not None
    assert result.published.isoformat() == "2025-11-20T10:00:00+03:00"


def test_an_update_line_is_not_the_publication() -> None:
    lines = (
        "<div class='post-date'>آخر تحديث: الخميس 12 مارس 2026 - 11:00 ص</div>"
        "<div class='post-date'>نشر في: الأربعاء 11 مارس 2026 - 09:00 م</div>"
    )
    result = ok(extract(page(date_line=lines), None, PageHints(fetched_at=FETCHED)))
    assert result.published is not None
    assert result.published.isoformat()[:16] == "2026-03-11T21:00"
