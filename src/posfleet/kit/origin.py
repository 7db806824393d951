"""Where the request behind a unit of work came from, so that audit trails can say so.

The request's unit of work carries the caller's address in ``session.info``; a repository that
writes an audit row reads it there instead of every service method taking an address.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

_ADDRESS = "posfleet.client_address"


def set_client_address(session: AsyncSession, address: str) -> None:
    session.info[_ADDRESS] = address


def client_address(session: AsyncSession) -> str | None:
    """The address of the request this unit of work serves; None outside a request (CLI)."""
    found = session.info.get(_ADDRESS)
    return found if isinstance(found, str) else None
