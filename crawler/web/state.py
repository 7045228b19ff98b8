"""What every page of the web application reaches: the settings, the read-only engine and the
loaded configuration (``context(request)``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.requests import Request

from crawler.config import Config


@dataclass(frozen=True)
class WebSettings:
    db_url: str
    config_dir: str | None = None
    token: str | None = None


@dataclass
class WebContext:
    """What every page reaches through ``context(request)``."""

    settings: WebSettings
    engine: Engine
    config: Config

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine) as session:
            yield session
            session.rollback()  # read-only: nothing a page does is ever committed


def context(request: Request) -> WebContext:
    marsad: WebContext = request.app.state.marsad
    return marsad
