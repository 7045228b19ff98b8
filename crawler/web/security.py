"""Security headers on every response, and the access token.

The token (``MARSAD_WEB_TOKEN``) is required on every request when it is set; binding an address
other than loopback is refused without one (see ``crawler.cli.web``). A browser proves it once
with ``?token=`` (a cookie then carries it); API clients send ``Authorization: Bearer``; feed
readers, which cannot send headers, keep ``?token=`` in the feed URL.
"""

from __future__ import annotations

import hmac
import ipaddress
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_ENV = "MARSAD_WEB_TOKEN"
TOKEN_COOKIE = "marsad_token"
MIN_TOKEN_CHARS = 16

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_problem(token: str | None) -> str | None:
    """Why *token* cannot be used, or None."""
    if token is None or not token.strip():
        return f"{TOKEN_ENV} is not set"
    if len(token.strip()) < MIN_TOKEN_CHARS:
        return (
            f"{TOKEN_ENV} is {len(token.strip())} characters long: use at least {MIN_TOKEN_CHARS}"
        )
    return None


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class TokenGate:
    """Refuses (401) every request that does not carry the access token, when one is set."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token.strip().encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.token is None:
            await self.app(scope, receive, send)
            return
        from_query = self._from_query(scope)
        if self._matches(from_query) or self._matches(self._from_headers(scope)):
            await self.app(scope, receive, self._remembering(send, from_query))
            return
        await self._refuse(scope, send)

    def _matches(self, candidate: str | None) -> bool:
        return (
            candidate is not None
            and self.token is not None
            and hmac.compare_digest(candidate.encode(), self.token)
        )

    @staticmethod
    def _from_query(scope: Scope) -> str | None:
        values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
        return values[0] if values else None

    @staticmethod
    def _from_headers(scope: Scope) -> str | None:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, credentials = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    return credentials.strip()
            if name == b"cookie":
                morsel = SimpleCookie(value.decode("latin-1")).get(TOKEN_COOKIE)
                if morsel is not None:
                    return morsel.value
        return None

    def _remembering(self, send: Send, from_query: str | None) -> Send:
        if not self._matches(from_query):
            return send

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                cookie = SimpleCookie()
                cookie[TOKEN_COOKIE] = from_query or ""
                cookie[TOKEN_COOKIE]["httponly"] = True
                cookie[TOKEN_COOKIE]["samesite"] = "Strict"
                cookie[TOKEN_COOKIE]["path"] = "/"
                headers.append("set-cookie", cookie[TOKEN_COOKIE].OutputString())
            await send(message)

        return send_with_cookie

    @staticmethod
    async def _refuse(scope: Scope, send: Send) -> None:
        body = (
            b"401: this Marsad page needs its access token. Open it once with ?token=<the value "
            b"of MARSAD_WEB_TOKEN> (a cookie keeps it), or send 'Authorization: Bearer <token>'.\n"
        )
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"www-authenticate", b'Bearer realm="marsad"'),
                    (b"content-length", str(len(body)).encode()),
                    *[(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()],
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
