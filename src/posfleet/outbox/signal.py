"""Waking this process's outbox worker the moment a message is committed.

Keyed by the runtime, so that several apps in one process (tests) wake only their own worker;
a process without a worker (the CLI) wakes nobody and the serving processes poll instead.
"""

from __future__ import annotations

import asyncio

from posfleet.runtime import Runtime

_events: dict[int, asyncio.Event] = {}


def register(runtime: Runtime) -> asyncio.Event:
    event = _events[id(runtime)] = asyncio.Event()
    return event


def unregister(runtime: Runtime) -> None:
    _events.pop(id(runtime), None)


def wake(runtime: Runtime) -> None:
    event = _events.get(id(runtime))
    if event is not None:
        event.set()
