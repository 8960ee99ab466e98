"""RFC 6238 codes computed in the test from the key an authenticator app is given (no mocks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time


def code_for(
    secret_base32: str, *, at: float | None = None, step: int = 30, offset: int = 0
) -> str:
    """The six digits an app shows for this base32 key at `at` (now), `offset` steps later."""
    padded = secret_base32 + "=" * (-len(secret_base32) % 8)
    key = base64.b32decode(padded)
    counter = int((time.time() if at is None else at) // step) + offset
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    start = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[start : start + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def secret_of(device) -> str:
    """The base32 key of a django-otp TOTPDevice, as the set-up page shows it."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")
