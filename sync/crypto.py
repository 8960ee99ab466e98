"""Ledger credentials are encrypted at rest (Fernet: AES-128-CBC + HMAC) with a key from the environment."""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@cache
def _fernet() -> Fernet:
    key = settings.LEDGER_CREDENTIALS_KEY
    if not key:
        # Development and tests only (a deploy check warns): a key derived from SECRET_KEY.
        digest = hashlib.sha256(f"kring-ledger:{settings.SECRET_KEY}".encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key.encode() if isinstance(key, str) else key)


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError(
            "Ledger credentials cannot be decrypted with this LEDGER_CREDENTIALS_KEY."
        ) from exc


def mask(value: str) -> str:
    """What a page may show of a secret: that it is set, and its last four characters."""
    return f"••••{value[-4:]}" if len(value) > 8 else ("••••" if value else "")
