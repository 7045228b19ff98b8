"""Loopback HTTP server for the bundled sample site: one ThreadingHTTPServer per outlet."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import tomli_w

from .content import Outlet, Trap, load_outlets
from .render import Response, render_site, route_key

NOT_FOUND = Response(
    404, "text/html; charset=utf-8", b"<html><body><h1>404 Not Found</h1></body></html>"
)


@dataclass(frozen=True)
class ExpectedArticle:
    outlet: str
    id: int
    url: str  # canonical URL (the one the crawler must store)
    title: str
    lang: str
    section: str
    date: datetime
    has_page_date: bool
    via: frozenset[str]
    group: str | None  # syndication group id
    encoding: str  # "utf-8" | "header" | "meta" | "none" | "iso-8859-6"
    words: int


@dataclass(frozen=True)
class ExpectedTrap:
    outlet: str
    kind: str
    url: str
    linked_from: str
    target_url: str | None  # canonical URL of the real article (redirect/utm/amp variants)


class _Handler(BaseHTTPRequestHandler):
    server_version = "MarsadSample/1.0"
    server: _OutletServer  # the server that built this handler

    def _respond(self, with_body: bool) -> None:
        site = self.server
        site.requests.append(self.path)
        response = site.routes.get(route_key(self.path), NOT_FOUND)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        if response.location:
            self.send_header("Location", response.location)
        self.end_headers()
        if with_body:
            self.wfile.write(response.body)

    def do_GET(self) -> None:
        self._respond(True)

    def do_HEAD(self) -> None:
        self._respond(False)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


class _OutletServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int = 0):
        super().__init__((host, port), _Handler)
        self.routes: dict[str, Response] = {}
        self.requests: list[str] = []


@dataclass
class SampleSite:
    bases: dict[str, str]  # outlet key -> "http://127.0.0.1:PORT"
    outlets: dict[str, Outlet] = field(default_factory=dict)
    _servers: dict[str, _OutletServer] = field(default_factory=dict, repr=False)

    def url(self, outlet: str, path: str) -> str:
        return self.bases[outlet] + quote(path, safe="/?=&;%:-_.~")

    @property
    def expected(self) -> list[ExpectedArticle]:
        out = []
        for o in self.outlets.values():
            for a in o.articles:
                encoding = a.encoding if o.charset != "utf-8" else "utf-8"
                out.append(
                    ExpectedArticle(
                        o.key,
                        a.id,
                        self.url(o.key, a.path),
                        a.title,
                        o.lang,
                        a.section,
                        a.date,
                        a.page_date,
                        a.via,
                        a.group,
                        encoding,
                        a.words,
                    )
                )
        return out

    @property
    def traps(self) -> list[ExpectedTrap]:
        out = []
        for o in self.outlets.values():
            for t in o.traps:
                out.append(self._trap(o, t))
            for other in self.bases:
                if other != o.key:
                    out.append(ExpectedTrap(o.key, "offsite", self.bases[other], "section", None))
            out.append(ExpectedTrap(o.key, "offsite", o.offsite, "section", None))
        return out

    def _trap(self, o: Outlet, t: Trap) -> ExpectedTrap:
        path, target = t.path, None
        if t.target is not None:
            article = o.article(t.target)
            path = t.path.format(path=article.path)
            target = self.url(o.key, article.path)
        return ExpectedTrap(o.key, t.kind, self.url(o.key, path), t.linked_from, target)

    def requests(self, outlet: str) -> list[str]:
        """Raw request targets the outlet's server has received so far (for crawler tests)."""
        return list(self._servers[outlet].requests)

    def article_urls(self) -> dict[str, set[str]]:
        urls: dict[str, set[str]] = {key: set() for key in self.outlets}
        for item in self.expected:
            urls[item.outlet].add(item.url)
        return urls

    def sources(self) -> dict:
        table = {}
        for key, o in self.outlets.items():
            s = o.source
            host = self.bases[key].split("//", 1)[1]
            table[key] = {
                "name": o.name,
                "lang": o.lang,
                **({"country": o.country} if o.country else {}),
                "domains": [host],
                "feeds": [self.url(key, p) for p in s.get("feeds", [])],
                "sitemaps": [self.url(key, p) for p in s.get("sitemaps", [])],
                "sections": [
                    self.url(key, o.section_path.format(key=sec.key)) for sec in o.sections
                ],
                "article_patterns": list(s["article_patterns"]),
                "deny_patterns": list(s.get("deny_patterns", [])),
                "follow_patterns": list(s.get("follow_patterns", [])),
                "depth": s.get("depth", 2),
                "interval": s.get("interval", "1h"),
                "enabled": True,
            }
        return {"sources": table}

    def write_config(self, directory: Path, topics_from: Path | None = None) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "sources.toml"
        header = "# Generated by crawler.sample_site for the loopback sample site.\n"
        path.write_text(header + tomli_w.dumps(self.sources()), encoding="utf-8")
        if topics_from is not None:
            src = Path(topics_from)
            src = src / "topics.toml" if src.is_dir() else src
            shutil.copyfile(src, directory / "topics.toml")
        return path


def _bind(host: str, port: int) -> _OutletServer:
    """A server on *port* when it is free, else on any free port."""
    if port:
        try:
            return _OutletServer(host, port)
        except OSError:
            pass
    return _OutletServer(host)


@contextmanager
def serve_sample_site(host: str = "127.0.0.1", base_port: int = 0) -> Iterator[SampleSite]:
    """Serve every outlet; with *base_port*, outlet i prefers port base_port + i.

    Stable ports keep URLs, and so article identity, the same from one demo run to the next.
    """
    outlets = {o.key: o for o in load_outlets()}
    servers = {key: _bind(host, base_port + i if base_port else 0) for i, key in enumerate(outlets)}
    threads = []
    try:
        bases = {key: f"http://{host}:{srv.server_address[1]}" for key, srv in servers.items()}
        for key, routes in render_site(outlets.values(), bases).items():
            servers[key].routes = routes
        for srv in servers.values():
            thread = threading.Thread(
                target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
            )
            thread.start()
            threads.append(thread)
        yield SampleSite(bases=bases, outlets=outlets, _servers=servers)
    finally:
        for srv in servers.values():
            if threads:
                srv.shutdown()
            srv.server_close()
        for thread in threads:
            thread.join(timeout=5)
