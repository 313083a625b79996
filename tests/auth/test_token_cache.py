"""TokenVerifier remembers the tokens it verified for a window, never past their expiry, within a
bounded size."""

from __future__ import annotations

from datetime import UTC, datetime

import jwt
import pytest

from gridops.auth.tokens import TokenVerifier, mint
from gridops.errors import Unauthorized
from gridops.settings import AuthSettings

NOW = datetime.now(UTC)


class Clock:
    def __init__(self) -> None:
        self.at = NOW.timestamp()

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens PyJWT was asked to decode."""
    seen: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: object, **kwargs: object) -> object:
        seen.append(token)
        return real(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", counting)  # tokens.py calls it as jwt.decode
    return seen


def _token(subject: str = "w1", ttl_minutes: int = 60, **scope: str) -> str:
    return mint(AuthSettings(), subject=subject, role="grid_worker", now=NOW,
                ttl_minutes=ttl_minutes, **({"grid": "G1"} | scope))


async def test_a_token_is_decoded_once_while_valid(decodes: list[str]) -> None:
    verifier, token = TokenVerifier(AuthSettings(), clock=Clock()), _token()
    first = await verifier.verify(token)
    assert [await verifier.verify(token) for _ in range(3)] == [first] * 3
    assert (first.subject, first.role.value, first.grid_code) == ("w1", "grid_worker", "G1")
    assert decodes == [token]


async def test_a_remembered_token_past_its_exp_is_refused_as_expired(
        decodes: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    verifier, token = TokenVerifier(AuthSettings(), clock=clock), _token(ttl_minutes=1)
    await verifier.verify(token)
    clock.at += 59
    await verifier.verify(token)
    assert len(decodes) == 1
    clock.at += 1  # exp itself: PyJWT refuses a token at its exp
    # PyJWT reads the real clock; have it see the same moment.
    monkeypatch.setattr(jwt.api_jwt, "datetime", _FrozenDatetime(clock.at))
    with pytest.raises(Unauthorized, match="token expired"):
        await verifier.verify(token)
    assert len(decodes) == 2


async def test_a_remembered_token_before_its_iat_is_decoded_again(decodes: list[str]) -> None:
    clock = Clock()
    verifier, token = TokenVerifier(AuthSettings(), clock=clock), _token()
    await verifier.verify(token)
    clock.at -= 5  # the host's clock stepped back before the token's issue
    await verifier.verify(token)  # PyJWT, on the real clock, accepts it again
    assert len(decodes) == 2


async def test_a_remembered_token_is_checked_again_when_its_window_ends(
        decodes: list[str]) -> None:
    clock, token = Clock(), _token()
    verifier = TokenVerifier(AuthSettings(token_cache_seconds=30), clock=clock)
    await verifier.verify(token)
    clock.at += 29.9
    await verifier.verify(token)
    assert decodes == [token]
    clock.at += 0.1  # a key withdrawn meanwhile would refuse it now
    await verifier.verify(token)
    assert decodes == [token, token]


async def test_with_no_window_every_call_verifies(decodes: list[str]) -> None:
    verifier, token = TokenVerifier(AuthSettings(token_cache_seconds=0), clock=Clock()), _token()
    for _ in range(3):
        await verifier.verify(token)
    assert decodes == [token] * 3
    assert verifier._verified == {}


async def test_refused_tokens_are_not_remembered(decodes: list[str]) -> None:
    verifier = TokenVerifier(AuthSettings(), clock=Clock())
    forged = jwt.encode({"sub": "x", "role": "admin", "exp": int(NOW.timestamp()) + 600},
                        "not-the-secret-but-long-enough-for-hs256-keys", algorithm="HS256")
    for _ in range(2):
        with pytest.raises(Unauthorized, match="invalid token"):
            await verifier.verify(forged)
    assert decodes == [forged, forged]
    assert verifier._verified == {}


async def test_the_cache_is_bounded_and_drops_the_oldest(
        decodes: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TokenVerifier, "CACHE_SIZE", 3)
    verifier = TokenVerifier(AuthSettings(), clock=Clock())
    made = [_token(subject=f"w{n}") for n in range(4)]
    for token in made:
        await verifier.verify(token)
    assert list(verifier._verified) == made[1:]
    await verifier.verify(made[0])  # dropped: decoded again
    assert decodes == [*made, made[0]]


class _FrozenDatetime:
    """Stands in for the `datetime` class PyJWT's module uses, frozen at one moment."""

    def __init__(self, at: float) -> None:
        self._at = at

    def now(self, tz: object = None) -> datetime:
        return datetime.fromtimestamp(self._at, UTC)

    def __getattr__(self, name: str) -> object:
        return getattr(datetime, name)
