from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from gridops.auth.actor import Actor, Role
from gridops.auth.policy import allow
from gridops.auth.privacy import mask_phone
from gridops.deps import Session
from gridops.errors import NotFound, problems
from gridops.places import service as places
from gridops.places.models import Community, Grid, GridWorker, Street, Unit
from gridops.places.schemas import (
    CommunityOut,
    GridDetailOut,
    GridOut,
    GridPage,
    LocateOut,
    StreetOut,
    UnitOut,
    WorkerOut,
)

router = APIRouter(prefix="/places", tags=["places"])

Reader = Annotated[Actor, Depends(allow())]
# Grid workers' phones are for dispatching; other roles see them masked.
SEES_PHONES = frozenset({Role.dispatcher, Role.admin})


async def _count_by(session: AsyncSession, column: InstrumentedAttribute[str],
                    *where: ColumnElement[bool]) -> dict[str, int]:
    rows = await session.execute(select(column, func.count()).where(*where).group_by(column))
    return {str(key): int(n) for key, n in rows.all()}


@router.get("/streets", summary="The streets (街道) of the district",
            responses=problems(401))
async def list_streets(session: Session, actor: Reader) -> list[StreetOut]:
    communities = await _count_by(session, Community.street_code)
    grids = await _count_by(session, Grid.street_code)
    streets = (await session.scalars(select(Street).order_by(Street.code))).all()
    return [StreetOut(code=s.code, name=s.name, district_code=s.district_code,
                      communities=communities.get(s.code, 0), grids=grids.get(s.code, 0))
            for s in streets]


@router.get("/streets/{code}/communities", summary="The communities (社区/村) of one street",
            responses=problems(401, 404))
async def list_street_communities(code: str, session: Session,
                                  actor: Reader) -> list[CommunityOut]:
    if await session.get(Street, code) is None:
        raise NotFound(f"no street {code}")
    grids = await _count_by(session, Grid.community_code, Grid.street_code == code)
    rows = (await session.scalars(select(Community).where(Community.street_code == code)
                                  .order_by(Community.code))).all()
    return [CommunityOut(code=c.code, name=c.name, street_code=c.street_code,
                         grids=grids.get(c.code, 0)) for c in rows]


@router.get("/grids", summary="Grids (网格), by code, optionally of one street or community",
            responses=problems(401, 422))
async def list_grids(
    session: Session, actor: Reader,
    street: Annotated[str | None, Query(max_length=16, description="street code")] = None,
    community: Annotated[str | None, Query(max_length=20, description="community code")] = None,
    geometry: Annotated[bool, Query(description="include each grid's polygon")] = False,
    cursor: Annotated[str | None, Query(max_length=24,
                                        description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> GridPage:
    filters = []
    if street is not None:
        filters.append(Grid.street_code == street)
    if community is not None:
        filters.append(Grid.community_code == community)
    total = await session.scalar(select(func.count()).select_from(Grid).where(*filters)) or 0
    query = select(Grid).where(*filters).order_by(Grid.code).limit(limit)
    if cursor is not None:
        query = query.where(Grid.code > cursor)
    grids = (await session.scalars(query)).all()
    items = [GridOut.model_validate(g) if geometry else
             GridOut.model_validate(g).model_copy(update={"polygon": None}) for g in grids]
    return GridPage(items=items, total=total,
                    next_cursor=items[-1].code if len(items) == limit else None)


@router.get("/grids/{code}", summary="One grid with its polygon and its A/B workers",
            responses=problems(401, 404))
async def get_grid(code: str, session: Session, actor: Reader) -> GridDetailOut:
    grid = await session.get(Grid, code)
    if grid is None:
        raise NotFound(f"no grid {code}")
    workers = (await session.scalars(select(GridWorker).where(GridWorker.grid_code == code)
                                     .order_by(GridWorker.post))).all()
    sees = actor.role in SEES_PHONES
    return GridDetailOut(
        **GridOut.model_validate(grid).model_dump(),
        workers=[WorkerOut(post=w.post, name=w.name, subject=w.subject,
                           phone=w.phone if sees else mask_phone(w.phone)) for w in workers])


@router.get("/locate", summary="The grid, community and street of a GPS point",
            responses=problems(401, 404, 422))
async def locate_point(
    session: Session, actor: Reader,
    lat: Annotated[float, Query(ge=-90, le=90, description="latitude, WGS 84")],
    lon: Annotated[float, Query(ge=-180, le=180, description="longitude, WGS 84")],
    tolerance_m: Annotated[float, Query(ge=0, le=500, description="accept the nearest grid "
                                        "this far outside, for GPS drift at the edge")] = 0,
) -> LocateOut:
    index = await places.current_index(session)
    hit = index.nearest(lat, lon, tolerance_m) if tolerance_m else index.locate(lat, lon)
    if hit is None:
        raise NotFound(f"({lat}, {lon}) lies outside every grid of the district")
    grid = await session.get(Grid, hit.grid_code)
    community = await session.get(Community, hit.community_code)
    street = await session.get(Street, hit.street_code)
    if grid is None or community is None or street is None:  # deleted since the index was built
        raise NotFound(f"({lat}, {lon}) lies outside every grid of the district")
    return LocateOut(grid_code=grid.code, grid_name=grid.name, community_code=community.code,
                     community_name=community.name, street_code=street.code,
                     street_name=street.name, distance_m=hit.distance_m)


@router.get("/units", summary="The receiving units (承办单位)", responses=problems(401))
async def list_units(session: Session, actor: Reader) -> list[UnitOut]:
    units = (await session.scalars(select(Unit).order_by(Unit.code))).all()
    return [UnitOut.model_validate(u) for u in units]
