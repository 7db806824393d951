"""POST /pos/auth/login/* and /pos/auth/verify-otp: OTPs delivered by email, SMS or WhatsApp."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.app import create_app
from posfleet.config import Environment, Settings
from posfleet.kit.clock import utcnow
from posfleet.models import Delivery, OtpChallenge
from posfleet.models.enums import DeliveryStatus, UserStatus
from posfleet.runtime import Runtime
from tests import factories
from tests.commerce.conftest import World, bearer, settled, sign_in
from tests.commerce.receivers import GatewayReceiver, SmtpReceiver
from tests.support.clients import asgi_transport


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


async def login_email(
    client: httpx.AsyncClient, world: World, email: str, **headers: str
) -> httpx.Response:
    return await client.post(
        f"{world.base}/pos/auth/login/email",
        json={"location_id": world.store.uid, "email": email},
        headers={**world.key_headers, **headers},
    )


async def verify(
    client: httpx.AsyncClient, world: World, otp_token: str, otp: str
) -> httpx.Response:
    return await client.post(
        f"{world.base}/pos/auth/verify-otp",
        json={"otp": otp, "otp_token": otp_token, "otp_action": "login"},
        headers=world.key_headers,
    )


async def test_email_login_mails_an_otp_that_verify_otp_exchanges_for_tokens(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver
) -> None:
    started = await login_email(client, world, world.cashier.email)
    assert started.status_code == 200, started.text
    content = started.json()["content"]
    assert content["otp_action"] == "login"
    assert "otp" not in content

    verified = await verify(
        client, world, content["otp_token"], await smtp.otp(world.cashier.email)
    )

    assert verified.status_code == 200, verified.text
    body = verified.json()["content"]
    assert body["user"] == {
        "id": world.cashier.uid,
        "first_name": "Kari",
        "last_name": "Nordmann",
        "phone": f"+47{world.cashier.mobile}",
        "email": world.cashier.email,
        "channel": {"id": "pos", "name": "POS"},
        "device": None,
        "location": {"id": world.store.uid, "name": "Main Street"},
        "roles": [
            {
                "location_id": world.store.uid,
                "location_name": "Main Street",
                "role_id": "cashier",
                "role_name": "Cashier",
            }
        ],
    }
    access = claims(body["access_token"])
    assert access["ulid"] == world.cashier.uid
    assert access["username"] == world.cashier.user_code
    assert access["store_id"] == world.tenant.uid
    assert access["tenant_id"] == world.tenant.uid
    assert access["location"] == {"id": world.store.uid, "name": "Main Street"}
    assert access["roles"][0]["location_id"] == world.store.uid
    assert access["channel"]["id"] == "pos"
    assert access["is_logged_in"] is True
    assert access["first_name"] == "Kari"
    assert access["email"] == world.cashier.email
    assert access["phone"] == world.cashier.mobile
    assert access["exp"] - access["iat"] == 900
    assert isinstance(access["sid"], str)
    refresh = claims(body["refresh_token"])
    assert refresh["sid"] == access["sid"]
    assert refresh["exp"] > access["exp"]


@pytest.mark.parametrize(("path", "channel"), [("phone", "sms"), ("whatsapp", "whatsapp")])
async def test_phone_login_sends_the_otp_through_the_gateway(
    client: httpx.AsyncClient, world: World, gateway: GatewayReceiver, path: str, channel: str
) -> None:
    started = await client.post(
        f"{world.base}/pos/auth/login/{path}",
        json={
            "location_id": world.store.uid,
            "phone": world.cashier.mobile,
            "country_code": "+47",
        },
        headers=world.key_headers,
    )
    assert started.status_code == 200, started.text
    number = f"+47{world.cashier.mobile}"
    otp = await gateway.otp(number)
    assert gateway.to(number)[-1]["body"]["channel"] == channel

    verified = await verify(client, world, started.json()["content"]["otp_token"], otp)

    assert verified.status_code == 200, verified.text
    assert verified.json()["content"]["user"]["id"] == world.cashier.uid


async def _debug_login(app: FastAPI, world: World, client: str, server: str) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=app, client=(client, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{server}") as c:
        started = await login_email(c, world, world.cashier.email, **{"x-debug-mode": "true"})
    assert started.status_code == 200, started.text
    content: dict[str, Any] = started.json()["content"]
    return content


async def test_debug_mode_returns_the_otp_only_when_set_up_and_called_on_loopback(
    make_settings: Callable[..., Settings],
    delivery_settings: dict[str, Any],
    app: FastAPI,
    world: World,
    smtp: SmtpReceiver,
) -> None:
    """With debug_otp_reveal on a loopback host, a caller on 127.0.0.1 gets the OTP; a caller
    from elsewhere does not, and without the setting nobody does."""
    revealing = create_app(make_settings(**delivery_settings, debug_otp_reveal=True))
    async with revealing.router.lifespan_context(revealing):
        local = await _debug_login(revealing, world, "127.0.0.1", "127.0.0.1")
        assert local["otp"] == await smtp.otp(world.cashier.email)
        assert "otp" not in await _debug_login(revealing, world, "198.51.100.7", "127.0.0.1")
        assert "otp" not in await _debug_login(revealing, world, "127.0.0.1", "192.0.2.10")
    assert "otp" not in await _debug_login(app, world, "127.0.0.1", "127.0.0.1")


def test_debug_reveal_is_refused_in_production_and_off_loopback(
    make_settings: Callable[..., Settings],
) -> None:
    with pytest.raises(ValueError, match="development or test"):
        make_settings(environment=Environment.PRODUCTION, debug_otp_reveal=True)
    with pytest.raises(ValueError, match="loopback"):
        make_settings(debug_otp_reveal=True, host="0.0.0.0")  # noqa: S104 - the case refused


async def test_production_without_a_transport_refuses_to_send_and_stores_no_code(
    make_settings: Callable[..., Settings], world: World, runtime: Runtime
) -> None:
    """No SMTP host in production: 400 channel_not_configured, and no delivery (so no outbox
    message) and no challenge is kept."""
    production = make_settings(
        environment=Environment.PRODUCTION,
        login_rate_limit_per_address=1000,
        otp_sends_per_recipient=1000,
    )
    app = create_app(production)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=asgi_transport(app), base_url="http://testserver") as client,
    ):
        started = await login_email(client, world, world.cashier.email)
    assert started.status_code == 400, started.text
    assert started.json()["code"] == "channel_not_configured"
    async with runtime.sessionmaker() as session:
        challenges = await session.scalars(
            select(OtpChallenge).where(OtpChallenge.user_id == world.cashier.id)
        )
        deliveries = await session.scalars(
            select(Delivery).where(Delivery.user_id == world.cashier.id)
        )
        assert (challenges.all(), deliveries.all()) == ([], [])


async def test_debug_mode_is_ignored_in_production(
    make_settings: Callable[..., Settings],
    delivery_settings: dict[str, Any],
    world: World,
    smtp: SmtpReceiver,
) -> None:
    production = make_settings(environment=Environment.PRODUCTION, **delivery_settings)
    app = create_app(production)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=asgi_transport(app), base_url="http://testserver") as client,
    ):
        started = await login_email(client, world, world.cashier.email, **{"x-debug-mode": "true"})
    assert started.status_code == 200, started.text
    assert "otp" not in started.json()["content"]
    assert await smtp.otp(world.cashier.email)


async def test_unknown_inactive_and_other_location_users_get_the_same_refusal(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    elsewhere = await factories.user(session, world.tenant, stores=[world.other_store])
    inactive = await factories.user(
        session, world.tenant, stores=[world.store], status=UserStatus.INACTIVE
    )
    await session.commit()
    for email in ("nobody@example.com", elsewhere.email, inactive.email):
        response = await login_email(client, world, email)
        assert response.status_code == 400
        assert response.json() == {
            "message": "No active user with access to this location matches",
            "success": False,
            "code": "login_failed",
        }


async def test_a_wrong_otp_is_refused_and_the_budget_locks_the_challenge(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, runtime: Runtime
) -> None:
    token = (await login_email(client, world, world.cashier.email)).json()["content"]["otp_token"]
    right = await smtp.otp(world.cashier.email)
    wrong = "0" * len(right) if right != "0" * len(right) else "1" * len(right)
    codes = []
    for _ in range(runtime.settings.otp_max_failures):
        codes.append((await verify(client, world, token, wrong)).json()["code"])
    assert codes[:-1] == ["otp_invalid"] * (len(codes) - 1)
    assert codes[-1] == "otp_locked"

    response = await verify(client, world, token, right)

    assert response.status_code == 400
    assert response.json()["code"] == "otp_locked"


async def test_a_used_otp_and_an_unknown_token_are_refused_distinctly(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver
) -> None:
    token = (await login_email(client, world, world.cashier.email)).json()["content"]["otp_token"]
    otp = await smtp.otp(world.cashier.email)
    assert (await verify(client, world, token, otp)).status_code == 200
    assert (await verify(client, world, token, otp)).json()["code"] == "otp_used"
    assert (await verify(client, world, "otp_nope", otp)).json()["code"] == "otp_token_invalid"


async def test_an_expired_otp_is_refused(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, runtime: Runtime
) -> None:
    token = (await login_email(client, world, world.cashier.email)).json()["content"]["otp_token"]
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(OtpChallenge)
            .where(OtpChallenge.user_id == world.cashier.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    response = await verify(client, world, token, await smtp.otp(world.cashier.email))
    assert response.json()["code"] == "otp_expired"


async def test_a_newer_login_leaves_the_older_otp_valid(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver
) -> None:
    """Someone asking for another code does not cancel the code the user is typing."""
    first = (await login_email(client, world, world.cashier.email)).json()["content"]["otp_token"]
    first_otp = await smtp.otp(world.cashier.email)
    second = (await login_email(client, world, world.cashier.email)).json()["content"]["otp_token"]
    second_otp = await smtp.otp(world.cashier.email)
    assert (await verify(client, world, first, first_otp)).status_code == 200
    assert (await verify(client, world, second, second_otp)).status_code == 200


async def test_otp_sends_to_one_recipient_are_throttled_from_any_address(
    world: World,
    make_settings: Callable[..., Settings],
    delivery_settings: dict[str, Any],
) -> None:
    """Past otp_sends_per_recipient in the window, a send to that email is 429 whatever the
    address; another recipient of the tenant is not affected."""
    app = create_app(make_settings(**{**delivery_settings, "otp_sends_per_recipient": 3}))
    statuses = []
    async with app.router.lifespan_context(app):
        for _ in range(5):
            transport = asgi_transport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                response = await login_email(c, world, world.cashier.email.upper())
                statuses.append(response.status_code)
        async with httpx.AsyncClient(transport=asgi_transport(app), base_url="http://t") as c:
            other = await login_email(c, world, world.colleague.email)
    assert statuses == [200, 200, 200, 429, 429]
    assert other.status_code == 200


async def test_the_otp_is_stored_only_as_a_hash(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, runtime: Runtime
) -> None:
    token = (await login_email(client, world, world.cashier.email)).json()["content"]["otp_token"]
    otp = await smtp.otp(world.cashier.email)
    async with runtime.sessionmaker() as session:
        row = (
            await session.scalars(
                select(OtpChallenge).where(OtpChallenge.user_id == world.cashier.id)
            )
        ).one()
    assert row.token_hash == runtime.hasher.hash(token)
    assert otp not in row.otp_hash
    assert token not in row.token_hash


async def test_a_login_answers_before_its_otp_is_sent_and_a_failed_delivery_is_recorded(
    client: httpx.AsyncClient, world: World, gateway: GatewayReceiver, runtime: Runtime
) -> None:
    gateway.down = True
    response = await client.post(
        f"{world.base}/pos/auth/login/phone",
        json={"location_id": world.store.uid, "phone": world.cashier.mobile, "country_code": "47"},
        headers=world.key_headers,
    )
    assert response.status_code == 200, response.text
    async with runtime.sessionmaker() as session:
        delivery = (
            await session.scalars(select(Delivery).where(Delivery.user_id == world.cashier.id))
        ).one()
    failed = await settled(runtime, delivery.uid)
    assert failed.status is DeliveryStatus.FAILED
    assert "503" in failed.error


async def test_validation_failures_use_the_envelope_never_422(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.post(
        f"{world.base}/pos/auth/login/email",
        json={"location_id": world.store.uid},
        headers=world.key_headers,
    )
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["code"] == "validation_failed"
    assert "email" in body["errors"]
    bad_action = await client.post(
        f"{world.base}/pos/auth/verify-otp",
        json={"otp": "1", "otp_token": "x", "otp_action": "signup"},
        headers=world.key_headers,
    )
    assert bad_action.status_code == 400
    assert "otp_action" in bad_action.json()["errors"]
    not_json = await client.post(
        f"{world.base}/pos/auth/pair-device", content=b"{", headers=world.key_headers
    )
    assert not_json.status_code == 400


async def test_a_user_at_a_location_signs_in_there_with_an_all_stores_account(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, session: AsyncSession
) -> None:
    manager = await factories.user(session, world.tenant, all_stores=True, first_name="Mona")
    await session.commit()
    content = await sign_in(client, world, smtp, manager)
    assert content["user"]["location"]["id"] == world.store.uid
    assert {r["location_id"] for r in content["user"]["roles"]} == {
        world.store.uid,
        world.other_store.uid,
    }
    me = await client.get(
        f"{world.base}/pos/users/{manager.uid}", headers=bearer(content["access_token"])
    )
    assert me.json()["content"]["user"]["first_name"] == "Mona"
