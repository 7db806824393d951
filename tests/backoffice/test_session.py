"""The back-office session cookie: signed, idle-limited, Secure over https."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from posfleet.backoffice import session as cookies
from posfleet.backoffice.session import BackOfficeSession
from posfleet.config import Settings
from posfleet.kit.clock import utcnow
from tests.conftest import TEST_SECRET


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(secret_key=TEST_SECRET, secret_key_file=tmp_path / "s", **values)


def _now() -> int:
    return int(utcnow().timestamp())


def test_a_session_reads_back_what_it_holds(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    state = BackOfficeSession(token="a.b.c", seen=_now(), flash="Saved.")
    back = cookies.decode(cookies.encode(state, settings), settings)
    assert (back.token, back.csrf, back.flash) == ("a.b.c", state.csrf, "Saved.")


def test_a_changed_cookie_is_a_new_signed_out_session(tmp_path: Path) -> None:
    """Any change to the cookie breaks its MAC: the browser gets no session, not the change."""
    settings = _settings(tmp_path)
    value = cookies.encode(BackOfficeSession(token="a.b.c", seen=_now()), settings)
    body, mac = value.split(".")
    forged = cookies.encode(BackOfficeSession(token="x.y.z", seen=_now()), settings).split(".")[0]
    for tampered in (f"{forged}.{mac}", f"{body}.{mac[:-2]}AA", body, ""):
        assert cookies.decode(tampered, settings).token is None


def test_a_cookie_signed_with_another_secret_is_refused(tmp_path: Path) -> None:
    value = cookies.encode(BackOfficeSession(token="a.b.c", seen=_now()), _settings(tmp_path))
    other = Settings(secret_key="another-" + "z" * 40, secret_key_file=tmp_path / "o")
    assert cookies.decode(value, other).token is None


def test_an_idle_session_is_signed_out(tmp_path: Path) -> None:
    """After backoffice_idle_seconds without a request the session holds no token."""
    settings = _settings(tmp_path, backoffice_idle_seconds=60)
    fresh = BackOfficeSession(token="a.b.c", seen=_now() - 50)
    idle = BackOfficeSession(token="a.b.c", seen=_now() - 61)
    assert cookies.decode(cookies.encode(fresh, settings), settings).token == "a.b.c"
    expired = cookies.decode(cookies.encode(idle, settings), settings)
    assert expired.token is None
    assert expired.timed_out


def _request(scheme: str) -> Request:
    return Request(
        {"type": "http", "scheme": scheme, "method": "GET", "path": "/backoffice/",
         "headers": [], "query_string": b"", "server": ("example.com", 443)}
    )  # fmt: skip


def test_the_cookie_is_httponly_lax_and_secure_over_https(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    for scheme, secure in (("https", True), ("http", False)):
        response = Response()
        cookies.save(response, _request(scheme), BackOfficeSession(token="a.b.c"), settings)
        header = response.headers["set-cookie"].lower()
        assert "httponly" in header
        assert "samesite=lax" in header
        assert "path=/backoffice" in header
        assert ("; secure" in header) is secure
