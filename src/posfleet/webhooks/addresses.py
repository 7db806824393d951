"""Which webhook URLs posfleet will call: a guard against server-side request forgery.

A tenant chooses the URL, and posfleet calls it from inside the operator's network.  Unless
``webhook_allow_private_addresses`` is set, a URL is refused when its host is, or resolves to,
a loopback, link-local (cloud metadata), private, shared, multicast, reserved or unspecified
address.  The check runs when the endpoint is saved and again before every request, since a
name may resolve elsewhere later.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from posfleet.errors import ValidationFailed


class UnsafeAddress(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url_shape(url: str) -> tuple[str, int]:
    """Host and port of an http(s) URL without credentials; ValidationFailed otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            "The webhook URL must be an http or https URL", errors={"url": "not an http(s) URL"}
        )
    if parts.username or parts.password:
        raise ValidationFailed(
            "The webhook URL must not carry credentials", errors={"url": "has credentials"}
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationFailed(
            "The webhook URL has a bad port", errors={"url": "bad port"}
        ) from None
    return parts.hostname, port


async def check_destination(url: str, *, allow_private: bool) -> None:
    """Raise :class:`UnsafeAddress` when ``url`` leads to an address posfleet must not call."""
    host, port = check_url_shape(url)
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeAddress(f"{host} does not resolve") from exc
    for info in infos:
        address = str(info[4][0])
        if not _is_public(address):
            raise UnsafeAddress(f"{host} resolves to {address}, which is not a public address")


async def validate_endpoint_url(url: str, *, allow_private: bool) -> None:
    """As :func:`check_destination`, answering a tenant with 400 validation_failed."""
    try:
        await check_destination(url, allow_private=allow_private)
    except UnsafeAddress as exc:
        raise ValidationFailed(
            "The webhook URL leads to an address posfleet does not call",
            errors={"url": exc.reason},
        ) from None
