"""ASGI middleware: the client's address behind trusted proxies, a log id and a log line per
request, and a cap on request body size."""

from __future__ import annotations

import ipaddress
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from posfleet.config import IPNetwork
from posfleet.errors import PayloadTooLarge
from posfleet.rendering import render


class TrustedProxyMiddleware:
    """Sets the client address from ``X-Forwarded-For`` when, and only when, the peer is one of
    the configured proxies.

    Each trusted proxy appends the address it received the request from, so the entries a
    client wrote come first: the client is the rightmost hop that is not itself a trusted
    proxy.  Taking the leftmost entry, or trusting every peer, would let any client pick the
    address its rate limits are counted against.
    """

    def __init__(self, app: ASGIApp, networks: tuple[IPNetwork, ...]) -> None:
        self.app = app
        self.networks = networks

    def _trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and self.networks and client and self._trusted(client[0]):
            hops = [
                hop.strip()
                for name, value in scope.get("headers", [])
                if name == b"x-forwarded-for"
                for hop in value.decode("latin-1").split(",")
                if hop.strip()
            ]
            for hop in reversed(hops):
                if not self._trusted(hop):
                    scope["client"] = (hop, 0)
                    break
            else:
                if hops:  # every hop is a trusted proxy: the first one is the closest we know
                    scope["client"] = (hops[0], 0)
        await self.app(scope, receive, send)


class RequestContextMiddleware:
    """Gives each request a ``logId`` (also sent as ``X-Log-Id``) that errors and logs carry."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        log_id = uuid.uuid4().hex
        scope.setdefault("state", {})["log_id"] = log_id
        structlog.contextvars.bind_contextvars(log_id=log_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-log-id", log_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("log_id")


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` before they are read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                error = PayloadTooLarge(f"The request body is larger than {self.max_bytes} bytes")
                log_id = str(scope.get("state", {}).get("log_id", ""))
                response = render(
                    scope["path"], error.status_code, error.code, error.message, log_id
                )
                await response(scope, receive, send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(f"The request body is larger than {self.max_bytes} bytes")
            return message

        await self.app(scope, limited_receive, send)
