"""The back-office session: a cookie signed with the server secret, holding the user's
``authToken``, a CSRF token and when the user was last seen.

Nothing about a session lives in the database: the ``authToken`` inside is checked on every
request like any bearer token (disabling a user or revoking their tokens ends their session), it
bounds the session's whole life, and the last-seen time bounds its idle time.  Signing keeps a
browser from changing any of it; the token is never readable by scripts (HttpOnly).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from posfleet.config import Settings
from posfleet.kit.clock import utcnow

COOKIE = "posfleet_backoffice"
PATH = "/backoffice"
_PURPOSE = b"posfleet back-office session cookie"


@dataclass
class BackOfficeSession:
    """What the cookie holds.  ``csrf`` exists before sign-in, so the sign-in form has one."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    token: str | None = None
    seen: int = 0
    flash: str | None = None
    timed_out: bool = False

    def sign_in(self, token: str) -> None:
        # A new CSRF token with every sign-in: one planted before it is worth nothing after.
        self.token = token
        self.csrf = secrets.token_urlsafe(32)

    def sign_out(self) -> None:
        self.token = None
        self.csrf = secrets.token_urlsafe(32)

    def check_csrf(self, presented: str) -> bool:
        return hmac.compare_digest(self.csrf.encode(), presented.encode())


def _keys(settings: Settings) -> list[bytes]:
    """A key of its own from each listed server secret (newest first), so this MAC means
    nothing elsewhere: cookies are signed with the newest and verify under any of them, so a
    secret rotation does not sign everyone out until the old secret is removed."""
    return [
        hmac.new(secret, _PURPOSE, hashlib.sha256).digest()
        for secret in settings.server_secrets().secrets
    ]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(session: BackOfficeSession, settings: Settings) -> str:
    body = json.dumps(
        {"c": session.csrf, "t": session.token, "s": session.seen, "f": session.flash},
        separators=(",", ":"),
    ).encode()
    mac = hmac.new(_keys(settings)[0], body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(mac)}"


def decode(value: str | None, settings: Settings) -> BackOfficeSession:
    """The session in ``value``, or a new signed-out one when it is missing, forged or idle."""
    if not value or value.count(".") != 1:
        return BackOfficeSession()
    try:
        body_text, mac_text = value.split(".")
        body, mac = _unb64(body_text), _unb64(mac_text)
        if not any(
            hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest())
            for key in _keys(settings)
        ):
            return BackOfficeSession()
        data = json.loads(body)
        session = BackOfficeSession(
            csrf=str(data["c"]),
            token=data["t"] if isinstance(data["t"], str) else None,
            seen=int(data["s"]),
            flash=data["f"] if isinstance(data["f"], str) else None,
        )
    except (ValueError, KeyError, TypeError):
        return BackOfficeSession()
    now = int(utcnow().timestamp())
    if session.token is not None and now - session.seen > settings.backoffice_idle_seconds:
        session.sign_out()
        session.timed_out = True
    return session


def load(request: Request, settings: Settings) -> BackOfficeSession:
    return decode(request.cookies.get(COOKIE), settings)


def save(
    response: Response, request: Request, session: BackOfficeSession, settings: Settings
) -> None:
    """Write the session back, stamped as seen now: every request restarts the idle clock."""
    session.seen = int(utcnow().timestamp())
    response.set_cookie(
        COOKIE,
        encode(session, settings),
        path=PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
