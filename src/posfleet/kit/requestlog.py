"""Facts about the request being served that its log line reports, gathered as it runs.

The request-log middleware starts an empty record per request; code deeper down (the token
check, which is where a device request learns its tenant) adds to it.  The record is a dict
shared by reference, so additions made in worker threads or copied contexts still arrive.
"""

from __future__ import annotations

from contextvars import ContextVar

_facts: ContextVar[dict[str, str] | None] = ContextVar("posfleet_request_facts", default=None)


def start() -> dict[str, str]:
    facts: dict[str, str] = {}
    _facts.set(facts)
    return facts


def note_tenant(tenant_uid: str) -> None:
    """The tenant the request acts for, once a credential has named it."""
    facts = _facts.get()
    if facts is not None:
        facts.setdefault("tenant", tenant_uid)
