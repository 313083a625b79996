"""Validation of a parsed district pack: every rule, every problem, one sentence each."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from shapely import STRtree
from shapely.geometry import Polygon
from shapely.validation import explain_validity

from gridops.db import Base
from gridops.places.geo import square_metres
from gridops.places.models import Community, Grid, GridWorker, Street, Unit

if TYPE_CHECKING:
    from gridops.places.pack import Pack

# Below a square metre, an overlap or an overhang is rounding of coordinates, not a data error.
AREA_EPSILON_M2 = 1.0
POSTS = frozenset({"A", "B"})


def validate(pack: Pack, known_units: frozenset[str]) -> list[str]:
    problems: list[str] = []
    problems += _units(pack, known_units)
    problems += _hierarchy(pack)
    problems += _counts(pack)
    problems += _workers(pack)
    problems += _lengths(pack)
    grids = _valid_polygons("grids.geojson", ((g.code, g.polygon) for g in pack.grids), problems)
    areas = _valid_polygons("communities.geojson",
                            ((a.code, a.polygon) for a in pack.community_areas), problems)
    problems += _overlaps("grids.geojson", "grid", grids)
    problems += _overlaps("communities.geojson", "community", areas)
    if pack.community_areas:
        problems += _outside_community(pack, grids, areas)
    return problems


def _duplicates(file: str, what: str, codes: Iterable[str]) -> list[str]:
    return [f"{file}: {what} {code} appears {n} times"
            for code, n in Counter(codes).items() if n > 1]


def _units(pack: Pack, known: frozenset[str]) -> list[str]:
    if pack.units is None:
        return []
    codes = [u.code for u in pack.units]
    unknown = [f"units.csv: unknown unit code {c!r} (known: {', '.join(sorted(known))})"
               for c in dict.fromkeys(codes) if c not in known]
    return _duplicates("units.csv", "unit", codes) + unknown


def _hierarchy(pack: Pack) -> list[str]:
    problems = _duplicates("streets.csv", "street", (s.code for s in pack.streets))
    problems += _duplicates("communities.csv", "community", (c.code for c in pack.communities))
    problems += _duplicates("grids.geojson", "grid", (g.code for g in pack.grids))
    problems += _duplicates("communities.geojson", "community boundary",
                            (a.code for a in pack.community_areas))
    streets = {s.code for s in pack.streets}
    communities = {c.code: c for c in pack.communities}
    for s in pack.streets:
        if not s.code.startswith(pack.district_code):
            problems.append(f"streets.csv: street {s.code} does not extend district code "
                            f"{pack.district_code}")
    for c in pack.communities:
        if c.street_code not in streets:
            problems.append(f"communities.csv: community {c.code} refers to unknown street "
                            f"{c.street_code!r}")
        elif not c.code.startswith(c.street_code):
            problems.append(f"communities.csv: community {c.code} does not extend its street "
                            f"code {c.street_code}")
    for g in pack.grids:
        if g.community_code not in communities:
            problems.append(f"grids.geojson: grid {g.code} refers to unknown community "
                            f"{g.community_code!r}")
        elif not g.code.startswith(g.community_code):
            problems.append(f"grids.geojson: grid {g.code} does not extend its community code "
                            f"{g.community_code}")
    for a in pack.community_areas:
        if a.code not in communities:
            problems.append(f"communities.geojson: boundary for unknown community {a.code!r}")
    if pack.community_areas:
        with_area = {a.code for a in pack.community_areas}
        problems += [f"communities.geojson: community {c} has no boundary"
                     for c in communities if c not in with_area]
    return problems


def _counts(pack: Pack) -> list[str]:
    actual = {"streets": len(pack.streets), "communities": len(pack.communities),
              "grids": len(pack.grids)}
    return [f"pack.yaml: declares {declared} {key} but the pack has {actual[key]}"
            for key, declared in pack.declared.items() if actual[key] != declared]


def _workers(pack: Pack) -> list[str]:
    grids = {g.code for g in pack.grids}
    problems = []
    for w in pack.workers:
        if w.grid_code not in grids:
            problems.append(f"workers.csv: worker {w.subject} refers to unknown grid "
                            f"{w.grid_code!r}")
        if w.post not in POSTS:
            problems.append(f"workers.csv: worker {w.subject} has post {w.post!r}; "
                            "posts are A and B")
    problems += _duplicates("workers.csv", "post",
                            (f"{w.grid_code}/{w.post}" for w in pack.workers))
    problems += _duplicates("workers.csv", "subject", (w.subject for w in pack.workers))
    return problems


def _lengths(pack: Pack) -> list[str]:
    """Values that would not fit their column: refused here, so a load never fails half-way."""
    checks: list[tuple[str, str, type[Base], str, str]] = []
    for s in pack.streets:
        checks += [("streets.csv", s.code, Street, "code", s.code),
                   ("streets.csv", s.code, Street, "name", s.name)]
    for c in pack.communities:
        checks += [("communities.csv", c.code, Community, "code", c.code),
                   ("communities.csv", c.code, Community, "name", c.name)]
    for g in pack.grids:
        checks += [("grids.geojson", g.code, Grid, "code", g.code),
                   ("grids.geojson", g.code, Grid, "name", g.name)]
    for w in pack.workers:
        checks += [("workers.csv", w.subject, GridWorker, "name", w.name),
                   ("workers.csv", w.subject, GridWorker, "phone", w.phone or "-"),
                   ("workers.csv", w.subject, GridWorker, "subject", w.subject)]
    for u in pack.units or ():
        checks += [("units.csv", u.code, Unit, "code", u.code),
                   ("units.csv", u.code, Unit, "name_zh", u.name_zh)]
    problems = []
    for file, key, model, column, value in checks:
        length = getattr(model.__table__.c[column].type, "length", None)
        if not value:
            problems.append(f"{file}: {key or '(blank)'}: {column} is empty")
        elif isinstance(length, int) and len(value) > length:
            problems.append(f"{file}: {key}: {column} longer than {length} characters")
    return problems


def _valid_polygons(file: str, items: Iterable[tuple[str, Polygon]],
                    problems: list[str]) -> dict[str, Polygon]:
    valid = {}
    for code, polygon in items:
        minx, miny, maxx, maxy = polygon.bounds if not polygon.is_empty else (0, 0, 0, 0)
        if polygon.is_empty or not polygon.is_valid:
            reason = "empty" if polygon.is_empty else explain_validity(polygon)
            problems.append(f"{file}: {code}: invalid polygon ({reason})")
        elif not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            problems.append(f"{file}: {code}: coordinates out of range (GeoJSON is lon, lat)")
        else:
            valid[code] = polygon
    return valid


def _overlaps(file: str, what: str, polygons: dict[str, Polygon]) -> list[str]:
    codes = list(polygons)
    geoms = list(polygons.values())
    if not geoms:
        return []
    left, right = STRtree(geoms).query(geoms, predicate="intersects")
    problems = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i < j:
            shared = geoms[i].intersection(geoms[j])
            m2 = square_metres(shared.area, geoms[i].centroid.y)
            if m2 > AREA_EPSILON_M2:
                problems.append(f"{file}: {what} {codes[i]} overlaps {what} {codes[j]} "
                                f"by {m2:,.0f} m²")
    return problems


def _outside_community(pack: Pack, grids: dict[str, Polygon],
                       areas: dict[str, Polygon]) -> list[str]:
    problems = []
    for g in pack.grids:
        area, polygon = areas.get(g.community_code), grids.get(g.code)
        if area is None or polygon is None:
            continue
        m2 = square_metres(polygon.difference(area).area, polygon.centroid.y)
        if m2 > AREA_EPSILON_M2:
            problems.append(f"grids.geojson: grid {g.code} lies {m2:,.0f} m² outside its "
                            f"community {g.community_code}")
    return problems
