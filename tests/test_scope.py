"""A source's scope: a domain without a port means the default ports only, and a public
suffix is not a domain."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy import Request
from scrapy.utils.test import get_crawler

from crawler.config import ConfigError, load_config, url_in_domains
from crawler.crawl.middlewares import DOMAINS_META, SOURCE_META, OutOfScope, SourceScopeMiddleware


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://news.example/a", True),
        ("https://news.example/a", True),
        ("http://news.example:80/a", True),
        ("https://www.news.example:443/a", True),
        ("http://news.example:8080/a", False),
        ("https://news.example:8443/a", False),
        ("http://news.example:443/a", False),
        ("ftp://news.example/a", False),
    ],
)
def test_bare_domain_means_default_ports(url: str, ok: bool) -> None:
    assert url_in_domains(url, ["news.example"]) is ok


def test_host_port_entry_is_exact() -> None:
    domains = ["news.example:8080"]
    assert url_in_domains("http://news.example:8080/a", domains)
    assert not url_in_domains("http://news.example/a", domains)
    assert not url_in_domains("http://www.news.example:8080/a", domains)


def test_scope_middleware_drops_other_ports() -> None:
    crawler = get_crawler()
    crawler.stats.open_spider()
    middleware = SourceScopeMiddleware(crawler)
    meta = {SOURCE_META: "s", DOMAINS_META: ("news.example",)}
    middleware.process_request(Request("https://news.example/a", meta=meta))
    with pytest.raises(OutOfScope):
        middleware.process_request(Request("http://news.example:8080/admin", meta=meta))
    assert crawler.stats.get_value("marsad/s/offsite") == 1


@pytest.mark.parametrize("suffix", ["com", "co.uk", "ma", "gov.ma"])
def test_public_suffix_is_refused_as_a_domain(tmp_path: Path, suffix: str) -> None:
    (tmp_path / "sources.toml").write_text(
        f'[sources.s]\nname = "S"\nlang = "fr"\ndomains = ["{suffix}"]\n'
        f'feeds = ["https://site.{suffix}/feed"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    err = info.value
    assert err.key == "sources.s.domains[0]" and "sources.toml" in err.file
    assert "public suffix" in str(err) and err.fix


@pytest.mark.parametrize("domain", ["hespress.com", "bbc.co.uk", "le360.ma", "127.0.0.1:8081"])
def test_registrable_domains_are_accepted(tmp_path: Path, domain: str) -> None:
    host = domain.partition(":")[0]
    port = domain.partition(":")[2]
    (tmp_path / "sources.toml").write_text(
        f'[sources.s]\nname = "S"\nlang = "fr"\ndomains = ["{domain}"]\n'
        f'feeds = ["http://{host}{":" + port if port else ""}/feed"]\n',
        encoding="utf-8",
    )
    (tmp_path / "topics.toml").write_text("", encoding="utf-8")
    (source,) = load_config(tmp_path).sources
    assert source.domains == (domain,)
