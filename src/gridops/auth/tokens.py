"""JWT minting (development) and verification (HS256 secret, or the city's JWKS)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import anyio.to_thread
import jwt

from gridops.auth.actor import Actor, Role
from gridops.errors import Unauthorized
from gridops.settings import AuthSettings

_SCOPE_CLAIMS = ("unit", "street", "community", "grid")


def mint(auth: AuthSettings, *, subject: str, role: Role | str, now: datetime,
         ttl_minutes: int | None = None, name: str | None = None, **scope: str | None) -> str:
    role = Role(role)
    claims: dict[str, Any] = {
        "sub": subject, "role": role.value, "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=ttl_minutes or auth.token_ttl_minutes)).timestamp()),
    }
    claims |= {k: v for k, v in scope.items() if k in _SCOPE_CLAIMS and v}
    if name:
        claims["name"] = name
    if auth.issuer:
        claims["iss"] = auth.issuer
    if auth.audience:
        claims["aud"] = auth.audience
    actor_from_claims(claims)  # refuse to mint what would not verify
    return jwt.encode(claims, auth.jwt_secret.get_secret_value(), algorithm="HS256")


def actor_from_claims(claims: dict[str, Any]) -> Actor:
    try:
        role = Role(str(claims.get("role")))
    except ValueError:
        raise Unauthorized("token has no known role") from None
    if role is Role.system:
        raise Unauthorized("the system role cannot sign in")
    actor = Actor(subject=str(claims.get("sub") or ""), role=role, unit_code=claims.get("unit"),
                  street_code=claims.get("street"), community_code=claims.get("community"),
                  grid_code=claims.get("grid"), name=claims.get("name"))
    if not actor.subject:
        raise Unauthorized("token has no subject")
    problem = _scope_problem(actor)
    if problem:
        raise Unauthorized(problem)
    return actor


def _scope_problem(a: Actor) -> str | None:
    if a.role is Role.grid_worker and not a.grid_code:
        return "a grid_worker token needs a grid claim"
    if a.role is Role.unit_operator:
        if not a.unit_code:
            return "a unit_operator token needs a unit claim"
        if a.unit_code == "STR" and not a.street_code:
            return "a unit_operator of STR needs a street claim"
    if a.role is Role.dispatcher and a.street_code and a.community_code:
        return "a dispatcher is scoped to a street or a community, not both"
    return None


class TokenVerifier:
    """Verifies bearer tokens. A verified token is remembered (up to `CACHE_SIZE`, the oldest
    dropped first) for `token_cache_seconds`, never past its `exp`: a client sends the same
    token on every call, and decoding it again cost 7-8 % of a create's API CPU. Only tokens
    that verified are remembered, so forged or broken ones cannot fill the cache; nothing of a
    token can change while it is valid, its signature covers every claim, but its key can be
    withdrawn: after the window the token is checked again. The identity provider's key set
    is kept `jwks_cache_seconds` and its keys with it (not PyJWKClient's per-key cache, which
    would keep a withdrawn key for the life of the process)."""

    CACHE_SIZE = 4096

    def __init__(self, auth: AuthSettings, clock: Callable[[], float] = time.time) -> None:
        self._auth = auth
        self._jwks = (jwt.PyJWKClient(auth.jwks_url, cache_keys=False, cache_jwk_set=True,
                                      lifespan=auth.jwks_cache_seconds)
                      if auth.jwks_url else None)
        self._clock = clock
        # actor, not before, trusted until (the window's end or exp, whichever first)
        self._verified: dict[str, tuple[Actor, float, float]] = {}

    async def verify(self, token: str) -> Actor:
        known = self._verified.get(token)
        if known is not None:
            actor, not_before, expires = known
            if not_before <= self._clock() < expires:  # PyJWT's own bounds, without leeway
                return actor
            self._verified.pop(token, None)  # its window is over, or it expired: decoded again
        claims = await self._decode(token)
        actor = actor_from_claims(claims)
        window = self._auth.token_cache_seconds
        if window > 0:
            if len(self._verified) >= self.CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)))
            self._verified[token] = (actor, _not_before(claims),
                                     min(int(claims["exp"]), self._clock() + window))
        return actor

    async def _decode(self, token: str) -> dict[str, Any]:
        try:
            if self._jwks is not None:
                jwks = self._jwks
                key: Any = (await anyio.to_thread.run_sync(jwks.get_signing_key_from_jwt,
                                                           token)).key
                algorithms = [self._auth.algorithm]
            else:
                key, algorithms = self._auth.jwt_secret.get_secret_value(), ["HS256"]
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=algorithms, issuer=self._auth.issuer,
                audience=self._auth.audience,
                options={"require": ["exp", "sub"], "verify_aud": bool(self._auth.audience)},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except (jwt.PyJWTError, ValueError) as exc:
            raise Unauthorized(f"invalid token: {type(exc).__name__}") from None
        return claims


def _not_before(claims: dict[str, Any]) -> float:
    """The earliest moment PyJWT accepts the token (its `iat` and `nbf`, when given)."""
    return float(max((int(claims[k]) for k in ("iat", "nbf") if k in claims), default=0))
