"""Client addresses behind trusted proxies: the rightmost untrusted X-Forwarded-For hop, and
only when the peer is a configured proxy."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Receive, Scope, Send

from posfleet.app import create_app
from posfleet.config import Settings
from posfleet.middleware import TrustedProxyMiddleware
from posfleet.runtime import Runtime
from tests.flow.device.support import link_body, world


def _address() -> str:
    """A documentation address no other test has spent a budget on."""
    return f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"


async def _client_seen(peer: str, forwarded: list[str], trusted: str) -> str:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["client"][0])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    networks = Settings(trusted_proxies=trusted).trusted_proxy_networks
    transport = httpx.ASGITransport(app=TrustedProxyMiddleware(app, networks), client=(peer, 1))
    headers = [("X-Forwarded-For", value) for value in forwarded]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        await c.get("/", headers=headers)
    return seen[0]


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        # No proxies configured: the header is ignored.
        ("198.51.100.1", ["6.6.6.6"], "", "198.51.100.1"),
        # A peer that is not a proxy cannot choose its address.
        ("198.51.100.1", ["6.6.6.6"], "10.0.0.0/8", "198.51.100.1"),
        # Entries the client wrote stand left of what the proxy appended.
        ("10.0.0.5", ["6.6.6.6, 203.0.113.9"], "10.0.0.0/8", "203.0.113.9"),
        # Several proxies: trusted hops are skipped from the right; split headers join.
        ("10.0.0.5", ["6.6.6.6, 203.0.113.9", "10.1.1.1"], "10.0.0.0/8", "203.0.113.9"),
        ("10.0.0.5", ["203.0.113.9, 192.0.2.7"], "10.0.0.0/8,192.0.2.7", "203.0.113.9"),
        # Only trusted hops: the first of them.
        ("10.0.0.5", ["10.9.9.9, 10.1.1.1"], "10.0.0.0/8", "10.9.9.9"),
        ("10.0.0.5", [], "10.0.0.0/8", "10.0.0.5"),
    ],
)
async def test_the_client_is_the_rightmost_untrusted_hop_from_a_trusted_peer(
    peer: str, forwarded: list[str], trusted: str, client: str
) -> None:
    assert await _client_seen(peer, forwarded, trusted) == client


def test_a_trusted_proxy_that_is_no_address_stops_the_process() -> None:
    with pytest.raises(ValueError, match="trusted_proxies"):
        Settings(trusted_proxies="10.0.0.0/8,not-an-address")


@pytest.fixture
def proxied_settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        rate_limit_per_address=3, rate_limit_window_seconds=3600, trusted_proxies="10.0.0.0/8"
    )


async def test_rotating_forwarded_for_does_not_dodge_the_link_budget(
    proxied_settings: Settings, session: AsyncSession, runtime: Runtime
) -> None:
    """Through a trusted proxy and straight from an untrusted peer alike, a client that writes a
    new X-Forwarded-For on every guess is counted as itself and gets 429 after the budget."""
    w = await world(session, runtime)
    app = create_app(proxied_settings)
    async with app.router.lifespan_context(app):
        proxy = httpx.ASGITransport(app=app, client=("10.0.0.5", 4000))
        direct = httpx.ASGITransport(app=app, client=(_address(), 4000))
        for transport in (proxy, direct):
            real = _address()
            statuses = []
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                for _ in range(6):
                    chosen = _address()
                    statuses.append(
                        (
                            await c.post(
                                "/v2/device/AAAAAAAA/link",
                                json=link_body(w),
                                headers={"X-Forwarded-For": f"{chosen}, {real}"},
                            )
                        ).status_code
                    )
            assert statuses == [404, 404, 404, 429, 429, 429]
        # Another client behind the same proxy keeps a budget of its own.
        async with httpx.AsyncClient(transport=proxy, base_url="http://t") as c:
            other = await c.post(
                "/v2/device/AAAAAAAA/link",
                json=link_body(w),
                headers={"X-Forwarded-For": _address()},
            )
        assert other.status_code == 404
