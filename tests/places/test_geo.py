"""Point-in-polygon and the address matcher (pure: no database)."""

from __future__ import annotations

from functools import cache

import pytest
from shapely.geometry import box

from gridops.places.geo import GridIndex, GridShape, PlaceName
from gridops.places.pack import DEMO_PACK, read_pack


@cache
def demo_index() -> GridIndex:
    pack = read_pack(DEMO_PACK)
    street_of = {c.code: c.street_code for c in pack.communities}
    grids = [GridShape(g.code, g.community_code, street_of[g.community_code], g.polygon)
             for g in pack.grids]
    places = [PlaceName(s.code, s.name, "street", s.code) for s in pack.streets] + [
        PlaceName(c.code, c.name, "community", c.street_code) for c in pack.communities]
    return GridIndex(grids, places)


def test_every_grids_inner_point_locates_to_that_grid() -> None:
    pack = read_pack(DEMO_PACK)
    index = demo_index()
    for grid in pack.grids:
        point = grid.polygon.representative_point()
        hit = index.locate(point.y, point.x)
        assert hit is not None
        assert (hit.grid_code, hit.community_code) == (grid.code, grid.community_code)
        assert hit.street_code == grid.community_code[:9]


def test_known_point_in_the_centre_and_a_point_outside() -> None:
    hit = demo_index().locate(27.87, 113.13)
    assert hit is not None
    assert hit.grid_code == "430204004002004"
    assert hit.street_code == "430204004"  # 铜塘湾街道
    assert demo_index().locate(28.2, 112.9) is None  # 长沙, far outside
    assert demo_index().locate(0.0, 0.0) is None


def test_point_on_a_shared_edge_goes_to_the_lower_code() -> None:
    pack = read_pack(DEMO_PACK)
    # A lattice vertex is exactly on the boundary of every grid that has it as a corner.
    corners: dict[tuple[float, float], list[str]] = {}
    for grid in pack.grids:
        for corner in set(grid.polygon.exterior.coords):
            corners.setdefault(corner, []).append(grid.code)
    shared = [(c, codes) for c, codes in corners.items() if len(codes) >= 2]
    assert len(shared) > 200
    for (lon, lat), codes in shared:
        hit = demo_index().locate(lat, lon)
        assert hit is not None
        assert hit.grid_code == min(codes)


def test_nearest_catches_a_fix_just_outside_the_edge_and_not_one_far_away() -> None:
    index = demo_index()
    # The district's northernmost point, then 50 m further north.
    pack = read_pack(DEMO_PACK)
    top = max(pack.grids, key=lambda g: g.polygon.bounds[3])
    lon, lat = max(top.polygon.exterior.coords, key=lambda c: c[1])
    outside = lat + 50 / 111_320
    assert index.locate(outside, lon) is None
    hit = index.nearest(outside, lon, max_distance_m=200)
    assert hit is not None
    assert hit.grid_code == top.code
    assert 45 < hit.distance_m < 55
    assert index.nearest(outside, lon, max_distance_m=20) is None
    inside = index.nearest(27.87, 113.13)
    assert inside is not None
    assert inside.distance_m == 0


def test_sparse_index_from_plain_boxes() -> None:
    grids = [GridShape(f"g{i}", "c", "s", box(i, 0, i + 1, 1)) for i in range(3)]
    index = GridIndex(grids)
    assert len(index) == 3
    hit = index.locate(0.5, 1.5)
    assert hit is not None
    assert hit.grid_code == "g1"
    assert index.locate(0.5, 3.5) is None
    assert index.locate_address("北门社区") is None  # no names given


@pytest.mark.parametrize(("text", "street", "community"), [
    ("石峰区田心街道北门社区3栋2单元", "430204001", "430204001001"),
    ("湘天桥社区门口有人占道经营", "430204002", "430204002005"),
    ("龙头铺村路口垃圾满溢", "430204005", "430204005002"),
    ("井龙街道办附近", "430204005", None),
    ("响石岭附近有垃圾", "430204002", None),  # street and its community share the short form
    ("清水塘社区", "430204003", "430204003001"),
    ("田心街道和平社区", "430204001", "430204001007"),
])
def test_address_names_a_community_or_street(text: str, street: str,
                                             community: str | None) -> None:
    hit = demo_index().locate_address(text)
    assert hit is not None
    assert (hit.street_code, hit.community_code) == (street, community)


@pytest.mark.parametrize("text", [
    "小区里有违法建设",        # 建设村's short form is too common a word to count
    "新建小区门口路灯不亮",    # likewise 新建社区
    "人民路128号",             # roads and house numbers are not geocoded
    "",
])
def test_address_without_a_place_name_finds_nothing(text: str) -> None:
    assert demo_index().locate_address(text) is None
