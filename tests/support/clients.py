"""In-process HTTP clients for the real app, each calling from an address of its own.

Rate limits are per client address and live in the database the whole run shares, so every
client gets a fresh address: one test's attempts never spend another test's budget.
"""

from __future__ import annotations

import secrets

import httpx
from starlette.types import ASGIApp


def fresh_address() -> str:
    """An address from 10.0.0.0/8, different on each call (in practice)."""
    a, b, c = (secrets.randbelow(256) for _ in range(3))
    return f"10.{a}.{b}.{c}"


def asgi_transport(app: ASGIApp) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=app, client=(fresh_address(), 40000))
