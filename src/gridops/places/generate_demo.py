"""Regenerate the demo district pack (modelled on 株洲市石峰区, 430204).

`python -m gridops.places.generate_demo [OUT_DIR]` rewrites the committed pack; the output is a pure
function of the constants below, so running it twice gives byte-identical files.

The geometry is a jittered lattice of quadrilateral cells: every cell is one grid, and neighbours
share the very same (rounded) vertices, so the grids tile the district exactly, without gaps or
overlaps. Streets, then communities inside each street, are grown from seed cells into
edge-connected regions of about equal size: each street and community is one polygon of whole grids.
"""

from __future__ import annotations

import csv
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from shapely import unary_union
from shapely.geometry import Polygon, mapping
from shapely.geometry.polygon import orient

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "demo" / "pack"

DISTRICT_CODE, DISTRICT_NAME = "430204", "株洲市石峰区"
CENTER_LAT, CENTER_LON = 27.87, 113.13
COLS, ROWS = 20, 16
CELL_KM_X, CELL_KM_Y = 0.6, 0.625  # 20 × 0.6 km = 12 km east-west, 16 × 0.625 km = 10 km
KM_PER_DEG_LAT = 111.2
KM_PER_DEG_LON = 98.35  # 111.32 × cos(27.87°)
JITTER = 0.18  # share of a cell by which a lattice vertex may move; < 0.25 keeps every quad convex
SEED = 430204

# Per lattice column: first row inside the district and how many rows (sum = 232 grids).
COLUMN_RUNS: tuple[tuple[int, int], ...] = (
    (5, 7), (4, 9), (3, 11), (2, 12), (2, 13), (1, 13), (1, 14), (0, 14), (1, 13), (2, 12),
    (2, 12), (2, 13), (1, 14), (1, 13), (1, 13), (2, 12), (2, 11), (3, 10), (4, 9), (5, 7),
)

Slot = tuple[int, int]  # (column, row) of a lattice cell

# Where each street's region starts growing, in the order of STREETS.
STREET_SEEDS: tuple[Slot, ...] = ((1, 8), (6, 2), (7, 13), (13, 3), (17, 10))

# West to east along the serpentine; codes follow the official order of the brief (田心 = 001).
STREETS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("430204003", "清水塘街道", ("清水塘社区", "霞湾社区", "新民社区", "湘天社区", "铜霞社区",
                                "竹园社区", "大湖社区", "荷塘社区", "沿江社区")),
    ("430204004", "铜塘湾街道", ("铜塘湾社区", "明星社区", "太兴村", "云田村", "建设村", "全丰村",
                                "桥头村", "瓦子村")),
    ("430204005", "井龙街道", ("井龙社区", "龙头铺村", "湾塘村", "金龙村", "栗塘村", "白马垅村",
                              "新塘村", "樟树村")),
    ("430204002", "响石岭街道", ("响石岭社区", "九塘社区", "向阳社区", "建宁社区", "湘天桥社区",
                                "红旗社区", "杉木塘社区", "石峰社区", "龙泉社区", "新建社区")),
    ("430204001", "田心街道", ("北门社区", "东门社区", "高家坪社区", "新华社区", "田心社区",
                              "机务社区", "和平社区", "南门社区", "兴隆社区", "田园社区")),
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗谭彭邓曾肖易唐谢冯"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华红玲建国志文斌辉丹萍"
PHONE_PREFIXES = ("139", "138", "137", "135", "158", "187", "173")


@dataclass(frozen=True, slots=True)
class Cell:
    col: int
    row: int
    ring: tuple[tuple[float, float], ...]  # lon, lat; counter-clockwise, closed


def lattice(rng: random.Random) -> list[list[tuple[float, float]]]:
    dlon, dlat = CELL_KM_X / KM_PER_DEG_LON, CELL_KM_Y / KM_PER_DEG_LAT
    lon0, lat0 = CENTER_LON - COLS / 2 * dlon, CENTER_LAT - ROWS / 2 * dlat
    points = []
    for i in range(COLS + 1):
        column = []
        for j in range(ROWS + 1):
            jx, jy = rng.uniform(-JITTER, JITTER), rng.uniform(-JITTER, JITTER)
            column.append((round(lon0 + (i + jx) * dlon, 6), round(lat0 + (j + jy) * dlat, 6)))
        points.append(column)
    return points


def district_cells(points: list[list[tuple[float, float]]]) -> dict[Slot, Cell]:
    cells = {}
    for c, (lo, n) in enumerate(COLUMN_RUNS):
        for r in range(lo, lo + n):
            sw, se = points[c][r], points[c + 1][r]
            ne, nw = points[c + 1][r + 1], points[c][r + 1]
            cells[(c, r)] = Cell(c, r, (sw, se, ne, nw, sw))
    return cells


def grow(slots: set[Slot], seeds: list[Slot]) -> list[list[Slot]]:
    """Split edge-connected slots into len(seeds) edge-connected regions of about equal size.

    The smallest region that can still grow takes its frontier cell nearest its seed; regions grown
    from a seed this way are connected by construction, so every community is a single polygon.
    """
    regions = [[seed] for seed in seeds]
    free = slots - set(seeds)
    while free:
        for k in sorted(range(len(regions)), key=lambda k: (len(regions[k]), k)):
            frontier = sorted({n for c, r in regions[k]
                               for n in ((c + 1, r), (c - 1, r), (c, r + 1), (c, r - 1))
                               if n in free})
            if frontier:
                sc, sr = seeds[k]
                pick = min(frontier, key=lambda s: ((s[0] - sc) ** 2 + (s[1] - sr) ** 2, s))
                regions[k].append(pick)
                free.discard(pick)
                break
        else:
            raise AssertionError("slots are not connected")
    return regions


def spread_seeds(slots: list[Slot], k: int) -> list[Slot]:
    """k slots far from each other (farthest-point sampling from the slot nearest the middle)."""
    mc = sum(c for c, _ in slots) / len(slots)
    mr = sum(r for _, r in slots) / len(slots)
    seeds = [min(slots, key=lambda s: ((s[0] - mc) ** 2 + (s[1] - mr) ** 2, s))]
    while len(seeds) < k:
        seeds.append(max(slots, key=lambda s: (min((s[0] - a) ** 2 + (s[1] - b) ** 2
                                                   for a, b in seeds), s)))
    return seeds


def fake_person(rng: random.Random) -> tuple[str, str]:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    phone = rng.choice(PHONE_PREFIXES) + "xxxx" + f"{rng.randrange(10000):04d}"
    return name, phone


def feature(properties: dict[str, Any], polygon: Polygon) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties,
            "geometry": mapping(orient(polygon, sign=1.0))}


Rows = list[tuple[str, ...]]


def build(out: Path) -> None:
    rng = random.Random(SEED)
    cells = district_cells(lattice(rng))
    streets: Rows = []
    communities: Rows = []
    workers: Rows = []
    grid_features: list[dict[str, Any]] = []
    community_features: list[dict[str, Any]] = []
    street_regions = grow(set(cells), list(STREET_SEEDS))
    for (street_code, street_name, names), street_slots in zip(STREETS, street_regions,
                                                               strict=True):
        streets.append((street_code, street_name))
        seeds = spread_seeds(sorted(street_slots), len(names))
        regions = grow(set(street_slots), seeds)
        for k, (community_name, slots) in enumerate(zip(names, regions, strict=True), start=1):
            community_code = f"{street_code}{k:03d}"
            communities.append((community_code, community_name, street_code))
            polygons = [Polygon(cells[slot].ring)
                        # Number grids north-west first, the way a printed grid map reads.
                        for slot in sorted(slots, key=lambda s: (-s[1], s[0]))]
            for n, polygon in enumerate(polygons, start=1):
                grid_code = f"{community_code}{n:03d}"
                grid_features.append(grid_feature(rng, grid_code, community_code,
                                                  f"{community_name}第{n}网格", polygon))
                for post in ("A", "B"):
                    name, phone = fake_person(rng)
                    workers.append((grid_code, post, name, phone, f"gw-{grid_code}-{post.lower()}"))
            area = unary_union(polygons)
            if not isinstance(area, Polygon):
                raise AssertionError(f"community {community_code} is not one piece")
            community_features.append(feature({"code": community_code, "name": community_name,
                                               "street_code": street_code}, area))
    write_pack(out, streets, communities, workers, grid_features, community_features)


def grid_feature(rng: random.Random, code: str, community_code: str, name: str,
                 polygon: Polygon) -> dict[str, Any]:
    rural = "村" in name
    households = rng.randint(180, 320) if rural else rng.randint(330, 480)
    return feature({"code": code, "name": name, "community_code": community_code,
                    "households": households}, polygon)


def write_pack(out: Path, streets: Rows, communities: Rows, workers: Rows,
               grid_features: list[dict[str, Any]],
               community_features: list[dict[str, Any]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "name": "shifeng-demo",
        "description": "演示辖区, modelled on 株洲市石峰区; made by gridops.places.generate_demo",
        "district": {"code": DISTRICT_CODE, "name": DISTRICT_NAME},
        "counts": {"streets": len(streets), "communities": len(communities),
                   "grids": len(grid_features)},
    }
    (out / "pack.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False),
                                   encoding="utf-8")
    write_csv(out / "streets.csv", ("code", "name"), streets)
    write_csv(out / "communities.csv", ("code", "name", "street_code"), communities)
    write_csv(out / "workers.csv", ("grid_code", "post", "name", "phone", "subject"), workers)
    write_geojson(out / "grids.geojson", grid_features)
    write_geojson(out / "communities.geojson", community_features)


def write_csv(path: Path, header: tuple[str, ...], rows: Rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_geojson(path: Path, features: list[dict[str, Any]]) -> None:
    # One feature per line: diffs of a regenerated pack stay readable.
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    path.write_text('{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n",
                    encoding="utf-8")


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
