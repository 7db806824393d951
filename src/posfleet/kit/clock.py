"""The current time, in one place, so tests can move it."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def unix(moment: datetime) -> int:
    return int(moment.timestamp())
