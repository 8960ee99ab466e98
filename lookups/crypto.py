"""Look-up secrets (the KvK API key) are encrypted at rest as the ledger's credentials are
(sync/crypto.py: Fernet, AES-128-CBC + HMAC), with the same LEDGER_CREDENTIALS_KEY: one key for
every secret an office gives Kring. Without it (development, tests) the key is derived from
SECRET_KEY, under a purpose of its own."""

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
        digest = hashlib.sha256(f"kring-lookups:{settings.SECRET_KEY}".encode()).digest()
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
        raise ValueError("A look-up secret cannot be decrypted with this key.") from exc
