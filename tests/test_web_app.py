"""The web application's frame: read-only, security headers, the access token, clear 400s."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from sqlalchemy import text

from crawler.web.app import WebSettings, create_app
from crawler.web.security import CONTENT_SECURITY_POLICY
from tests.webserver import running_web

TOKEN = "a-long-enough-test-token-0123456789"


@pytest.fixture(scope="module")
def web(crawled_collection: tuple[str, str]):  # type: ignore[no-untyped-def]
    db_url, config = crawled_collection
    with running_web(db_url, config) as running:
        yield running


def test_every_response_carries_the_security_headers(web) -> None:  # type: ignore[no-untyped-def]
    for path in ("/", "/search", "/no-such-page", "/static/marsad.css"):
        response = httpx.get(web.url(path))
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
    assert httpx.get(web.url("/no-such-page")).status_code == 404


def test_the_database_is_opened_read_only(crawled_collection: tuple[str, str]) -> None:
    db_url, config = crawled_collection
    app = create_app(WebSettings(db_url=db_url, config_dir=config))
    try:
        with app.state.marsad.session() as session:
            assert session.execute(text("SELECT count(*) FROM articles")).scalar_one() > 0
            with pytest.raises(Exception, match=r"readonly|read-only|query_only"):
                session.execute(text("DELETE FROM articles"))
    finally:
        app.state.marsad.engine.dispose()


def test_with_a_token_requests_without_it_get_401(crawled_collection: tuple[str, str]) -> None:
    db_url, config = crawled_collection
    with running_web(db_url, config, token=TOKEN) as web:
        assert httpx.get(web.url("/search")).status_code == 401
        assert httpx.get(web.url("/search?token=wrong-token-000000000")).status_code == 401
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(web.url("/search"), headers=bearer).status_code == 200
        with httpx.Client() as browser:
            first = browser.get(web.url(f"/search?token={TOKEN}"))
            assert first.status_code == 200 and "marsad_token" in first.headers["set-cookie"]
            assert "HttpOnly" in first.headers["set-cookie"]
            assert browser.get(web.url("/search")).status_code == 200  # the cookie carries it


def test_a_public_address_without_a_token_is_refused(crawled_collection: tuple[str, str]) -> None:
    db_url, _config = crawled_collection
    env = {k: v for k, v in os.environ.items() if k != "MARSAD_WEB_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "--db", db_url, "web", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 2
    assert "refusing to serve on 0.0.0.0 without an access token" in done.stderr
    assert "MARSAD_WEB_TOKEN" in done.stderr and "Traceback" not in done.stderr


def test_a_short_token_is_refused(crawled_collection: tuple[str, str]) -> None:
    db_url, _config = crawled_collection
    env = {**os.environ, "MARSAD_WEB_TOKEN": "short"}
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "--db", db_url, "web", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 2 and "at least 16" in done.stderr, done.stderr


def test_a_missing_database_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "--db", f"sqlite:///{tmp_path}/none.db", "web"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and "no database at" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
