"""User errors: one line on stderr and exit code 2, before any work starts."""

from __future__ import annotations


class UserError(Exception):
    """Something the user gave (a value, a file, a config) is wrong; the message says what."""


def fail(message: str) -> None:
    raise UserError(message)
