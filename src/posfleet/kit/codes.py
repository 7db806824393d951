"""Short human-typed codes and high-entropy secrets, all from the OS CSPRNG."""

from __future__ import annotations

import secrets

# Crockford-style: no 0/O, 1/I/L, U (ambiguous when read aloud or handwritten).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
_FOLD = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code(length: int) -> str:
    """A code a person can type: ``length`` symbols from :data:`CODE_ALPHABET`."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def format_code(code: str) -> str:
    """Group a code in fours for display (``ABCD-EF23``); :func:`normalize_code` undoes it."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize_code(typed: str) -> str:
    """Case-, space- and dash-insensitive form of a typed code."""
    return "".join(ch for ch in typed.upper() if ch.isalnum()).translate(_FOLD)


def new_numeric_code(length: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(length))


def new_secret(prefix: str = "") -> str:
    """A 256-bit URL-safe secret, optionally prefixed to say what it is (``pfk_…``)."""
    return prefix + secrets.token_urlsafe(32)
