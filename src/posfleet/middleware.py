"""ASGI middleware: the client's address behind trusted proxies, a log id and a log line per
request, and a cap on request body size."""

from __future__ import annotations

import ipaddress
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from posfleet.config import IPNetwork
from posfleet.errors import PayloadTooLarge
from posfleet.kit import requestlog
from posfleet.kit.input import NUL_MESSAGE
from posfleet.rendering import render

request_log = structlog.get_logger("posfleet.request")


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
    """Gives each request a ``logId`` (also sent as ``X-Log-Id``) that errors and logs carry,
    and writes one log line per request when it ends.

    The line holds the logId, the method, the route *template* (``/v2/device/{deviceCode}/link``,
    never the path: paths carry link codes), the status, the duration and the tenant (from the
    path, or from the verified credential).  No header, query string or body is logged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        log_id = uuid.uuid4().hex
        scope.setdefault("state", {})["log_id"] = log_id
        structlog.contextvars.bind_contextvars(log_id=log_id)
        facts = requestlog.start()
        started = time.perf_counter()
        status = 500  # what the server answers when the application ends without an answer

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-log-id", log_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            params = scope.get("path_params") or {}
            request_log.info(
                "request",
                logId=log_id,
                method=scope["method"],
                route=getattr(route, "path", None) or "(no route)",
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                tenant=params.get("tenantUid") or params.get("store_id") or facts.get("tenant"),
            )
            structlog.contextvars.unbind_contextvars("log_id")


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with 413, before they are read into memory.

    A declared ``Content-Length`` over the cap is refused at once.  A body without one (chunked)
    is read here, up to the cap, and refused the moment it passes it; what was read is handed
    on to the application.  Either way the client gets 413, never a 400 about broken JSON.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = PayloadTooLarge(f"The request body is larger than {self.max_bytes} bytes")
        log_id = str(scope.get("state", {}).get("log_id", ""))
        response = render(scope["path"], error.status_code, error.code, error.message, log_id)
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lengths = [v for name, v in scope.get("headers", []) if name == b"content-length"]
        if lengths:
            if any(not v.isdigit() or int(v) > self.max_bytes for v in lengths):
                await self._too_large(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        read: list[Message] = []
        size = 0
        while True:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return read.pop(0) if read else await receive()

        await self.app(scope, replay, send)


class NulRefusalMiddleware:
    """A NUL character in the path or the query string is a 400 in the dialect's shape.

    Request bodies refuse NUL in their models (``kit/input.py``); paths and queries are read
    by many routes, and PostgreSQL text cannot hold a NUL, so they are refused here, once.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").lower()
            if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
                log_id = str(scope.get("state", {}).get("log_id", ""))
                response = render(scope["path"], 400, "validation_failed", NUL_MESSAGE, log_id)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every answer to a POST, PUT, PATCH or DELETE.

    Those are the answers that carry credentials and codes (sign-in, link, token, account,
    device create and reset, pairing, OTP login and verification, refresh); no cache between
    the client and posfleet, and no browser history, may keep them.  GET answers keep their own
    caching (``GET /v2/device`` has an ETag), and none of them carries a credential.
    """

    WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in self.WRITES:
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"
                ]
                message["headers"] = [*headers, (b"cache-control", b"no-store")]
            await send(message)

        await self.app(scope, receive, send_no_store)
