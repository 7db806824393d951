"""One place where posfleet reads its configuration.

Every setting is read once, from ``POSFLEET_*`` environment variables (or a ``.env`` file), into
:class:`Settings`, which is passed down explicitly.  Nothing else in the code base reads the
environment.
"""

from __future__ import annotations

import ipaddress
import secrets
from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from posfleet.kit.keyring import ServerSecrets

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) reaches this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TEST = "test"


class Settings(BaseSettings):
    """posfleet's settings.  ``docs/configuration.md`` lists each with its default."""

    model_config = SettingsConfigDict(
        env_prefix="POSFLEET_", env_file=".env", extra="ignore", frozen=True
    )

    environment: Environment = Field(
        default=Environment.PRODUCTION,
        description="production unless set: development conveniences are never on by accident.",
    )
    debug_otp_reveal: bool = Field(
        default=False,
        description="Answer x-debug-mode OTP logins with the OTP; development or test on a "
        "loopback host only.",
    )
    database_url: str = "sqlite+aiosqlite:///./posfleet.db"
    database_pool_size: int = Field(
        default=10,
        ge=1,
        description=(
            "PostgreSQL connections each worker keeps open in each of its two pools, for writes "
            "and for reads (fixed pools, no overflow: a request beyond one waits for a "
            "connection)."
        ),
    )
    database_pool_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description=(
            "How long a request waits for a pooled PostgreSQL connection; past it the request "
            "is answered 429 `server_busy` with Retry-After."
        ),
    )
    database_echo: bool = False
    secret_key: SecretStr | None = Field(
        default=None,
        description=(
            "Pepper for code and token hashes and the key that encrypts signing keys at rest. "
            "Required in production; in development a key is kept in `secret_key_file`."
        ),
    )
    secret_key_file: Path = Path("./posfleet.secret")
    previous_secret_keys: SecretStr | None = Field(
        default=None,
        description=(
            "Comma-separated server secrets that `secret_key` replaced, newest first: what was "
            "hashed or encrypted under them keeps working until they are removed."
        ),
    )
    public_base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)
    trusted_proxies: str = Field(
        default="",
        description=(
            "Comma-separated addresses or CIDRs of the reverse proxies in front of posfleet. "
            "Only a request from one of them has its X-Forwarded-For read, and the client is "
            "its rightmost hop that is not a trusted proxy. Empty: the peer address is the client."
        ),
    )
    log_level: str = "info"
    log_json: bool = False

    # Tokens
    jwt_algorithm: str = Field(default="EdDSA", pattern="^(EdDSA|ES256)$")
    jwt_issuer: str = "posfleet"
    auth_token_ttl_seconds: int = Field(default=8 * 3600, ge=60)
    access_token_ttl_seconds: int = Field(default=3600, ge=30)
    device_token_ttl_seconds: int = Field(default=3600, ge=30)
    device_refresh_idle_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    backoffice_idle_seconds: int = Field(
        default=30 * 60,
        ge=60,
        description="A back-office session ends after this long without a request.",
    )
    pos_access_token_ttl_seconds: int = Field(default=900, ge=5)
    pos_refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    pos_refresh_grace_seconds: int = Field(default=10, ge=0)
    pos_max_sessions_per_user: int = Field(default=5, ge=1)
    signing_key_retire_after_seconds: int = Field(default=30 * 24 * 3600, ge=3600)

    # Codes and guessing budgets (RFC 8628 section 5.1)
    link_code_length: int = Field(default=8, ge=6, le=16)
    link_code_max_failures: int = Field(default=5, ge=1)
    pairing_code_ttl_seconds: int = Field(default=15 * 60, ge=60)
    pairing_resend_interval_seconds: int = Field(default=30, ge=0)
    otp_ttl_seconds: int = Field(default=5 * 60, ge=30)
    otp_length: int = Field(default=6, ge=4, le=10)
    otp_max_failures: int = Field(default=5, ge=1)
    rate_limit_window_seconds: int = Field(default=60, ge=1)
    rate_limit_per_address: int = Field(default=30, ge=1)
    login_rate_limit_per_address: int = Field(default=20, ge=1)
    account_free_attempts: int = Field(
        default=5,
        ge=1,
        description="Sign-in attempts on one account, from any address, before delays start.",
    )
    account_delay_base_seconds: float = Field(
        default=2.0,
        gt=0,
        description="The first delay after the free attempts; each further attempt doubles it.",
    )
    account_delay_max_seconds: int = Field(
        default=900, ge=1, description="The longest delay between attempts on one account."
    )
    account_failure_memory_seconds: int = Field(
        default=24 * 3600,
        ge=60,
        le=24 * 3600,
        description="An account's attempts are forgotten after this long without one.",
    )
    otp_sends_per_recipient: int = Field(
        default=5, ge=1, description="OTPs sent to one email or phone per otp_send_window_seconds."
    )
    otp_send_window_seconds: int = Field(
        default=15 * 60, ge=1, description="The window of otp_sends_per_recipient."
    )
    pairing_guesses_per_tenant: int = Field(
        default=30,
        ge=1,
        description="Wrong pairing codes per tenant per rate_limit_window_seconds; beyond it "
        "every pairing attempt of the tenant waits (429) for the window to move on.",
    )
    device_flow_ttl_seconds: int = Field(default=600, ge=60)
    device_flow_interval_seconds: int = Field(default=5, ge=1)
    device_flow_registrations_per_client: int = Field(default=120, ge=1)
    device_flow_attempts_per_tenant: int = Field(default=120, ge=1)
    device_offline_after_seconds: int = Field(default=15 * 60, ge=60)
    activity_write_interval_seconds: int = Field(default=60, ge=0)
    housekeeping_interval_seconds: int = Field(default=60, ge=1)

    # Paging
    page_size_default: int = Field(default=50, ge=1)
    page_size_max: int = Field(default=500, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)

    # Delivery of codes
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "posfleet <no-reply@posfleet.local>"
    sms_gateway_url: str | None = None
    sms_gateway_secret: SecretStr | None = None
    sms_gateway_timeout_seconds: float = 10.0

    # Outbox, webhooks, metrics
    outbox_worker: bool = True
    outbox_poll_interval_seconds: float = Field(default=1.0, gt=0)
    outbox_lease_seconds: int = Field(default=60, ge=5)
    outbox_batch_size: int = Field(default=20, ge=1, le=500)
    delivery_max_attempts: int = Field(default=5, ge=1, le=20)
    delivery_retry_base_seconds: float = Field(default=2.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_disable_after_days: int = Field(default=5, ge=1)
    webhook_allow_private_addresses: bool = False
    metrics_token: SecretStr | None = None

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value.startswith("postgresql://"):
            return "postgresql+asyncpg://" + value.removeprefix("postgresql://")
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite:///")):
            scheme = value.split(":", 1)[0] or value
            raise ValueError(
                f"unsupported database driver {scheme!r}: use postgresql://… or sqlite:///…"
            )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)  # ValueError names the entry
        return value

    @model_validator(mode="after")
    def _debug_only_on_loopback(self) -> Settings:
        if self.debug_otp_reveal:
            if self.environment is Environment.PRODUCTION:
                raise ValueError("debug_otp_reveal needs environment development or test")
            if not is_loopback(self.host):
                raise ValueError(
                    f"debug_otp_reveal needs a loopback host, not {self.host!r}: it hands out "
                    "sign-in codes to whoever calls"
                )
        return self

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in self.trusted_proxies.split(",")
            if part.strip()
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_development(self) -> bool:
        return self.environment is not Environment.PRODUCTION

    def server_secrets(self) -> ServerSecrets:
        """The current secret and the previous ones still listed, newest first."""
        previous = self.previous_secret_keys.get_secret_value() if self.previous_secret_keys else ""
        return ServerSecrets.of(
            [
                self.secret(),
                *(part.strip().encode() for part in previous.split(",") if part.strip()),
            ]
        )

    def secret(self) -> bytes:
        """The server secret; in development it is created once and kept in a file."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        if self.environment is Environment.PRODUCTION:
            raise RuntimeError(
                "POSFLEET_SECRET_KEY must be set when POSFLEET_ENVIRONMENT=production"
            )
        path = self.secret_key_file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip().encode()
