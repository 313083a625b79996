"""The service compiles the active rule table while it starts, so that the first routed request
after a deploy does not wait for it; a database it cannot route from yet does not stop it
starting. On a database of its own, on both backends, as deployed (the app's own lifespan)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from gridops.db import create_engine, create_sessionmaker
from gridops.main import create_app
from gridops.routing import rules as compiled_rules
from gridops.routing import service as routing
from gridops.settings import DatabaseSettings, Settings
from tests.builders import load_rules
from tests.conftest import ON_POSTGRES, _upgrade, scratch_database


@contextlib.asynccontextmanager
async def _own_database(settings: Settings, tmp_path: Path) -> AsyncIterator[Settings]:
    """A migrated, empty database of this test's own on the backend under test."""
    if ON_POSTGRES:
        async with scratch_database(settings) as (own, _):
            yield own
        return
    own = settings.model_copy(update={"database": DatabaseSettings(
        url=f"sqlite+aiosqlite:///{tmp_path / 'own.db'}")})  # type: ignore[arg-type]
    engine = create_engine(own.database)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, own)
    finally:
        await engine.dispose()
    yield own


@pytest.fixture
def fresh_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    # The process-wide compiled versions describe other databases.
    monkeypatch.setattr(routing, "_active", routing._Active())
    monkeypatch.setattr(routing, "_compiled", type(routing._compiled)())


def _count_compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    compiled: list[int] = []
    real = compiled_rules.CompiledRules.__init__

    def counting(self: compiled_rules.CompiledRules, version: int, *args: object,
                 **kwargs: object) -> None:
        compiled.append(version)
        real(self, version, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(compiled_rules.CompiledRules, "__init__", counting)
    return compiled


async def test_the_active_table_is_compiled_before_the_first_request(
        settings: Settings, tmp_path: Path, now: datetime, fresh_caches: None,
        monkeypatch: pytest.MonkeyPatch, auth: Callable[..., dict[str, str]]) -> None:
    async with _own_database(settings, tmp_path) as own:
        engine = create_engine(own.database)
        try:
            async with create_sessionmaker(engine).begin() as session:
                version = await load_rules(session, now)
        finally:
            await engine.dispose()
        compiles = _count_compiles(monkeypatch)
        app = create_app(own)
        async with app.router.lifespan_context(app):
            assert compiles == [version]
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://test") as client:
                response = await client.post("/api/v1/routing/preview",
                                             json={"text": "小区门口的路灯晚上不亮"},
                                             headers=auth("dispatcher"))
        assert response.status_code == 200, response.text
        assert response.json()["ruleset_version"] == version
        assert compiles == [version]  # the request routed with what start-up compiled


async def test_a_database_without_an_active_table_still_starts(
        settings: Settings, tmp_path: Path, fresh_caches: None, monkeypatch: pytest.MonkeyPatch,
        auth: Callable[..., dict[str, str]]) -> None:
    # The lifespan configures the root logger's handlers: listen on the logger itself.
    warned: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warned.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("gridops.startup")
    logger.addHandler(handler)
    try:
        async with _own_database(settings, tmp_path) as own:
            compiles = _count_compiles(monkeypatch)
            app = create_app(own)
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
                response = await client.post("/api/v1/routing/preview",
                                             json={"text": "小区门口的路灯晚上不亮"},
                                             headers=auth("dispatcher"))
    finally:
        logger.removeHandler(handler)
    assert compiles == []
    assert len(warned) == 1
    assert "not compiled at start-up" in warned[0]
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
