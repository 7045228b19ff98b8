"""An article's metadata from page signals: title, byline, publication date and language."""

from __future__ import annotations

import logging
import re
import sys
import unicodedata
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from crawler.extract.dates import PageDate, parse_date, parse_human_date, with_zone
from crawler.extract.signals import PageSignals
from crawler.extract.urls import split_url

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# dates


def now() -> datetime:
    return datetime.now(UTC)


def to_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def hinted_date(value: datetime, zone: tzinfo | None) -> PageDate:
    """A feed or sitemap date: its own offset, else the source's zone, else UTC (offset
    unknown)."""
    return with_zone(value, zone)


_NEAR = timedelta(days=2)
_UPDATE_WORDS = re.compile(r"تحديث|updated|last modified|mis à jour|mise à jour|modifié", re.I)
_MAX_OFFSET = timedelta(hours=14)


def page_date(
    sig: PageSignals,
    htmldate_day: str | None,
    url: str | None,
    zone: tzinfo | None = None,
    reference: datetime | None = None,
) -> PageDate | None:
    """Publication time from the page, in the publisher's offset: explicit article metadata
    (with its time) first, htmldate's day (markup, JSON, URL; no free-text guessing) next,
    then the date line printed for readers (absolute or relative to *reference*)."""
    reference = reference or now()
    explicit = [
        d for d in (parse_date(v, zone, reference) for v in sig.ld_dates + sig.meta_dates) if d
    ]
    if explicit:
        return _in_publisher_offset(explicit[0], sig, zone)
    found = parse_date(htmldate_day, zone, reference) if htmldate_day else None
    recent = found is not None and abs(found.when - reference) < _NEAR
    if found is not None and recent and not _url_has_day(url, found.when):
        # htmldate read "today" from the page (news sites print the current date in their
        # header): only trust it when the URL itself carries that day
        found = None
    # a line that says it is the update ("آخر تحديث", "Mis à jour") only when no other dates
    ordered = sorted(sig.date_lines, key=lambda line: bool(_UPDATE_WORDS.search(line)))
    lines = [d for d in (parse_date(v, zone, reference, human=True) for v in ordered) if d]
    if found is not None:
        # the printed line of the same day gives the time of day htmldate's day lacks
        same_day = [d for d in lines if d.day == found.day and not d.relative]
        return same_day[0] if same_day else found
    return lines[0] if lines else None


def _in_publisher_offset(dated: PageDate, sig: PageSignals, zone: tzinfo | None) -> PageDate:
    """A UTC time from the page's metadata, in the publisher's offset when the page also gives
    the same instant with its offset (``2022-04-21T22:11:44-06:00`` beside
    ``2022-04-22T04:11:44+00:00``) or prints it in local time (``<time datetime="2023-11-08
    23:30:59">`` or "November 8, 2023 at 11:30 p.m." beside ``2023-11-09T05:30:59Z``), or else
    in the source's zone. A time with a non-zero offset, or without any, is kept as given."""
    if dated.offset != 0:
        return dated
    for value in sig.ld_dates + sig.meta_dates + sig.time_values:
        # the same instant given elsewhere on the page with its offset
        other = parse_date(value)
        same = other is not None and abs(other.when - dated.when) < timedelta(minutes=1)
        if other is not None and same and other.offset:
            return other
    utc_wall = dated.when.replace(tzinfo=None)
    for values in (sig.ld_dates + sig.meta_dates, sig.time_values, sig.date_lines):
        # the first printed time only: later ones belong to related articles as often as not
        local = next((t for t in map(_local_wall_time, values) if t is not None), None)
        if local is None:
            continue
        gap = local - utc_wall
        half_hours = round(gap / timedelta(minutes=30))
        offset = timedelta(minutes=30) * half_hours
        exact = abs(gap - offset) < timedelta(minutes=1)
        if half_hours and abs(offset) <= _MAX_OFFSET and exact:
            return with_zone(dated.when.astimezone(timezone(offset)), None)
    if zone is not None:
        return with_zone(dated.when.astimezone(zone), None)
    return dated


def _local_wall_time(value: str) -> datetime | None:
    """A wall-clock time written without offset (a local time), with its minutes."""
    found = parse_human_date(value)
    if found is None or not found[1] or found[0].tzinfo is not None:
        return None
    return found[0]


def _url_has_day(url: str | None, day: datetime) -> bool:
    if not url:
        return False
    path = unquote(url)
    y, m, d = day.year, day.month, day.day
    forms = (f"{y}/{m:02d}/{d:02d}", f"{y}/{m}/{d}", f"{y}-{m:02d}-{d:02d}", f"{y}{m:02d}{d:02d}")
    return any(form in path for form in forms)


# --------------------------------------------------------------------------------------------
# titles and authors

_TITLE_SEPARATORS = re.compile(r"\s+(?:[|\-–—:·•»«/]|::)\s+")
# in a title that quotes with «...», the guillemets are quotation marks, not separators
_QUOTING_SEPARATORS = re.compile(r"\s+(?:[|\-–—:·•/]|::)\s+")


def _separators(title: str) -> re.Pattern[str]:
    return _QUOTING_SEPARATORS if "«" in title and "»" in title else _TITLE_SEPARATORS


_DANGLING = re.compile(r"^(?:[|\-–—·•]\s+)+|(?:\s+[|\-–—·•])+$")
# labels of a host name that name no site: hosts, public suffixes, language subdomains
_HOST_NOISE = frozenset({"www", "m", "amp", "mobile", "com", "net", "org", "co", "gov", "info"})


def site_tokens(
    sig: PageSignals,
    url: str | None,
    source_name: str | None = None,
    guessed: str | None = None,
    title: str | None = None,
) -> set[str]:
    """Folded names the site really goes by: og:site_name (or application-name), the source's
    configured name, and the labels of its domain; trafilatura's site name (*guessed*) only
    when it is one whole segment of *title*: its guess is the whole ``<title>``, or a run of its
    segments, when the title holds a dotted number or a domain-like word."""
    names = {n for n in (sig.site_name, source_name) if n}
    if guessed and title and _is_one_segment(guessed, title):
        names.add(guessed)
    split = split_url(url)
    host = split.hostname if split is not None else None
    if host:
        labels = host.lower().split(".")
        labels = labels[:-1] if len(labels) > 1 else labels  # the top-level domain
        names.update(label for label in labels if label not in _HOST_NOISE and len(label) >= 3)
    return {fold(n) for n in names if fold(n)}


def _is_one_segment(name: str, title: str) -> bool:
    title = " ".join(title.split())
    parts = [fold(p) for p in _separators(title).split(title)]
    return (
        len(parts) > 1
        and fold(name) in parts[1:] + parts[:1]
        and not _TITLE_SEPARATORS.search(name)
    )


@lru_cache(maxsize=1)
def _combining() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The combining characters as two character classes: those of the Basic Multilingual
    Plane, which re looks up at once, and the others, which it tries range by range (so only
    on text beyond that plane). Built once, ~0.1 s."""
    ranges: tuple[list[str], list[str]] = ([], [])
    start = None
    for c in range(sys.maxunicode + 2):
        marked = c <= sys.maxunicode and unicodedata.combining(chr(c)) != 0
        if start is not None and (not marked or c == 0x10000):
            ranges[start > 0xFFFF].append(f"{chr(start)}-{chr(c - 1)}")
            start = None
        if marked and start is None:
            start = c
    basic, beyond = ("".join(r) for r in ranges)
    return re.compile(f"[{basic}]+"), re.compile(f"[{beyond}]+")


_NON_WORD = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    if not text.isascii():  # ASCII is its own NFKD and holds no combining character
        basic, beyond = _combining()
        text = basic.sub("", unicodedata.normalize("NFKD", text))
        if text and max(text) > "\uffff":
            text = beyond.sub("", text)
    return _NON_WORD.sub("", text.casefold())


def clean_title(title: str | None, site: set[str], h1: str | None = None) -> str:
    """The headline: *title* without the segments that name the site.

    A segment is dropped only when it is one of the *site* names (see site_tokens), and never
    when it opens the ``<h1>``; a title made of the ``<h1>`` plus other segments is the
    ``<h1>``. Works without a URL or a source (an empty *site*)."""
    headline = " ".join((h1 or "").split())
    if not title:
        return headline
    title = " ".join(title.split())
    logo = _is_logo(headline, site)
    held = _segments_hold(title, headline) or _tail_only(title, headline)
    if len(headline) >= 10 and not logo and held:
        return headline
    parts = _separators(title).split(title)
    if len(parts) > 1 and site:
        opening = "" if logo else fold(headline)
        kept = list(parts)
        while len(kept) > 1 and _is_site(kept[-1], site, opening):
            kept.pop()
        while len(kept) > 1 and _is_site(kept[0], site, opening):
            kept.pop(0)
        if len(kept) < len(parts):
            title = _rejoin(title, kept) or title
    return _DANGLING.sub("", title).strip()


def _segments_hold(title: str, headline: str) -> bool:
    """True when *headline* is the whole title or a run of its segments (the rest being short:
    a site name, a section), so the title adds nothing to it."""
    if title == headline:
        return True
    separators = _separators(title)
    for start in (m.end() for m in separators.finditer(title)):
        if title.startswith(headline, start):
            rest = title[start + len(headline) :]
            if not rest or separators.match(rest):
                return len(title) - len(headline) < 60
    if title.startswith(headline):
        rest = title[len(headline) :]
        return bool(separators.match(rest)) and len(rest) < 60
    return False


def _is_logo(headline: str, site: set[str]) -> bool:
    """The <h1> is the site's name (a logo), not the article's headline."""
    folded = fold(headline)
    if not folded:
        return False
    if folded in site:
        return True
    if _TITLE_SEPARATORS.search(headline):
        return False
    return any(len(n) >= 4 and folded.startswith(n) and len(folded) <= 3 * len(n) for n in site)


def _tail_only(title: str, headline: str) -> bool:
    """The title is the headline and a short tail set off by punctuation ("* Site * by X")."""
    rest = title[len(headline) :].lstrip() if title.startswith(headline) else ""
    return bool(rest) and not rest[0].isalnum() and len(rest) < 40


def _rejoin(title: str, parts: list[str]) -> str:
    start = title.find(parts[0])
    end = title.rfind(parts[-1]) + len(parts[-1])
    return title[start:end] if start >= 0 and end > start else ""


def _is_site(segment: str, site: set[str], opening: str) -> bool:
    folded = fold(segment)
    if not folded:
        return True  # punctuation only
    if opening and opening.startswith(folded):
        return False  # it opens the headline: part of it
    for name in site:
        if folded == name:
            return True
        if len(name) >= 4 and folded.startswith(name) and len(folded) <= len(name) + 12:
            return True  # "Hespress FR", "Le360 Sport"
        if len(folded) >= 4 and name.startswith(folded) and len(folded) * 5 >= len(name) * 3:
            return True  # "Hespress" for the site "Hespress Français"
    return False


_BYLINE_PREFIX = re.compile(
    r"^\s*(?:بقلم|كتبه|كتبت|كتب|إعداد|اعداد|إعداد وتقديم|حرره|حرر|تحرير|تقرير|متابعة|بواسطة|"
    r"view all posts by|all posts by|more by|posts by|articles by|"
    r"par|by|written by|auteur|author|reportage de|propos recueillis par)"
    r"(?:\s*[:：\-–]\s*|\s+|$)",
    re.I,
)
_EMAIL = re.compile(r"\S+@\S+\.\S+")
_DATEISH = re.compile(
    r"(?:\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}|\d{1,2}:\d{2}|\b(?:19|20)\d{2}\b|"
    r"\b(?:le|on|the)\s+\d|\b(?:published|publié|updated|mis à jour|posted|modifié)\b|"
    r"(?:يناير|فبراير|مارس|أبريل|ابريل|مايو|يونيو|يوليو|أغسطس|اغسطس|سبتمبر|أكتوبر|اكتوبر|"
    r"نوفمبر|ديسمبر|الأحد|الاثنين|الإثنين|الثلاثاء|الأربعاء|الخميس|الجمعة|السبت)).*$",
    re.I,
)


_TRAILING_NUMBERS = re.compile(r"[\s\d\u0660-\u0669,:/|\-–—.]+$")


_NOT_A_NAME = frozenset(
    {
        "", "admin", "administrator", "redaction", "rédaction", "unknown", "no author",
        "anonymous", "journalist", "journaliste", "reporter", "staff", "editor", "correspondent",
        "correspondant", "contributor", "المحرر", "محرر", "مراسل", "هيئة التحرير",
    }
)  # fmt: skip
_URL_SCRAP = re.compile(r"\s+https?$|^www\s", re.I)


def clean_author(author: str | None) -> str | None:
    """The byline's names, without prefixes, dates, e-mail addresses, role words, URL scraps or
    repeats. An organisation stays: it is the byline some pages give."""
    if not author:
        return None
    names: list[str] = []
    for part in re.split(r"\s*[;|\n]\s*", author):
        part = _EMAIL.sub(" ", part)
        part = _DATEISH.sub(" ", part)
        part = _TRAILING_NUMBERS.sub("", " ".join(part.split())).strip(" ,:-–—|/")
        for _ in range(2):
            part = _BYLINE_PREFIX.sub("", part).strip(" ,:-–—|/")
        if part.lower() in _NOT_A_NAME or _URL_SCRAP.search(part):
            continue
        if len(part) > 80 or part.lower().startswith(("http", "www.")):
            continue
        folded = fold(part)
        if all(fold(name) != folded for name in names):
            names.append(part)
    return "; ".join(names) or None


# --------------------------------------------------------------------------------------------
# language

_SENSIBLE_LANGS = (
    "ar", "fr", "en", "es", "de", "it", "pt", "nl", "tr", "fa", "ur", "he", "ru", "zh", "ja",
    "ko", "id", "sw", "pl", "sv", "da", "no", "fi", "cs", "ro", "el", "hi", "bn", "uk", "ca",
)  # fmt: skip
_ARABIC_CHAR = re.compile(r"[\u0600-\u06ff]")
_LATIN_CHAR = re.compile(r"[A-Za-z\u00c0-\u024f]")


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(_SENSIBLE_LANGS))
    return ident


def lang_code(value: str | None) -> str | None:
    if not value:
        return None
    code = re.split(r"[-_]", value.strip().lower())[0]
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


def detect_language(declared: str | None, text: str, hint: str | None) -> str | None:
    sample = text[:3000]
    arabic = len(_ARABIC_CHAR.findall(sample))
    latin = len(_LATIN_CHAR.findall(sample))
    if declared:
        # templates keep lang="en" on Arabic pages and vice versa: check the script
        if declared in {"ar", "fa", "ur"} and (arabic or not latin):
            return declared
        if declared not in {"ar", "fa", "ur"} and (arabic < latin or arabic < 20):
            return declared
    if len(sample.strip()) < 40:
        return declared or hint
    if arabic > latin:
        return "ar" if not declared or declared not in {"fa", "ur"} else declared
    try:
        lang, prob = _identifier().classify(sample)
    except Exception:  # langid is best effort
        logger.debug("language identification failed", exc_info=True)
        return declared or hint
    if prob < 0.5 and hint:
        return hint
    return str(lang)
