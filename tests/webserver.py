"""A real `marsad web` application served by uvicorn on a free loopback port, for the tests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from crawler.web.app import WebSettings, create_app
from tests.waiting import wait_until


@dataclass(frozen=True)
class RunningWeb:
    base: str  # http://127.0.0.1:PORT

    def url(self, path: str) -> str:
        return self.base + path


@contextmanager
def running_web(
    db_url: str, config_dir: str | None = None, token: str | None = None
) -> Iterator[RunningWeb]:
    app = create_app(WebSettings(db_url=db_url, config_dir=config_dir, token=token))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until("the web server to start", lambda: server.started or not thread.is_alive())
        assert server.started, "the web server thread ended before it started"
        yield RunningWeb(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        sock.close()
        app.state.marsad.engine.dispose()
