"""When a failed message is tried again.

Code deliveries back off exponentially from ``delivery_retry_base_seconds`` (2 s, 4 s, 8 s, …)
for ``delivery_max_attempts`` attempts: a code lives minutes, so there is no point in trying
for long.  Webhooks follow :data:`WEBHOOK_SCHEDULE`, about 27 hours in all, the schedule of the
Standard Webhooks guidance.  Every wait gets ±20 % jitter so that messages failed together are
not retried together.
"""

from __future__ import annotations

import random
from datetime import timedelta

from posfleet.config import Settings
from posfleet.models.enums import OutboxKind

# Waits before the 2nd, 3rd, … attempt of a webhook; after the last one the message is dead.
WEBHOOK_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
JITTER = 0.2


def max_attempts(kind: OutboxKind, settings: Settings) -> int:
    if kind is OutboxKind.WEBHOOK:
        return len(WEBHOOK_SCHEDULE) + 1
    return settings.delivery_max_attempts


def base_wait(kind: OutboxKind, attempts: int, settings: Settings) -> timedelta:
    """The wait after the ``attempts``-th failed attempt, before jitter."""
    if kind is OutboxKind.WEBHOOK:
        return WEBHOOK_SCHEDULE[min(attempts, len(WEBHOOK_SCHEDULE)) - 1]
    return timedelta(seconds=settings.delivery_retry_base_seconds * 2 ** (attempts - 1))


def next_wait(kind: OutboxKind, attempts: int, settings: Settings) -> timedelta | None:
    """The jittered wait before the next attempt, or None when the budget is spent."""
    if attempts >= max_attempts(kind, settings):
        return None
    wait = base_wait(kind, attempts, settings)
    return wait * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 -- jitter, not a secret
