"""What a password must be before it is hashed: one rule, checked everywhere a password is set.

A REGULAR user (a cashier) signs in on the till with a PIN of exactly :data:`PIN_LENGTH`
digits.  Every other account (FULL, SUPPORT, INTEGRATION) can reach the admin API, so its
password is at least :data:`MIN_LENGTH` characters mixing at least two kinds of character
(letters, digits, others) and is not one repeated or sequential run.
"""

from __future__ import annotations

from posfleet.models.enums import AccountType

PIN_LENGTH = 4
MIN_LENGTH = 12
MAX_LENGTH = 200


def password_problem(account_type: AccountType, password: str) -> str | None:
    """Why ``password`` may not be set for an account of ``account_type``, or ``None``."""
    if account_type is AccountType.REGULAR:
        if len(password) != PIN_LENGTH or not password.isascii() or not password.isdigit():
            return f"must be a PIN of exactly {PIN_LENGTH} digits for a REGULAR user"
        if len(set(password)) == 1:
            return "must not be one digit repeated"
        return None
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return f"must be {MIN_LENGTH} to {MAX_LENGTH} characters for a {account_type} user"
    kinds = (
        any(c.isalpha() for c in password)
        + any(c.isdigit() for c in password)
        + any(not c.isalnum() for c in password)
    )
    if kinds < 2:
        return "must mix at least two of letters, digits and other characters"
    if len(set(password)) <= 2:
        return "must not be one or two characters repeated"
    return None
