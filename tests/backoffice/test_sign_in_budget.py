"""Back-office sign-ins are charged to the same per-address budget as POST /auth/login."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.config import Settings
from tests import factories

PASSWORD = "correct horse battery"


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(login_rate_limit_per_address=3)


async def _sign_in(client: httpx.AsyncClient, user_code: str, password: str) -> httpx.Response:
    form = await client.get("/backoffice/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    return await client.post(
        "/backoffice/sign-in",
        data={"csrf": csrf.group(1), "user_code": user_code, "password": password},
    )


async def test_back_office_and_api_sign_ins_share_one_budget(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Three wrong passwords on the sign-in page use up the address's budget: the API's next
    login and the page's next sign-in, with the right password, are both refused."""
    tenant = await factories.tenant(session)
    user = await factories.user(session, tenant, password=PASSWORD)
    await session.commit()
    for _ in range(3):
        wrong = await _sign_in(client, user.user_code, "wrong")
        assert wrong.status_code == 401
        assert "The user code or password is wrong" in wrong.text
    api = await client.post("/auth/login", json={"userCode": user.user_code, "password": PASSWORD})
    assert api.status_code == 429
    page = await _sign_in(client, user.user_code, PASSWORD)
    assert page.status_code == 429
    assert "Too many sign-in attempts from this address" in page.text
    assert "Retry-After" in page.headers
