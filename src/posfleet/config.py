"""One place where posfleet reads its configuration.

Every setting is read once, from ``POSFLEET_*`` environment variables (or a ``.env`` file), into
:class:`Settings`, which is passed down explicitly.  Nothing else in the code base reads the
environment.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TEST = "test"


class Settings(BaseSettings):
    """posfleet's settings.  ``docs/configuration.md`` lists each with its default."""

    model_config = SettingsConfigDict(
        env_prefix="POSFLEET_", env_file=".env", extra="ignore", frozen=True
    )

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///./posfleet.db"
    database_pool_size: int = Field(
        default=10,
        ge=1,
        description=(
            "PostgreSQL connections each worker keeps open (a fixed pool, no overflow: a request "
            "beyond it waits for a connection)."
        ),
    )
    database_pool_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long a request waits for a pooled PostgreSQL connection before failing.",
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
    public_base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)
    log_level: str = "info"
    log_json: bool = False

    # Tokens
    jwt_algorithm: str = Field(default="EdDSA", pattern="^(EdDSA|ES256)$")
    jwt_issuer: str = "posfleet"
    auth_token_ttl_seconds: int = Field(default=8 * 3600, ge=60)
    access_token_ttl_seconds: int = Field(default=3600, ge=30)
    device_token_ttl_seconds: int = Field(default=3600, ge=30)
    device_refresh_idle_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    pos_access_token_ttl_seconds: int = Field(default=900, ge=5)
    pos_refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    pos_refresh_grace_seconds: int = Field(default=10, ge=0)
    pos_max_sessions_per_user: int = Field(default=5, ge=1)
    signing_key_retire_after_seconds: int = Field(default=30 * 24 * 3600, ge=3600)

    # Codes and guessing budgets (RFC 8628 section 5.1)
    link_code_length: int = Field(default=8, ge=6, le=16)
    link_code_max_failures: int = Field(default=5, ge=1)
    pairing_code_ttl_seconds: int = Field(default=15 * 60, ge=60)
    pairing_code_max_failures: int = Field(default=5, ge=1)
    pairing_resend_interval_seconds: int = Field(default=30, ge=0)
    otp_ttl_seconds: int = Field(default=5 * 60, ge=30)
    otp_length: int = Field(default=6, ge=4, le=10)
    otp_max_failures: int = Field(default=5, ge=1)
    rate_limit_window_seconds: int = Field(default=60, ge=1)
    rate_limit_per_address: int = Field(default=30, ge=1)
    login_rate_limit_per_address: int = Field(default=20, ge=1)
    device_flow_ttl_seconds: int = Field(default=600, ge=60)
    device_flow_interval_seconds: int = Field(default=5, ge=1)
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

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value.startswith("postgresql://"):
            return "postgresql+asyncpg://" + value.removeprefix("postgresql://")
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_development(self) -> bool:
        return self.environment is not Environment.PRODUCTION

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
