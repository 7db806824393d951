"""Refresh-token rotation, reuse detection, logout and the per-user session limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from posfleet.app import create_app
from posfleet.config import Settings
from posfleet.models import PosSession
from posfleet.models.enums import SessionState
from posfleet.runtime import Runtime
from tests.commerce.conftest import World, bearer, sign_in
from tests.commerce.receivers import SmtpReceiver
from tests.support.clients import asgi_transport


async def refresh(
    client: httpx.AsyncClient, world: World, token: str, **headers: str
) -> httpx.Response:
    return await client.post(
        f"{world.base}/pos/auth/refresh-token", json={"refresh_token": token}, headers=headers
    )


async def devices(client: httpx.AsyncClient, world: World, access: str) -> httpx.Response:
    return await client.get(f"{world.base}/pos/devices", headers=bearer(access))


async def test_refresh_rotates_both_tokens_without_an_api_key_or_a_valid_bearer(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver
) -> None:
    signed_in = await sign_in(client, world, smtp)

    response = await refresh(
        client, world, signed_in["refresh_token"], Authorization="Bearer expired.or.garbage"
    )

    assert response.status_code == 200, response.text
    pair = response.json()["content"]
    assert set(pair) == {"access_token", "refresh_token"}
    assert pair["refresh_token"] != signed_in["refresh_token"]
    assert pair["access_token"] != signed_in["access_token"]
    assert (await devices(client, world, pair["access_token"])).status_code == 200


async def test_a_rotated_refresh_token_presented_again_revokes_the_session(
    make_settings: Callable[..., Settings],
    delivery_settings: dict[str, Any],
    world: World,
    smtp: SmtpReceiver,
) -> None:
    """RFC 9700 4.14.2: reuse after the grace window kills the whole family."""
    app = create_app(make_settings(pos_refresh_grace_seconds=0, **delivery_settings))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=asgi_transport(app), base_url="http://testserver") as client,
    ):
        signed_in = await sign_in(client, world, smtp)
        rotated = (await refresh(client, world, signed_in["refresh_token"])).json()["content"]

        replay = await refresh(client, world, signed_in["refresh_token"])

        assert replay.status_code == 403
        assert replay.json()["code"] == "session_revoked"
        assert (await devices(client, world, rotated["access_token"])).status_code == 403
        assert (await refresh(client, world, rotated["refresh_token"])).status_code == 403


async def test_a_replay_within_the_grace_window_is_refused_but_keeps_the_session(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver
) -> None:
    signed_in = await sign_in(client, world, smtp)
    rotated = (await refresh(client, world, signed_in["refresh_token"])).json()["content"]

    replay = await refresh(client, world, signed_in["refresh_token"])

    assert replay.status_code == 401
    assert replay.json()["code"] == "refresh_token_rotated"
    assert (await devices(client, world, rotated["access_token"])).status_code == 200
    assert (await refresh(client, world, rotated["refresh_token"])).status_code == 200


async def test_an_access_token_is_not_a_refresh_token(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver
) -> None:
    signed_in = await sign_in(client, world, smtp)
    response = await refresh(client, world, signed_in["access_token"])
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert (await devices(client, world, signed_in["refresh_token"])).status_code == 401


async def test_logout_kills_the_session_at_once(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver
) -> None:
    signed_in = await sign_in(client, world, smtp)
    response = await client.post(
        f"{world.base}/pos/auth/logout", headers=bearer(signed_in["access_token"])
    )
    assert response.status_code == 200
    assert response.json() == {"message": "Logged out", "success": True}

    after = await devices(client, world, signed_in["access_token"])
    assert after.status_code == 401
    assert after.json()["code"] == "session_ended"
    assert (await refresh(client, world, signed_in["refresh_token"])).status_code == 401


async def test_a_sixth_session_revokes_the_oldest_whose_next_request_is_403(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, runtime: Runtime
) -> None:
    limit = runtime.settings.pos_max_sessions_per_user
    sessions = [await sign_in(client, world, smtp) for _ in range(limit + 1)]

    oldest = await devices(client, world, sessions[0]["access_token"])
    assert oldest.status_code == 403
    assert oldest.json() == {
        "message": "The session has been revoked",
        "success": False,
        "code": "session_revoked",
    }
    for live in sessions[1:]:
        assert (await devices(client, world, live["access_token"])).status_code == 200
    async with runtime.sessionmaker() as session:
        states = (
            await session.scalars(
                select(PosSession.state).where(PosSession.user_id == world.cashier.id)
            )
        ).all()
    assert sorted(states) == sorted([SessionState.REVOKED] + [SessionState.LIVE] * limit)


async def test_bearer_endpoints_refuse_missing_and_foreign_tokens(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, runtime: Runtime
) -> None:
    from tests.commerce.conftest import make_world

    missing = await client.get(f"{world.base}/pos/devices")
    assert missing.status_code == 401
    assert missing.json()["code"] == "unauthorized"
    async with runtime.sessionmaker() as session:
        other = await make_world(session, runtime)
    foreign = await sign_in(client, other, smtp)
    response = await devices(client, world, foreign["access_token"])
    assert response.status_code == 401
    assert (await refresh(client, world, foreign["refresh_token"])).status_code == 401
