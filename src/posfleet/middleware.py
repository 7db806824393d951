"""ASGI middleware: a log id per request, and a cap on request body size."""

from __future__ import annotations

import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from posfleet.errors import PayloadTooLarge
from posfleet.rendering import render


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
