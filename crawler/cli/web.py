"""`marsad web`: serve the analysts' web page (read-only) over the database."""

from __future__ import annotations

import errno
import logging
import os
import socket

import click

from crawler.cli.common import Failure, State, UsageError

logger = logging.getLogger(__name__)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on *host*:*port*, or a clear error (port in use, unknown address)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(
            f"--host {host!r} is not an address of this machine ({exc.strerror})"
        ) from None
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise Failure(
                f"port {port} on {host} is already in use.\nFix: stop what uses it, or choose "
                "another with --port"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise UsageError(f"--host {host} is not an address of this machine") from None
        if exc.errno == errno.EACCES:
            raise Failure(
                f"not allowed to listen on port {port}.\nFix: use a port above 1023"
            ) from None
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port."
)
@click.pass_obj
def web(state: State, host: str, port: int) -> None:
    """Serve the analysts' web page (search, attention over time, stories, topics, sources,
    feeds) read-only over the database. Any address other than loopback needs the access token
    MARSAD_WEB_TOKEN."""
    import uvicorn

    from crawler.web.app import WebSettings, create_app
    from crawler.web.security import TOKEN_ENV, is_loopback, token_problem

    token = os.environ.get(TOKEN_ENV) or None
    problem = token_problem(token)
    if problem and not is_loopback(host):
        raise UsageError(
            f"refusing to serve on {host} without an access token: {problem}.\nFix: export "
            f"{TOKEN_ENV}=<a long random secret> (python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'), or serve on 127.0.0.1"
        )
    if token is not None and problem:
        raise UsageError(f"{problem}.\nFix: set a longer secret, or unset it on loopback")
    app = create_app(WebSettings(db_url=state.db_url, config_dir=state.config_dir, token=token))
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    where = f"[{bound_host}]" if ":" in bound_host else bound_host
    logger.info("serving on http://%s:%d/", where, bound_port)
    click.echo(f"Marsad web on http://{where}:{bound_port}/ (Ctrl-C stops it)", err=True)
    config = uvicorn.Config(app, log_config=None, access_log=False, server_header=False)
    uvicorn.Server(config).run(sockets=[sock])
