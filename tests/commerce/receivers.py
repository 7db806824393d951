"""Real receivers for delivered codes: an SMTP server (aiosmtpd) and an HTTP SMS gateway.

Tests read codes from what these received, never from the database.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from posfleet.delivery.gateway import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.support.server import free_port

PAIRING_CODE = re.compile(r"pairing code for .+ is ([A-Z0-9]{4}-[A-Z0-9]{4})")
OTP = re.compile(r"(\d{4,10}) is your sign-in code")


async def _wait_for(predicate: Any, what: str, within: float = 10.0) -> Any:
    """Poll without blocking the event loop: the outbox worker sending the message may run in
    this very loop (the in-process app of the test)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"nothing delivered: {what}")


def _newer(messages: list[Any], seen: int) -> list[Any]:
    """All ``messages`` if there are more than ``seen`` of them, else none."""
    return messages if len(messages) > seen else []


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.read: dict[str, int] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@dataclass
class SmtpReceiver:
    port: int
    mailbox: _Mailbox

    def to(self, address: str) -> list[Message]:
        with self.mailbox.lock:
            return [m for m in self.mailbox.messages if m["To"] == address]

    async def last_body(self, address: str) -> str:
        """The body of the newest mail to ``address``, waiting for one newer than the mail an
        earlier call returned (messages are sent after the request that queued them)."""
        seen = self.mailbox.read.get(address, 0)
        found = await _wait_for(lambda: _newer(self.to(address), seen), address)
        self.mailbox.read[address] = len(found)
        message = found[-1]
        payload = message.get_payload(decode=True)
        assert isinstance(payload, bytes)
        return payload.decode()

    async def pairing_code(self, address: str) -> str:
        found = PAIRING_CODE.search(await self.last_body(address))
        assert found, "no pairing code in the mail"
        return found.group(1)

    async def otp(self, address: str) -> str:
        found = OTP.search(await self.last_body(address))
        assert found, "no OTP in the mail"
        return found.group(1)


def start_smtp() -> tuple[Controller, SmtpReceiver]:
    mailbox = _Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, SmtpReceiver(port, mailbox)


@dataclass
class GatewayReceiver:
    """Stands in for an SMS/WhatsApp gateway; ``down`` makes it answer 503."""

    port: int
    secret: bytes
    received: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    read: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/send"

    def to(self, number: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.received if m["body"]["to"] == number]

    async def last_text(self, number: str) -> str:
        """The newest text to ``number``, newer than the one an earlier call returned."""
        seen = self.read.get(number, 0)
        found = await _wait_for(lambda: _newer(self.to(number), seen), number)
        self.read[number] = len(found)
        return str(found[-1]["body"]["message"])

    async def pairing_code(self, number: str) -> str:
        found = PAIRING_CODE.search(await self.last_text(number))
        assert found, "no pairing code in the SMS"
        return found.group(1)

    async def otp(self, number: str) -> str:
        found = OTP.search(await self.last_text(number))
        assert found, "no OTP in the SMS"
        return found.group(1)


def start_gateway(secret: bytes) -> tuple[ThreadingHTTPServer, GatewayReceiver]:
    receiver = GatewayReceiver(free_port(), secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if receiver.down:
                self._answer(503, b"gateway maintenance")
                return
            timestamp = self.headers.get(TIMESTAMP_HEADER, "")
            signature = self.headers.get(SIGNATURE_HEADER, "")
            if signature != sign(receiver.secret, timestamp, raw):
                self._answer(401, b"bad signature")
                return
            with receiver.lock:
                receiver.received.append(
                    {"body": json.loads(raw), "headers": dict(self.headers.items())}
                )
            self._answer(202, b'{"accepted": true}')

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, receiver
