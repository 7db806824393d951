"""Email over SMTP (aiosmtplib), configured by the ``smtp_*`` settings."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from posfleet.config import Settings
from posfleet.delivery.transport import DeliveryFailed, OutgoingMessage


class SmtpTransport:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host is not None
        self._settings = settings
        self._host = settings.smtp_host

    async def send(self, message: OutgoingMessage) -> None:
        settings = self._settings
        email = EmailMessage()
        email["From"] = settings.mail_from
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email["X-Posfleet-Delivery"] = message.reference
        email.set_content(message.body)
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        try:
            await aiosmtplib.send(
                email,
                hostname=self._host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=password,
                use_tls=settings.smtp_tls,
                start_tls=settings.smtp_starttls,
                timeout=settings.smtp_timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryFailed(
                f"SMTP {self._host}:{settings.smtp_port}: {_describe(exc)}"
            ) from exc


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
