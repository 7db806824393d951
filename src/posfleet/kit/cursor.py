"""Opaque list cursors: where the next page starts, sealed so a client can hand it back but can
neither read nor forge it.

A cursor is bound to its list by ``scope``, a string the caller builds from everything that
decides which rows the list holds (the tenant, the filters).  A cursor presented to any other
list, a tampered one or one sealed with another server secret is refused alike, with one 400
that tells nothing about where it came from.  Sealing (AES-GCM, ``kit/sealing.py``) and not
just signing keeps the sort value of the last row (a device name, say) out of sight too.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag

from posfleet.errors import ValidationFailed
from posfleet.kit.keyring import ServerSecrets
from posfleet.kit.pagination import Keyset, PageRequest, SortDirection
from posfleet.kit.sealing import Sealer

CURSOR_SEALING = "list-cursor"
# Far above any cursor we make (about 150 characters); refused before decoding anything.
MAX_CURSOR_LENGTH = 1024


@lru_cache(maxsize=4)
def _sealer(secrets: ServerSecrets) -> Sealer:
    # Deriving the key once a process, not once a request.
    return Sealer(secrets, CURSOR_SEALING)


def _refused() -> ValidationFailed:
    message = "cursor is not a cursor of this list; start again from pageNumber 1"
    return ValidationFailed(message, errors={"cursor": message})


def _tagged(value: Any) -> list[Any]:
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, str):
        return ["s", value]
    raise TypeError(f"a cursor cannot hold a {type(value).__name__}")


def _untagged(tagged: Any) -> Any:
    kind, value = tagged
    if kind == "t":
        return datetime.fromisoformat(value)
    if kind == "s" and isinstance(value, str):
        return value
    raise ValueError("unknown value kind")


def encode(secrets: ServerSecrets, scope: str, page: PageRequest, after: Keyset) -> str:
    """The cursor of the page that follows ``page`` and starts after ``after``."""
    plain = json.dumps(
        [
            scope,
            page.page_number + 1,
            page.page_size,
            page.sort_by,
            page.sort_direction.value,
            _tagged(after.value),
            after.id,
        ],
        separators=(",", ":"),
    )
    sealed = _sealer(secrets).seal(plain.encode())
    return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")


def decode(secrets: ServerSecrets, scope: str, cursor: str) -> PageRequest:
    """The page a cursor of this ``scope`` names; 400 for anything else."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise _refused()
    try:
        sealed = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        # Sealed under the newest server secret only: a cursor made before a rotation is
        # refused like any other stranger, and the client starts again from page 1.
        sealer = _sealer(secrets)
        data = json.loads(sealer.open(sealed, sealer.key_id))
        found, number, size, sort_by, direction, tagged, last_id = data
        page = PageRequest(
            page_number=int(number),
            page_size=int(size),
            sort_by=str(sort_by),
            sort_direction=SortDirection(direction),
            after=Keyset(_untagged(tagged), int(last_id)),
        )
    except (ValueError, TypeError, InvalidTag, binascii.Error):
        raise _refused() from None
    if found != scope:
        raise _refused()
    return page
