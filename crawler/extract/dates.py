"""Publication dates as publishers write them, kept in the publisher's own UTC offset.

Pure functions (the clock is read only when no reference time is given): the reference time
of a relative date ("منذ ساعتين", "il y a 3 heures", "2 hours ago") is the fetch time, given
by the caller. Understood forms:

* machine forms (ISO 8601, RFC 2822, what dateutil reads) in meta tags and JSON-LD;
* human forms in the page: Eastern Arabic and Persian digits; Arabic month names in the
  Egyptian/Gulf form (يناير…), the Levantine/Iraqi form (كانون الثاني…), the Algerian/Tunisian
  form (جانفي…) and the Moroccan form (يوليوز، غشت، شتنبر، نونبر، دجنبر), with or without
  hamza and ta marbuta; weekday prefixes; «ص/م» (and صباحا/مساء) for AM/PM; French months,
  abbreviated or not (janvier, févr., 1er), with "à 14h30"; English months;
* relative dates, which come back with ``relative=True``.

A time with an offset keeps it; a time without one takes the source's ``timezone`` when the
caller knows it, and otherwise stays as written (read as UTC, offset unknown: never shifted).
Input is cut to ``MAX_CHARS`` characters before any regular expression sees it.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

from dateutil import parser as dateutil_parser

__all__ = [
    "MAX_CHARS",
    "PageDate",
    "normalize_digits",
    "parse_date",
    "parse_human_date",
    "parse_relative",
    "with_zone",
]

MAX_CHARS = 200
OLDEST_YEAR = 1995  # nothing older is a news page's publication date


@dataclass(frozen=True)
class PageDate:
    """A publication instant: aware, in the publisher's offset when known (else UTC)."""

    when: datetime
    offset: int | None  # minutes east of UTC; None: the page gave none and no zone is set
    relative: bool = False

    @property
    def day(self) -> str:
        """The publisher's calendar day, YYYY-MM-DD."""
        return self.when.date().isoformat()


# --------------------------------------------------------------------------------------------
# normalisation

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_ARABIC_MARKS = re.compile(r"[\u064b-\u065f\u0670\u0640]")  # harakat, superscript alef, tatweel
_ARABIC_FOLD = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ؤ": "و", "ی": "ي", "ک": "ك"}
)


def normalize_digits(text: str) -> str:
    """Eastern Arabic and Persian digits as ASCII digits."""
    return text.translate(_DIGITS)


def _fold(text: str) -> str:
    """Lower case, ASCII digits, no Latin accents, no Arabic marks, one alef / ha / ya."""
    text = normalize_digits(text[:MAX_CHARS])
    text = _ARABIC_MARKS.sub("", text).translate(_ARABIC_FOLD)
    text = text.replace("،", ",").replace("\u200f", " ").replace("\u200e", " ")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))  # ئ -> ي, آ -> ا
    return " ".join(text.casefold().split())


# --------------------------------------------------------------------------------------------
# month names (written folded: no hamza on alef, ه for ة, no accents)

_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("يناير", "كانون الثاني", "كانون ثاني", "جانفي", "janvier", "janv", "january", "jan"),
    2: ("فبراير", "شباط", "فيفري", "fevrier", "fevr", "fev", "february", "feb"),
    3: ("مارس", "اذار", "mars", "march", "mar"),
    4: ("ابريل", "نيسان", "افريل", "avril", "avr", "april", "apr"),
    5: ("مايو", "ايار", "ماي", "mai", "may"),
    6: ("يونيو", "يونيه", "حزيران", "جوان", "juin", "june", "jun"),
    7: ("يوليو", "يوليه", "يوليوز", "تموز", "جويليه", "juillet", "juil", "july", "jul"),
    8: ("اغسطس", "اب", "غشت", "اوت", "aout", "august", "aug"),
    9: ("سبتمبر", "ايلول", "شتنبر", "septembre", "sept", "september", "sep"),
    10: ("اكتوبر", "تشرين الاول", "تشرين اول", "octobre", "oct", "october"),
    11: ("نوفمبر", "تشرين الثاني", "تشرين ثاني", "نونبر", "novembre", "nov", "november"),
    12: ("ديسمبر", "كانون الاول", "كانون اول", "دجنبر", "decembre", "dec", "december"),
}
_MONTH_OF = {name: month for month, names in _MONTH_NAMES.items() for name in names}
# longest first, so that "كانون الثاني" wins over a shorter name inside it; a name is a whole
# word (Arabic letters are \w, so "اب" never matches inside "كتاب")
_MONTH = "|".join(sorted(map(re.escape, _MONTH_OF), key=len, reverse=True))
_MONTH_WORD = rf"(?<![^\W\d])(?:{_MONTH})(?!\w)\.?"
# "1 كانون الأول/ديسمبر 2024", "3 (مارس) آذار 2024": a second name for the same month
_ALSO = rf"(?:\s*[/\-(]?\s*(?:{_MONTH})(?!\w)\s*\)?)?"

_DAY_MONTH_YEAR = re.compile(
    rf"(?<!\d)(?P<day>\d{{1,2}})(?:er|st|nd|rd|th)?\s*(?:من\s+)?(?P<month>{_MONTH_WORD}){_ALSO}"
    rf"\s*,?\s*(?P<year>\d{{4}})(?!\d)"
)
_MONTH_DAY_YEAR = re.compile(
    rf"(?P<month>{_MONTH_WORD})\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s*(?P<year>\d{{4}})(?!\d)"
)
# Solar Hijri (Iran, Afghanistan): "2 تیر 1399", converted to the Gregorian calendar
_JALALI_MONTHS = ("فروردين", "ارديبهشت", "خرداد", "تير", "مرداد", "شهريور", "مهر", "ابان", "اذر",
                  "دي", "بهمن", "اسفند")  # fmt: skip
_JALALI = re.compile(
    r"(?<!\d)(?P<day>\d{1,2})\s+(?P<month>" + "|".join(_JALALI_MONTHS) + r")(?!\w)\s*,?\s*"
    r"(?P<year>1[34]\d\d)(?!\d)"
)
_NUMERIC_DMY = re.compile(
    r"(?<!\d)(?P<day>\d{1,2})[/.\-](?P<month>\d{1,2})[/.\-](?P<year>\d{4})(?!\d)"
)
_NUMERIC_YMD = re.compile(
    r"(?<!\d)(?P<year>\d{4})[/.\-](?P<month>\d{1,2})[/.\-](?P<day>\d{1,2})(?!\d)"
)

_TIME = re.compile(
    r"(?<![\d/.\-])(?P<hour>\d{1,2})\s*(?:(?::|h)\s*(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"|h(?![^\W\d]))"  # "à 14h30", "à 2h"
    r"(?:\s*(?P<half>صباحا|صباح|مساء|ص|م|ق\.?ظ\.?|ب\.?ظ\.?|a\.?m\.?|p\.?m\.?)(?!\w))?"
    r"(?:\s*(?:gmt|utc|z)?\s*(?P<sign>[+\-])\s*(?P<oh>\d{1,2})(?::?(?P<om>\d{2}))?"
    r"|\s*(?P<utc>gmt|utc|z)(?!\w))?"
)
_MORNING = {"صباحا", "صباح", "ص", "ق.ظ", "ق.ظ.", "قظ", "am", "a.m.", "a.m", "am."}


def jalali_to_gregorian(year: int, month: int, day: int) -> date:
    """The Gregorian date of a Solar Hijri one (the arithmetic of the 33-year cycle)."""
    if not (1 <= month <= 12 and 1 <= day <= (31 if month <= 6 else 30)):
        raise ValueError("no such Solar Hijri day")
    days = -355668 + 365 * (year + 1595) + ((year + 1595) // 33) * 8
    days += (((year + 1595) % 33) + 3) // 4 + day
    days += (month - 1) * 31 if month < 7 else (month - 7) * 30 + 186
    return _from_days(days)


def _from_days(days: int) -> date:
    year = 400 * (days // 146097)
    days %= 146097
    if days > 36524:
        days -= 1
        year += 100 * (days // 36524)
        days %= 36524
        if days >= 365:
            days += 1
    year += 4 * (days // 1461)
    days %= 1461
    if days > 365:
        year += (days - 1) // 365
        days = (days - 1) % 365
    return date(year, 1, 1) + timedelta(days=days)


def parse_human_date(text: str) -> tuple[datetime, bool] | None:
    """A calendar date (and its time of day when given) written by a person, with the offset
    when the text states one: (datetime, has_time); naive when no offset is written."""
    folded = _fold(text)
    found = None
    for pattern in (_JALALI, _DAY_MONTH_YEAR, _MONTH_DAY_YEAR, _NUMERIC_YMD, _NUMERIC_DMY):
        found = pattern.search(folded)
        if found:
            break
    if found is None:
        return None
    month_text = found.group("month").rstrip(".")
    day, year = int(found.group("day")), int(found.group("year"))
    try:
        if found.re is _JALALI:
            calendar_day = jalali_to_gregorian(year, _JALALI_MONTHS.index(month_text) + 1, day)
        else:
            month = int(month_text) if month_text.isdigit() else _MONTH_OF[month_text]
            if found.re is _NUMERIC_DMY and month > 12 >= day:
                day, month = month, day  # 12/25/2024: an American order
            calendar_day = date(year, month, day)
    except (ValueError, KeyError):
        return None
    rest = folded[: found.start()] + " | " + folded[found.end() :]
    clock = _TIME.search(rest)
    if clock is None:
        return datetime.combine(calendar_day, time()), False
    hour, minute = int(clock.group("hour")), int(clock.group("minute") or 0)
    second = int(clock.group("second") or 0)
    half = clock.group("half")
    if half and hour <= 12:
        morning = half in _MORNING
        hour = hour % 12 + (0 if morning else 12)
    if hour > 23 or minute > 59 or second > 59:
        return datetime.combine(calendar_day, time()), False
    zone: tzinfo | None = None
    if clock.group("sign"):
        minutes = int(clock.group("oh")) * 60 + int(clock.group("om") or 0)
        if minutes > 14 * 60:
            return None
        zone = timezone(timedelta(minutes=minutes if clock.group("sign") == "+" else -minutes))
    elif clock.group("utc"):
        zone = UTC
    return datetime.combine(calendar_day, time(hour, minute, second), tzinfo=zone), True


# --------------------------------------------------------------------------------------------
# relative dates

_UNITS: dict[str, tuple[timedelta, int]] = {}  # folded word -> (unit, count the word implies)


def _units(delta: timedelta, single: tuple[str, ...], dual: tuple[str, ...] = ()) -> None:
    for word in single:
        _UNITS[word] = (delta, 1)
    for word in dual:
        _UNITS[word] = (delta, 2)


_units(timedelta(seconds=1), ("ثانيه", "ثواني", "ثوان", "seconde", "secondes", "sec", "second",
       "seconds", "secs"), ("ثانيتين", "ثانيتان"))  # fmt: skip
_units(timedelta(minutes=1), ("دقيقه", "دقائق", "دقايق", "minute", "minutes", "min", "mins"),
       ("دقيقتين", "دقيقتان"))  # fmt: skip
_units(timedelta(hours=1), ("ساعه", "ساعات", "heure", "heures", "h", "hour", "hours", "hr", "hrs"),
       ("ساعتين", "ساعتان"))  # fmt: skip
_units(timedelta(days=1), ("يوم", "ايام", "jour", "jours", "day", "days"), ("يومين", "يومان"))
_units(timedelta(weeks=1), ("اسبوع", "اسابيع", "semaine", "semaines", "week", "weeks"),
       ("اسبوعين", "اسبوعان"))  # fmt: skip
_units(timedelta(days=30), ("شهر", "اشهر", "شهور", "mois", "month", "months"),
       ("شهرين", "شهران"))  # fmt: skip

_NUMBER_WORDS = {
    "واحد": 1, "واحده": 1, "اثنين": 2, "اثنتين": 2, "ثلاث": 3, "ثلاثه": 3, "اربع": 4, "اربعه": 4,
    "خمس": 5, "خمسه": 5, "ست": 6, "سته": 6, "سبع": 7, "سبعه": 7, "ثماني": 8, "ثمان": 8,
    "ثمانيه": 8, "تسع": 9, "تسعه": 9, "عشر": 10, "عشره": 10,
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "dix": 10,
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "ten": 10,
}  # fmt: skip
_UNIT = "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True))
_COUNT = r"(?:(?P<n>\d{1,4})|(?P<word>[^\W\d]+))"
_RELATIVE = (
    # منذ ساعتين، منذ 3 ساعات، قبل يومين، منذ ساعة
    re.compile(rf"(?:منذ|قبل)\s+(?:{_COUNT}\s+)?(?P<unit>{_UNIT})(?!\w)"),
    # il y a 3 heures, il y a une heure
    re.compile(rf"il\s+y\s+a\s+(?:{_COUNT}\s*)?(?P<unit>{_UNIT})(?!\w)"),
    # 2 hours ago, an hour ago
    re.compile(rf"(?:{_COUNT}\s*)?(?P<unit>{_UNIT})\s+ago(?!\w)"),
)
_YESTERDAY = re.compile(r"(?<!\w)(?:امس|البارحه|hier|yesterday)(?!\w)")
_JUST_NOW = re.compile(r"(?<!\w)(?:الان|منذ لحظات|a l'instant|just now)(?!\w)")


def parse_relative(text: str, reference: datetime) -> datetime | None:
    """The instant a relative date names, counted back from *reference* (the fetch time)."""
    folded = _fold(text)
    for pattern in _RELATIVE:
        found = pattern.search(folded)
        if found is None:
            continue
        unit, implied = _UNITS[found.group("unit")]
        count = implied
        if found.group("n"):
            count = int(found.group("n"))
        elif found.group("word"):
            if found.group("word") not in _NUMBER_WORDS:
                continue
            count = _NUMBER_WORDS[found.group("word")]
        if count * unit > timedelta(days=366):
            return None
        return reference - count * unit
    if _YESTERDAY.search(folded):
        return reference - timedelta(days=1)
    if _JUST_NOW.search(folded):
        return reference
    return None


# --------------------------------------------------------------------------------------------
# one entry point

_FULL_DATE = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4}|\d{4}/\d{1,2}/\d{1,2}|\d{8}|"
    r"\d{1,2}\s+[A-Za-z]{3,}\.?\s+\d{4}|[A-Za-z]{3,}\.?\s+\d{1,2},?\s+\d{4}"
)


def with_zone(value: datetime, zone: tzinfo | None) -> PageDate:
    """*value* as a PageDate: its own offset, else *zone*'s at that wall time, else UTC with
    the offset unknown (the time is kept as written, not shifted)."""
    if value.tzinfo is None or value.utcoffset() is None:
        if zone is None:
            return PageDate(value.replace(tzinfo=UTC), None)
        value = value.replace(tzinfo=zone)
    delta = value.utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    fixed = timezone(timedelta(minutes=minutes)) if minutes else UTC
    return PageDate(value.astimezone(fixed), minutes)


def _machine_date(value: str) -> datetime | None:
    if not _FULL_DATE.search(value):
        return None  # a bare year or month is not a publication date
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dateutil warns about unknown zone names ("IST")
        try:
            return dateutil_parser.isoparse(value)
        except (ValueError, OverflowError):
            try:
                return dateutil_parser.parse(value, fuzzy=False)
            except (ValueError, OverflowError, TypeError):
                return None


def parse_date(
    value: str | None,
    zone: tzinfo | None = None,
    reference: datetime | None = None,
    *,
    human: bool = False,
) -> PageDate | None:
    """A publication date from one string, or None.

    *zone*: the publisher's time zone for a time written without offset. *reference*: the
    fetch time (aware); relative dates are resolved against it, and nothing later than a day
    after it is a publication date. *human*: the text was written for readers (a date line in
    the page), so day-first and named-month forms come before dateutil's month-first reading.
    """
    if not value:
        return None
    value = value.strip()[:MAX_CHARS]
    parsed: datetime | None = None
    relative = False
    if human:
        found = parse_human_date(value)
        parsed = found[0] if found else None
    if parsed is None:
        parsed = _machine_date(normalize_digits(value))
    if parsed is None and not human:
        found = parse_human_date(value)
        parsed = found[0] if found else None
    if parsed is None and reference is not None:
        parsed = parse_relative(value, reference)
        relative = parsed is not None
    if parsed is None:
        return None
    try:
        if relative:  # an instant: the publisher's offset is its zone's, if known
            parsed = parsed.astimezone(zone) if zone else parsed.astimezone(UTC)
            dated = with_zone(parsed, zone) if zone else PageDate(parsed, None)
        else:
            dated = with_zone(parsed, zone)
        instant = dated.when.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    latest = (reference or datetime.now(UTC)) + timedelta(days=1)
    if instant.year < OLDEST_YEAR or instant > latest:
        return None
    return PageDate(dated.when, dated.offset, relative)
