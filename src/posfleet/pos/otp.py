"""One-time passwords for POS sign-in: numeric, short lived, attempt-limited, stored hashed.

``otp_token`` (a 256-bit secret the client holds) names the challenge; the OTP itself goes to
the person by email, SMS or WhatsApp.  Each challenge may be guessed at ``otp_max_failures``
times.  A new login does not retire the user's older live challenges (an attacker asking for a
code must not cancel the one the user is typing); instead at most ``otp_sends_per_recipient``
codes go to one email address or phone number per ``otp_send_window_seconds``, which bounds
the live challenges, and so the guesses, per recipient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.delivery.service import DeliveryService
from posfleet.errors import BadRequest, ValidationFailed
from posfleet.kit import ratelimit
from posfleet.kit.clock import utcnow
from posfleet.kit.codes import new_numeric_code, new_secret
from posfleet.models import Delivery, OtpChallenge, Store, Tenant, TenantUser
from posfleet.models.enums import (
    CodeState,
    DeliveryChannel,
    DeliveryPurpose,
    UserStatus,
)
from posfleet.pos.repository import PosRepository
from posfleet.runtime import Runtime
from posfleet.tenants.stores import StoreService
from posfleet.users.service import (
    UserService,
    normalize_country_code,
    normalize_email,
    normalize_mobile,
)

LOGIN = "login"
DEFAULT_COUNTRY_CODE = "+91"  # the Commerce Engine API's documented default


@dataclass(frozen=True, slots=True)
class OtpSent:
    otp_token: str
    # The OTP itself, only with ``debug_otp_reveal`` for a caller on the same machine that asked
    # for it (``x-debug-mode``); never logged, and always None in production.
    otp: str | None
    delivery: Delivery


class OtpService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.repository = PosRepository(session)
        self.stores = StoreService(session)
        self.users = UserService(session)
        self.deliveries = DeliveryService(session, runtime)
        self.session = session
        self.limiter = runtime.limiter
        self.hasher = runtime.hasher
        self.settings = runtime.settings

    async def _charge(self, policy: ratelimit.Policy, **parts: str) -> None:
        await self.limiter.hit(policy, self.settings, session=self.session, **parts)

    async def _location(self, tenant: Tenant, location_uid: str) -> Store:
        store = await self.stores.find_store(tenant.id, location_uid)
        if store is None:
            raise ValidationFailed(
                "No such location", errors={"location_id": "no such location in this store"}
            )
        return store

    async def _may_sign_in(self, user: TenantUser | None, store: Store) -> TenantUser:
        if (
            user is None
            or user.status != UserStatus.ACTIVE
            or not await self.users.has_store_access(user, store)
        ):
            # One answer for unknown, inactive and not-at-this-location: no account probing.
            raise BadRequest(
                "No active user with access to this location matches", code="login_failed"
            )
        return user

    async def start_login(
        self,
        tenant: Tenant,
        location_uid: str,
        channel: DeliveryChannel,
        address: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        country_code: str | None = None,
        reveal_otp: bool = False,
    ) -> OtpSent:
        """Send an OTP to the user; ``reveal_otp`` returns it too (with ``debug_otp_reveal``)."""
        await self._charge(ratelimit.POS_LOGIN, tenant=tenant.uid, address=address)
        # Per recipient as typed, before the lookup: unknown recipients are throttled alike.
        if channel is DeliveryChannel.EMAIL:
            recipient = normalize_email(email or "")
        else:
            recipient = normalize_country_code(
                country_code or DEFAULT_COUNTRY_CODE
            ) + normalize_mobile(phone or "")
        await self._charge(ratelimit.OTP_RECIPIENT, tenant=tenant.uid, recipient=recipient)
        store = await self._location(tenant, location_uid)
        if channel is DeliveryChannel.EMAIL:
            user = await self.users.find_by_email(tenant, email or "")
            user = await self._may_sign_in(user, store)
            destination = user.email
        else:
            found = await self.users.find_by_mobile(
                tenant, phone or "", country_code or DEFAULT_COUNTRY_CODE
            )
            user = await self._may_sign_in(found, store)
            prefix = user.mobile_country_code or normalize_country_code(
                country_code or DEFAULT_COUNTRY_CODE
            )
            destination = prefix + normalize_mobile(user.mobile)

        # Older live challenges stay live: a new OTP asked for by someone else must not cancel
        # the one the user is typing.  otp_sends_per_recipient bounds how many are live.
        now = utcnow()
        otp_token = new_secret("otp_")
        otp = new_numeric_code(self.settings.otp_length)
        token_hash = self.hasher.hash(otp_token)
        ttl = self.settings.otp_ttl_seconds
        await self.repository.add(
            OtpChallenge(
                tenant_id=tenant.id,
                user_id=user.id,
                store_id=store.id,
                token_hash=token_hash,
                otp_hash=self.hasher.hash(f"{token_hash}:{otp}"),
                secret_key_id=self.hasher.key_id,
                action=LOGIN,
                channel=channel,
                state=CodeState.LIVE,
                failed_attempts=0,
                expires_at=now + timedelta(seconds=ttl),
            )
        )
        minutes = max(1, ttl // 60)
        delivery = await self.deliveries.deliver(
            tenant_id=tenant.id,
            purpose=DeliveryPurpose.OTP,
            channel=channel,
            destination=destination,
            subject=f"Your sign-in code for {store.name}",
            body=(
                f"{otp} is your sign-in code for {store.name}. "
                f"It expires in {minutes} minute{'s' if minutes != 1 else ''}."
            ),
            user_id=user.id,
        )
        # debug_otp_reveal is refused at start in production and on a non-loopback host.
        revealed = otp if reveal_otp and self.settings.debug_otp_reveal else None
        return OtpSent(otp_token, revealed, delivery)

    async def verify(
        self, tenant: Tenant, otp_token: str, otp: str, action: str, address: str
    ) -> tuple[TenantUser, Store]:
        """Spend the challenge if ``otp`` is right; a wrong OTP is charged to the challenge."""
        await self._charge(ratelimit.POS_OTP, tenant=tenant.uid, address=address)
        if action != LOGIN:
            raise ValidationFailed(
                "Unsupported otp_action", errors={"otp_action": "must be 'login'"}
            )
        challenge = await self.repository.challenge_by_token_hash(
            tenant.id, self.hasher.hashes(otp_token)
        )
        if challenge is None:
            raise BadRequest("The otp_token is not valid", code="otp_token_invalid")
        now = utcnow()
        if challenge.state is CodeState.SPENT:
            raise BadRequest("This code has already been used", code="otp_used")
        if challenge.state is CodeState.LOCKED:
            raise BadRequest("Too many wrong codes; request a new one", code="otp_locked")
        if challenge.state is CodeState.REVOKED:
            raise BadRequest("A newer code was sent; use that one", code="otp_superseded")
        if challenge.expires_at <= now:
            raise BadRequest("This code has expired; request a new one", code="otp_expired")
        # The OTP's hash is keyed like the token's: under the secret the challenge names.
        key_id = challenge.secret_key_id
        if not self.hasher.matches(
            f"{challenge.token_hash}:{otp.strip()}", challenge.otp_hash, key_id
        ):
            state = await self.repository.charge_challenge(
                challenge.id, self.settings.otp_max_failures, now
            )
            if state is CodeState.LOCKED:
                raise BadRequest(
                    "The code is not correct; too many wrong codes, request a new one",
                    code="otp_locked",
                    keeps_work=True,
                )
            raise BadRequest("The code is not correct", code="otp_invalid", keeps_work=True)
        if not await self.repository.spend_challenge(challenge.id, now):
            raise BadRequest("This code has already been used", code="otp_used")
        store = await self.stores.get_store_by_id(tenant.id, challenge.store_id)
        user = await self.users.find_by_id(tenant.id, challenge.user_id)
        return await self._may_sign_in(user, store), store
