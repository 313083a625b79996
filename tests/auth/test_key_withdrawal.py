"""A token stops being accepted once the identity provider withdraws its signing key: the key set
expires after AuthSettings.jwks_cache_seconds, and its keys with it (the verified-token window is
tests/auth/test_token_cache.py's)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gridops.auth.tokens import TokenVerifier
from gridops.errors import Unauthorized
from gridops.settings import AuthSettings

NOW = datetime.now(UTC)


class _Keys:
    """A JWKS endpoint on 127.0.0.1 whose published keys the test changes."""

    def __init__(self) -> None:
        self.published: list[dict[str, str]] = []
        self.fetches = 0
        keys = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                keys.fetches += 1
                body = json.dumps({"keys": keys.published}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def idp() -> Iterator[_Keys]:
    keys = _Keys()
    yield keys
    keys.server.shutdown()
    keys.server.server_close()


def _rsa(kid: str) -> tuple[rsa.RSAPrivateKey, dict[str, str]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return private, public | {"kid": kid, "use": "sig", "alg": "RS256"}


def _signed(private: rsa.RSAPrivateKey, kid: str) -> str:
    claims = {"sub": "op-1", "role": "dispatcher", "iat": int(NOW.timestamp()),
              "exp": int((NOW + timedelta(hours=1)).timestamp())}
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid})


async def test_a_withdrawn_key_is_refused_once_the_key_set_is_fetched_again(
        idp: _Keys) -> None:
    old, old_public = _rsa("2025")
    _, new_public = _rsa("2026")
    idp.published = [old_public, new_public]
    auth = AuthSettings(jwks_url=idp.url, algorithm="RS256", token_cache_seconds=0,
                        jwks_cache_seconds=0.5)
    verifier, token = TokenVerifier(auth), _signed(old, "2025")
    assert (await verifier.verify(token)).subject == "op-1"
    idp.published = [new_public]  # the identity provider withdraws the old key
    await verifier.verify(token)  # the key set is still the one fetched half a second ago
    await asyncio.sleep(0.6)
    with pytest.raises(Unauthorized, match="invalid token"):
        await verifier.verify(token)
    assert idp.fetches >= 2
