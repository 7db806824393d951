"""Every single-use credential of the dialect, redeemed by 50 clients at once: one wins."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from posfleet.models.enums import DeliveryChannel
from posfleet.runtime import Runtime
from tests.commerce.conftest import World, pair, send_pairing_code, sign_in
from tests.commerce.receivers import SmtpReceiver

CLIENTS = 50


def tally(responses: list[httpx.Response]) -> Counter[int]:
    statuses = Counter(r.status_code for r in responses)
    assert not any(s >= 500 for s in statuses), statuses
    return statuses


async def test_fifty_concurrent_redemptions_of_one_pairing_code_pair_once(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, runtime: Runtime
) -> None:
    await send_pairing_code(runtime, world, world.mail("race"), DeliveryChannel.EMAIL)
    code = await smtp.pairing_code(world.mail("race"))

    responses = await asyncio.gather(*(pair(client, world, code) for _ in range(CLIENTS)))

    assert tally(list(responses)) == {200: 1, 400: CLIENTS - 1}
    assert {r.json()["code"] for r in responses if r.status_code == 400} == {"pairing_code_used"}


async def test_fifty_concurrent_verifications_of_one_otp_sign_in_once(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver
) -> None:
    started = await client.post(
        f"{world.base}/pos/auth/login/email",
        json={"location_id": world.store.uid, "email": world.cashier.email},
        headers=world.key_headers,
    )
    body = {
        "otp": await smtp.otp(world.cashier.email),
        "otp_token": started.json()["content"]["otp_token"],
        "otp_action": "login",
    }

    responses = await asyncio.gather(
        *(
            client.post(f"{world.base}/pos/auth/verify-otp", json=body, headers=world.key_headers)
            for _ in range(CLIENTS)
        )
    )

    assert tally(list(responses)) == {200: 1, 400: CLIENTS - 1}
    assert {r.json()["code"] for r in responses if r.status_code == 400} == {"otp_used"}


async def test_fifty_concurrent_refreshes_of_one_token_rotate_once(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver
) -> None:
    signed_in = await sign_in(client, world, smtp)
    body = {"refresh_token": signed_in["refresh_token"]}

    responses = await asyncio.gather(
        *(client.post(f"{world.base}/pos/auth/refresh-token", json=body) for _ in range(CLIENTS))
    )

    assert tally(list(responses)) == {200: 1, 401: CLIENTS - 1}
    winner = next(r for r in responses if r.status_code == 200).json()["content"]
    follow_up = await client.post(
        f"{world.base}/pos/auth/refresh-token", json={"refresh_token": winner["refresh_token"]}
    )
    assert follow_up.status_code == 200
