"""Loading packs into the database: all or nothing, idempotent, indexed."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.places import service as places
from gridops.places.models import Grid, GridWorker, PackLoad, Street, Unit
from gridops.places.pack import DEMO_PACK, PackError
from tests.conftest import count_rows
from tests.places.test_pack import break_pack

TABLES = ("unit", "district", "street", "community", "grid", "grid_worker", "pack_load")


async def counts(session: AsyncSession) -> dict[str, int]:
    return {t: await count_rows(session, t) for t in TABLES}


async def test_demo_pack_loads_every_row(session: AsyncSession, now: datetime) -> None:
    report = await places.load_pack(session, DEMO_PACK, now=now)
    assert not report.already_loaded
    assert report.inserted == {"units": 23, "district": 1, "streets": 5, "communities": 45,
                               "grids": 232, "workers": 464}
    assert await counts(session) == {"unit": 23, "district": 1, "street": 5, "community": 45,
                                     "grid": 232, "grid_worker": 464, "pack_load": 1}
    grid = await session.get(Grid, "430204004002004")
    assert grid is not None
    assert grid.street_code == "430204004"
    assert grid.polygon["type"] == "Polygon"
    assert 27.8 < grid.centroid_lat < 27.95
    assert 113.0 < grid.centroid_lon < 113.25
    street = await session.get(Street, "430204001")
    assert street is not None
    assert (street.name, street.district_code) == ("田心街道", "430204")
    unit = await session.get(Unit, "STR")
    assert unit is not None
    assert unit.name_zh == "街道办事处(属地)"


async def test_loading_the_same_pack_twice_changes_nothing(session: AsyncSession,
                                                           now: datetime) -> None:
    await places.load_pack(session, DEMO_PACK, now=now)
    before = await counts(session)
    again = await places.load_pack(session, DEMO_PACK, now=now + timedelta(hours=1))
    assert again.already_loaded
    assert not again.changed
    assert "already loaded: nothing changed" in again.lines()[0]
    assert await counts(session) == before


async def test_changed_pack_updates_in_place(session: AsyncSession, now: datetime,
                                             tmp_path: Path) -> None:
    await places.load_pack(session, DEMO_PACK, now=now)
    shutil.copytree(DEMO_PACK, tmp_path / "pack")
    workers = tmp_path / "pack" / "workers.csv"
    text = workers.read_text(encoding="utf-8")
    first = text.splitlines()[1].split(",")
    workers.write_text(text.replace(",".join(first), ",".join([*first[:2], "李新来",
                                                               *first[3:]])), encoding="utf-8")
    report = await places.load_pack(session, tmp_path / "pack", now=now + timedelta(days=1))
    assert report.updated["workers"] == 1
    assert sum(report.inserted.values()) == 0
    assert sum(v for k, v in report.updated.items() if k != "workers") == 0
    worker = await session.scalar(select(GridWorker).where(GridWorker.subject == first[4]))
    assert worker is not None
    assert worker.name == "李新来"
    assert await count_rows(session, "pack_load") == 2


async def test_bad_pack_is_refused_and_the_database_untouched(session: AsyncSession,
                                                              now: datetime,
                                                              tmp_path: Path) -> None:
    shutil.copytree(DEMO_PACK, tmp_path / "pack")
    break_pack(tmp_path / "pack")
    with pytest.raises(PackError) as caught:
        await places.load_pack(session, tmp_path / "pack", now=now)
    assert len(caught.value.problems) >= 6
    assert all(n == 0 for n in (await counts(session)).values())


async def test_grid_index_from_the_database(session: AsyncSession, now: datetime) -> None:
    await places.load_pack(session, DEMO_PACK, now=now)
    index = await places.grid_index(session)
    assert len(index) == 232
    hit = await places.locate(session, 27.87, 113.13)
    assert hit is not None
    assert (hit.grid_code, hit.community_code, hit.street_code) == (
        "430204004002004", "430204004002", "430204004")
    assert await places.locate(session, 27.0, 113.0) is None
    address = index.locate_address("井龙街道龙头铺村")
    assert address is not None
    assert address.community_code == "430204005002"


async def test_current_index_follows_the_latest_pack_load(session: AsyncSession, now: datetime,
                                                          tmp_path: Path) -> None:
    await places.load_pack(session, DEMO_PACK, now=now)
    first = await places.current_index(session)
    assert await places.current_index(session) is first  # cached while nothing is loaded
    shutil.copytree(DEMO_PACK, tmp_path / "pack")
    path = tmp_path / "pack" / "grids.geojson"
    grids = json.loads(path.read_text(encoding="utf-8"))
    grids["features"][0]["properties"]["name"] = "改名网格"
    path.write_text(json.dumps(grids, ensure_ascii=False), encoding="utf-8")
    await places.load_pack(session, tmp_path / "pack", now=now + timedelta(minutes=5))
    assert await places.current_index(session) is not first
    latest = await session.scalar(select(PackLoad).order_by(PackLoad.loaded_at.desc()).limit(1))
    assert latest is not None
    assert latest.loaded_at == now + timedelta(minutes=5)
