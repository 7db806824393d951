"""Codes typed on the verification page are charged like authorizations over the API."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.app import create_app
from posfleet.config import Settings
from posfleet.runtime import Runtime
from tests.deviceflow.support import flow_world
from tests.flow.device.support import PASSWORD


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


async def test_code_entry_on_the_page_is_limited_per_address(
    make_settings: Callable[..., Settings], session: AsyncSession, runtime: Runtime
) -> None:
    fw = await flow_world(session, runtime)
    limited = make_settings(rate_limit_per_address=3, rate_limit_window_seconds=3600)
    app = create_app(limited)
    address = f"192.0.2.{uuid.uuid4().hex[:8]}"
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(address, 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as browser:
            form = await browser.get("/backoffice/sign-in")
            signed_in = await browser.post(
                "/backoffice/sign-in",
                data={
                    "csrf": _csrf(form.text),
                    "user_code": fw.w.full_user.user_code,
                    "password": PASSWORD,
                    "tenant": fw.w.tenant.uid,
                },
            )
            assert signed_in.status_code == 303, signed_in.text
            page = await browser.get("/backoffice/device-flow")
            token = _csrf(page.text)
            answers = [
                await browser.post(
                    "/backoffice/device-flow", data={"csrf": token, "code": "ZZZZ-ZZZZ"}
                )
                for _ in range(4)
            ]
    assert [a.status_code for a in answers] == [400, 400, 400, 429]
    assert "No device is waiting for this code" in answers[0].text
    assert "Too many device codes tried from this address" in answers[3].text
    assert int(answers[3].headers["Retry-After"]) >= 1
