"""An article's metadata from page signals: title, byline, publication date and language."""

from __future__ import annotations

import logging
import re
import unicodedata
import warnings
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from dateutil import parser as dateparser

from crawler.extract.signals import PageSignals
from crawler.extract.urls import split_url

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# dates


def now() -> datetime:
    return datetime.now(UTC)


_FULL_DATE = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4}|\d{4}/\d{1,2}/\d{1,2}|\d{8}|"
    r"\d{1,2}\s+[A-Za-z]{3,}\.?\s+\d{4}|[A-Za-z]{3,}\.?\s+\d{1,2},?\s+\d{4}"
)


def parse_date(value: str | None) -> tuple[datetime, str] | None:
    """(UTC datetime, calendar day as written on the page) or None."""
    if not value:
        return None
    value = value.strip()
    if not _FULL_DATE.search(value):
        return None  # a bare year or month is not a publication date
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dateutil warns about unknown zone names ("IST")
        try:
            parsed = dateparser.isoparse(value)
        except (ValueError, OverflowError):
            try:
                parsed = dateparser.parse(value, fuzzy=False)
            except (ValueError, OverflowError, TypeError):
                return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    local_day = parsed.date().isoformat()
    try:
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    if parsed.year < 1995 or parsed > now() + timedelta(days=1):
        return None
    return parsed, local_day


def to_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def page_date(
    sig: PageSignals, htmldate_day: str | None, url: str | None
) -> tuple[datetime, str] | None:
    """Publication time from the page: explicit article metadata (with its time) first,
    htmldate's day (markup, JSON, URL; no free-text guessing) otherwise."""
    raw = sig.ld_dates + sig.meta_dates
    explicit = [d for d in map(parse_date, raw) if d]
    if explicit:
        return explicit[0]
    found = parse_date(htmldate_day) if htmldate_day else None
    recent = found is not None and abs(found[0] - now()) < timedelta(days=2)
    if found is not None and recent and not _url_has_day(url, found[0]):
        # htmldate read "today" from the page (news sites print the current date in their
        # header): only trust it when the URL itself carries that day
        return None
    return found


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


def site_tokens(sig: PageSignals, sitename: str | None, url: str | None) -> set[str]:
    names = {n for n in (sig.site_name, sitename) if n}
    split = split_url(url)
    host = split.hostname if split is not None else None
    if host:
        parts = [p for p in host.split(".") if p not in {"www", "m", "amp", "com", "net", "org"}]
        names.update(parts[:-1] or parts)
    return {fold(n) for n in names if fold(n)}


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", "", text.casefold())


def clean_title(title: str | None, site: set[str], h1: str | None = None) -> str:
    if not title:
        return (h1 or "").strip()
    title = " ".join(title.split())
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) > 1:
        # drop leading/trailing segments naming the site
        while len(parts) > 1 and _is_site(parts[-1], site):
            parts.pop()
        while len(parts) > 1 and _is_site(parts[0], site):
            parts.pop(0)
        if len(parts) < len(_TITLE_SEPARATORS.split(title)):
            # rebuild with the original separators for the kept span
            kept = _rejoin(title, parts)
            title = kept or title
    if h1 and len(h1) >= 10 and title.startswith(h1) and len(title) - len(h1) < 40:
        title = h1
    return title.strip(" -|–—:")


def _rejoin(title: str, parts: list[str]) -> str:
    start = title.find(parts[0])
    end = title.rfind(parts[-1]) + len(parts[-1])
    return title[start:end] if start >= 0 and end > start else ""


def _is_site(segment: str, site: set[str]) -> bool:
    folded = fold(segment)
    if not folded:
        return True
    if folded in site:
        return True
    return any(len(s) >= 4 and (folded.startswith(s) or s.startswith(folded)) for s in site if s)


_BYLINE_PREFIX = re.compile(
    r"^\s*(?:بقلم|كتبه|كتبت|كتب|إعداد|اعداد|إعداد وتقديم|حرره|حرر|تحرير|تقرير|متابعة|بواسطة|"
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


def clean_author(author: str | None) -> str | None:
    if not author:
        return None
    names: list[str] = []
    for part in re.split(r"\s*[;|\n]\s*", author):
        part = _EMAIL.sub(" ", part)
        part = _DATEISH.sub(" ", part)
        part = _TRAILING_NUMBERS.sub("", " ".join(part.split())).strip(" ,:-–—|/")
        for _ in range(2):
            part = _BYLINE_PREFIX.sub("", part).strip(" ,:-–—|/")
        if part.lower() in {"", "admin", "administrator", "redaction", "rédaction", "unknown"}:
            continue
        if len(part) > 80 or part.startswith(("http", "www.")):
            continue
        if part not in names:
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
