"""Shared fixtures: databases (SQLite always, PostgreSQL when reachable) and the sample site."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from crawler.crawl.run import LOCAL_SETTINGS
from crawler.sample_site import SampleSite, serve_sample_site
from tests.own_postgres import OwnPostgres, pg_bin

PG_ADMIN_URL = os.environ.get(
    "MARSAD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _require_services() -> bool:
    return os.environ.get("MARSAD_REQUIRE_SERVICES", "") not in ("", "0")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session; its URL."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        if _require_services():
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {exc}")
    name = f"marsad_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Each test using it runs on SQLite and on the real PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'marsad.db'}"
        return
    base = request.getfixturevalue("postgres_server")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    schema = f"t_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    yield f"{base}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def site() -> Iterator[SampleSite]:
    """The bundled sample site, served on loopback for the whole test session."""
    with serve_sample_site() as served:
        yield served


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    """A PostgreSQL server of this test's own, started; stopped and removed afterwards."""
    bindir = pg_bin()
    if bindir is None:
        message = "initdb is not installed (looked in /usr/lib/postgresql/*/bin and PATH)"
        if _require_services():
            pytest.fail(message)
        pytest.skip(message)
    server = OwnPostgres(bindir)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def crawled_collection(
    site: SampleSite, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, str]:
    """(database URL, config folder) of a SQLite collection made by a real `marsad crawl` of the
    sample site (Arabic, French and English outlets, syndicated stories, tagged topics); shared
    by the read-only web tests."""
    import subprocess
    import sys
    from pathlib import Path

    folder = tmp_path_factory.mktemp("collection")
    config = folder / "config"
    site.write_config(config, topics_from=Path(__file__).resolve().parents[1] / "config")
    db_url = f"sqlite:///{folder / 'marsad.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "--config", str(config), "--db", db_url, "crawl"]
        + [f"-s{key}={value}" for key, value in LOCAL_SETTINGS.items()],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return db_url, str(config)
