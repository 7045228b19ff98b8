"""Render one outlet of the sample site into a route table (request target -> Response).

Everything is rendered once at serve time, because URLs are absolute and the ports are dynamic.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .content import Article, Outlet, Trap, slugify

TEMPLATES = Path(__file__).parent / "templates"
TRACKING_PREFIXES = ("utm_", "fbclid", "gclid", "mc_")
MONTHS = {
    "ar": (
        "يناير",
        "فبراير",
        "مارس",
        "أبريل",
        "ماي",
        "يونيو",
        "يوليوز",
        "غشت",
        "شتنبر",
        "أكتوبر",
        "نونبر",
        "دجنبر",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
NEWS_SITEMAP_SIZE = 6


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    location: str | None = None


def route_key(target: str) -> str:
    """Lookup key for a request target: unquoted path + query without tracking parameters."""
    parts = urlsplit(target)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(TRACKING_PREFIXES)
    ]
    return unquote(parts.path or "/") + ("?" + urlencode(query) if query else "")


def human_date(dt: datetime, lang: str) -> str:
    month = MONTHS[lang][dt.month - 1]
    if lang == "en":
        return f"{month} {dt.day}, {dt.year} {dt:%H:%M}"
    if lang == "fr":
        return f"{dt.day} {month} {dt.year} à {dt:%Hh%M}"
    return f"{dt.day} {month} {dt.year} - {dt:%H:%M}"


def make_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["rfc822"] = format_datetime
    env.filters["iso"] = lambda dt: dt.isoformat()
    return env


class OutletRenderer:
    def __init__(self, outlet: Outlet, bases: dict[str, str], env: Environment):
        self.o = outlet
        self.base = bases[outlet.key]
        self.others = [(key, base) for key, base in bases.items() if key != outlet.key]
        self.env = env
        self.routes: dict[str, Response] = {}
        self.linkable = [a for a in outlet.articles if "section" in a.via]
        self.tags = sorted({t for a in outlet.articles for t in a.tags})

    # ---- URLs -------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.base + quote(path, safe="/?=&;%:-_.~")

    def article_url(self, article: Article) -> str:
        return self.url(article.path)

    def trap_path(self, trap: Trap) -> str:
        if trap.target is None:
            return trap.path
        return trap.path.format(path=self.o.article(trap.target).path)

    def trap_target(self, trap: Trap) -> Article:
        """The real article behind a redirect or AMP variant (such traps always name one)."""
        if trap.target is None:
            raise ValueError(f"{self.o.key}: {trap.kind} trap {trap.path} names no article")
        return self.o.article(trap.target)

    def section_url(self, key: str, page: int = 1) -> str:
        if page == 1:
            return self.url(self.o.section_path.format(key=key))
        return self.url(self.o.section_page_path.format(key=key, n=page))

    def tag_url(self, tag: str) -> str:
        return self.url(self.o.tag_path.format(slug=slugify(tag), n=self.tags.index(tag) + 1))

    def traps(self, linked_from: str) -> list[Trap]:
        return [t for t in self.o.traps if t.linked_from == linked_from]

    # ---- responses ----------------------------------------------------------------------
    def add(
        self, path: str, status: int, content_type: str, body: bytes, location: str | None = None
    ) -> None:
        self.routes[route_key(path)] = Response(status, content_type, body, location)

    def add_html(self, path: str, html: str, mode: str = "header") -> None:
        charset = "iso-8859-6" if mode == "iso-8859-6" else self.o.charset
        content_type = "text/html" if mode in ("meta", "none") else f"text/html; charset={charset}"
        self.add(path, 200, content_type, html.encode(charset))

    def render(self, name: str, **context: object) -> str:
        template = self.env.get_template(name)
        return template.render(o=self.o, base=self.base, others=self.others, r=self, **context)

    def page_template(self, name: str) -> str:
        return f"{self.o.template}/{name}"

    # ---- sidebar data -------------------------------------------------------------------
    def most_read(self, exclude: int | None = None, n: int = 5) -> list[Article]:
        pool = [a for a in self.linkable if a.id != exclude]
        if not pool:
            return []
        start = (exclude or 0) % len(pool)
        return (pool[start:] + pool[:start])[:n]

    def related(self, article: Article, n: int = 3) -> list[Article]:
        return [a for a in self.linkable if a.section == article.section and a.id != article.id][:n]

    def comments(self, article_id: int) -> list[str]:
        pool = self.o.comments
        if not pool:
            return []
        count = article_id % 4
        return [pool[(article_id + i) % len(pool)] for i in range(count)]

    def section_label(self, key: str) -> str:
        return next(s.label for s in self.o.sections if s.key == key)

    # ---- builders -----------------------------------------------------------------------
    def build(self) -> dict[str, Response]:
        self.build_articles()
        self.build_sections()
        self.build_tags()
        self.build_traps()
        self.build_feeds()
        self.build_sitemaps()
        self.add(
            "/robots.txt",
            200,
            "text/plain; charset=utf-8",
            self.render("_shared/robots.txt").encode("utf-8"),
        )
        return self.routes

    def article_html(self, article: Article, *, private: bool = False) -> str:
        mode = article.encoding
        return self.render(
            self.page_template("article.html"),
            a=article,
            url=self.article_url(article),
            canonical=not private,
            show_date=article.page_date,
            human_date=human_date(article.date, self.o.lang),
            section_label=self.section_label(article.section),
            meta_charset=mode == "meta" or self.o.charset == "utf-8",
            most_read=self.most_read(article.id),
            related=self.related(article),
            comments=self.comments(article.id),
        )

    def build_articles(self) -> None:
        for article in self.o.articles:
            self.add_html(article.path, self.article_html(article), article.encoding)

    def listing_html(self, kind: str, title: str, items: Iterable[Article], **extra: object) -> str:
        return self.render(
            self.page_template("listing.html"),
            kind=kind,
            title=title,
            items=list(items),
            most_read=self.most_read(),
            human_date=lambda dt: human_date(dt, self.o.lang),
            **{"featured": [], "next_url": None, "prev_url": None, "section": None, **extra},
        )

    def build_sections(self) -> None:
        featured = [(t, self.url(self.trap_path(t))) for t in self.traps("section")]
        per = self.o.per_page
        for index, section in enumerate(self.o.sections):
            items = sorted(
                (a for a in self.linkable if a.section == section.key),
                key=lambda a: a.date,
                reverse=True,
            )
            pages = [items[i : i + per] for i in range(0, len(items), per)] or [[]]
            for n, chunk in enumerate(pages, start=1):
                html = self.listing_html(
                    "section",
                    section.label,
                    chunk,
                    section=section,
                    featured=featured if index == 0 and n == 1 else [],
                    next_url=self.section_url(section.key, n + 1) if n < len(pages) else None,
                    prev_url=self.section_url(section.key, n - 1) if n > 1 else None,
                )
                path = (
                    self.o.section_path.format(key=section.key)
                    if n == 1
                    else self.o.section_page_path.format(key=section.key, n=n)
                )
                self.add_html(path, html)
        home = sorted(self.linkable, key=lambda a: a.date, reverse=True)[:8]
        self.add_html("/", self.listing_html("home", self.o.name, home))

    def build_tags(self) -> None:
        for tag in self.tags:
            items = [a for a in self.linkable if tag in a.tags]
            path = self.o.tag_path.format(slug=slugify(tag), n=self.tags.index(tag) + 1)
            self.add_html(path, self.listing_html("tag", tag, items))

    def build_traps(self) -> None:
        for trap in self.o.traps:
            path = self.trap_path(trap)
            if trap.kind == "server_error":
                self.add(
                    path,
                    500,
                    "text/html; charset=utf-8",
                    b"<html><body><h1>500 Internal Server Error</h1></body></html>",
                )
            elif trap.kind == "garbage":
                head = self.listing_html("home", self.o.name, self.linkable[:3])
                cut = head.encode(self.o.charset)[:700]
                self.add(
                    path,
                    200,
                    f"text/html; charset={self.o.charset}",
                    cut + bytes(range(256))[::-1] * 3 + b"\x00\x00<di",
                )
            elif trap.kind == "redirect":
                target = self.trap_target(trap)
                self.add(
                    path,
                    301,
                    "text/html; charset=utf-8",
                    b"Moved Permanently",
                    location=self.article_url(target),
                )
            elif trap.kind in ("too_short", "private"):
                fake = Article(
                    self.o.key,
                    0,
                    path,
                    trap.title,
                    trap.section or self.o.sections[0].key,
                    self.o.articles[0].date,
                    "",
                    trap.paragraphs,
                    trap.title,
                    frozenset(),
                    True,
                    (),
                    None,
                    "header",
                )
                self.add_html(path, self.article_html(fake, private=trap.kind == "private"))
            elif trap.kind == "listing":
                items = sorted(self.linkable, key=lambda a: a.date, reverse=True)
                self.add_html(path, self.listing_html("latest", trap.title, items))
            elif trap.kind == "tag_page":
                items = [a for a in self.linkable if trap.title in a.tags] or self.linkable[:6]
                self.add_html(path, self.listing_html("tag", trap.title, items))
            elif trap.kind == "amp_variant":
                target = self.trap_target(trap)
                self.add(
                    path,
                    200,
                    "text/html; charset=utf-8",
                    self.render(
                        "_shared/amp.html",
                        a=target,
                        url=self.article_url(target),
                        show_date=target.page_date,
                        human_date=human_date(target.date, self.o.lang),
                    ).encode("utf-8"),
                )
            # utm_variant and not_found need no route: tracking parameters are ignored
            # by route_key, and unknown paths answer 404.

    def feed_entries(self) -> list[dict]:
        redirects = {t.target: t for t in self.o.traps if t.kind == "redirect"}
        entries = []
        for a in sorted(self.o.articles, key=lambda a: a.date, reverse=True):
            if "feed" not in a.via:
                continue
            path = self.trap_path(redirects[a.id]) if a.id in redirects else a.path
            entries.append(
                {
                    "title": a.title,
                    "url": self.url(path),
                    "date": a.date,
                    "summary": a.summary,
                    "author": a.author,
                    "category": self.section_label(a.section),
                    "id": a.id,
                }
            )
        for t in self.traps("feed"):
            if t.kind == "redirect":
                continue
            target = self.o.article(t.target) if t.target else None
            entries.append(
                {
                    "title": t.title or (target.title if target else ""),
                    "url": self.url(self.trap_path(t)),
                    "date": target.date if target else self.o.articles[-1].date,
                    "summary": t.title or (target.summary if target else ""),
                    "author": "",
                    "category": "",
                    "id": 900000 + len(entries),
                }
            )
        return entries

    def build_feeds(self) -> None:
        feed = self.o.files.get("feed")
        if not feed:
            return
        fmt = feed["format"]
        xml = self.render(
            f"_shared/{fmt}.xml",
            entries=self.feed_entries(),
            feed_url=self.url(feed["path"]),
            encoding=feed.get("encoding", "utf-8"),
            updated=max(a.date for a in self.o.articles),
        )
        content_type = "application/atom+xml" if fmt == "atom" else "application/rss+xml"
        self.add(feed["path"], 200, content_type, xml.encode(feed.get("encoding", "utf-8")))

    def sitemap_entries(self) -> list[dict]:
        entries = [
            {"url": self.article_url(a), "date": a.date, "title": a.title}
            for a in sorted(self.o.articles, key=lambda a: a.date, reverse=True)
            if "sitemap" in a.via
        ]
        for t in self.traps("sitemap"):
            target = self.o.article(t.target) if t.target else None
            entries.append(
                {
                    "url": self.url(self.trap_path(t)),
                    "date": target.date if target else self.o.articles[-1].date,
                    "title": t.title or (target.title if target else ""),
                }
            )
        return entries

    def build_sitemaps(self) -> None:
        files = self.o.files
        entries = self.sitemap_entries()
        children = []
        if "urlset" in files:
            urlset = self.render("_shared/urlset.xml", entries=entries).encode("utf-8")
            path = files["urlset"]
            if path.endswith(".gz"):
                self.add(path, 200, "application/x-gzip", gzip.compress(urlset, mtime=0))
            else:
                self.add(path, 200, "application/xml", urlset)
            children.append((path, max(e["date"] for e in entries)))
        if "news" in files:
            news = entries[:NEWS_SITEMAP_SIZE] if "urlset" in files else entries
            xml = self.render("_shared/news_sitemap.xml", entries=news)
            self.add(files["news"], 200, "application/xml", xml.encode("utf-8"))
            children.append((files["news"], max(e["date"] for e in news)))
        if "index" in files:
            xml = self.render(
                "_shared/sitemap_index.xml", children=[(self.url(p), d) for p, d in children]
            )
            self.add(files["index"], 200, "application/xml", xml.encode("utf-8"))


def render_site(outlets: Iterable[Outlet], bases: dict[str, str]) -> dict[str, dict[str, Response]]:
    env = make_env()
    return {o.key: OutletRenderer(o, bases, env).build() for o in outlets}
