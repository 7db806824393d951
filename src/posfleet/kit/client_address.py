"""The address of the client whose request is running, for records written deep below it.

Set by :class:`ClientAddressMiddleware` for each HTTP request (after the proxy-header
middleware of the server, so it is the client's, not the load balancer's); empty outside a
request (CLI, outbox worker).
"""

from __future__ import annotations

from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

_address: ContextVar[str] = ContextVar("posfleet_client_address", default="")


def current() -> str:
    return _address.get()


class ClientAddressMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        token = _address.set(str(client[0]) if client else "")
        try:
            await self.app(scope, receive, send)
        finally:
            _address.reset(token)
