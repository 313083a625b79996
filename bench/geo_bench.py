"""Point-in-polygon throughput of GridIndex.locate, against a bare STRtree.query.

    .venv/bin/python bench/geo_bench.py [--points 50000]

Two indexes: the demo pack (232 grids) and a synthetic 5,000-grid district (100 × 50 jittered
quads). Points are uniform over each district's bounding box, so some fall outside.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from shapely import STRtree
from shapely.geometry import Point, Polygon

from gridops.places.geo import GridIndex, GridShape
from gridops.places.pack import DEMO_PACK, read_pack


def demo_grids() -> list[GridShape]:
    pack = read_pack(DEMO_PACK)
    street_of = {c.code: c.street_code for c in pack.communities}
    return [GridShape(g.code, g.community_code, street_of[g.community_code], g.polygon)
            for g in pack.grids]


def synthetic_grids(cols: int = 100, rows: int = 50) -> list[GridShape]:
    rng = random.Random(5000)
    d = 0.004  # ~400 m cells
    pts = [[(113.0 + (i + rng.uniform(-0.2, 0.2)) * d, 27.8 + (j + rng.uniform(-0.2, 0.2)) * d)
            for j in range(rows + 1)] for i in range(cols + 1)]
    grids = []
    for i in range(cols):
        for j in range(rows):
            ring = [pts[i][j], pts[i + 1][j], pts[i + 1][j + 1], pts[i][j + 1]]
            code = f"{i:03d}{j:03d}"
            grids.append(GridShape(code, code[:4], code[:2], Polygon(ring)))
    return grids


def rate(fn: Callable[[float, float], object], points: list[tuple[float, float]]) -> float:
    start = time.perf_counter()
    for lat, lon in points:
        fn(lat, lon)
    return len(points) / (time.perf_counter() - start)


def bench(name: str, grids: list[GridShape], n: int) -> None:
    start = time.perf_counter()
    index = GridIndex(grids)
    index.locate(0.0, 0.0)  # the STRtree is built on its first query
    built_ms = (time.perf_counter() - start) * 1000
    tree = STRtree([g.polygon for g in grids])
    minx = min(g.polygon.bounds[0] for g in grids)
    miny = min(g.polygon.bounds[1] for g in grids)
    maxx = max(g.polygon.bounds[2] for g in grids)
    maxy = max(g.polygon.bounds[3] for g in grids)
    rng = random.Random(1)
    points = [(rng.uniform(miny, maxy), rng.uniform(minx, maxx)) for _ in range(n)]
    hits = sum(index.locate(lat, lon) is not None for lat, lon in points)
    bare = rate(lambda lat, lon: tree.query(Point(lon, lat)), points)
    with_predicate = rate(lambda lat, lon: tree.query(Point(lon, lat), predicate="intersects"),
                          points)
    locate = rate(index.locate, points)
    print(f"{name}: {len(grids)} grids, index built in {built_ms:.1f} ms, "
          f"{hits / n:.0%} of points inside")
    print(f"  GridIndex.locate           {locate:>10,.0f} lookups/s  {1e6 / locate:6.2f} µs")
    print(f"  bare STRtree.query (bbox)  {bare:>10,.0f} lookups/s  {1e6 / bare:6.2f} µs")
    print(f"  STRtree.query intersects   {with_predicate:>10,.0f} lookups/s  "
          f"{1e6 / with_predicate:6.2f} µs")
    print(f"  locate / bare query time   {bare / locate:.2f}×")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=50_000)
    n = parser.parse_args().points
    bench("demo pack", demo_grids(), n)
    bench("synthetic", synthetic_grids(), n)


if __name__ == "__main__":
    main()
