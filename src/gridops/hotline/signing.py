"""The hotline platform's signature: HMAC-SHA256 of "{timestamp}.{raw body}", hex, with a
"sha256=" prefix."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return PREFIX + mac.hexdigest()


def verify(secrets: list[str], timestamp: str, body: bytes, signature: str) -> bool:
    """True when any of the accepted secrets (current, previous while rotating) signed it.
    Every candidate is compared in constant time, and all are tried, so timing says nothing."""
    ok = False
    for secret in secrets:
        ok |= hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode())
    return ok
