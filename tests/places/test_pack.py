"""The demo pack's data, and a pack broken in many ways at once (pure: no database)."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from shapely import STRtree, unary_union

from gridops.places import generate_demo
from gridops.places.geo import square_metres
from gridops.places.pack import DEMO_PACK, KNOWN_UNITS_CSV, PackError, read_pack, read_units

DEPARTMENTS = Path("/work/shared/departments.csv")


def test_demo_pack_validates_with_exactly_the_declared_counts() -> None:
    pack = read_pack(DEMO_PACK)
    assert (pack.district_code, pack.district_name) == ("430204", "株洲市石峰区")
    assert pack.declared == {"streets": 5, "communities": 45, "grids": 232}
    assert (len(pack.streets), len(pack.communities), len(pack.grids)) == (5, 45, 232)
    assert {s.name for s in pack.streets} == {"田心街道", "响石岭街道", "清水塘街道",
                                              "铜塘湾街道", "井龙街道"}
    assert sorted(s.code for s in pack.streets) == [f"430204{n:03d}" for n in range(1, 6)]
    assert Counter((w.grid_code, w.post) for w in pack.workers) == Counter(
        {(g.code, post): 1 for g in pack.grids for post in "AB"})
    assert all(w.subject == f"gw-{w.grid_code}-{w.post.lower()}" for w in pack.workers)
    assert all(w.phone and w.phone[3:7] == "xxxx" for w in pack.workers)


def test_demo_grids_tile_the_district_without_overlap_around_shifeng() -> None:
    pack = read_pack(DEMO_PACK)
    polygons = [g.polygon for g in pack.grids]
    union = unary_union(polygons)
    assert union.geom_type == "Polygon"
    assert not union.interiors
    # Sum of the parts equals the whole: nothing is counted twice.
    assert sum(p.area for p in polygons) == pytest.approx(union.area, rel=1e-9)
    left, right = STRtree(polygons).query(polygons, predicate="intersects")
    worst = max(square_metres(polygons[i].intersection(polygons[j]).area, 27.87)
                for i, j in zip(left, right, strict=True) if i != j)
    assert worst < 0.01
    minx, miny, maxx, maxy = union.bounds
    assert 11.5 < (maxx - minx) * 98.35 < 12.5
    assert 9 < (maxy - miny) * 111.2 < 10
    assert union.centroid.y == pytest.approx(27.87, abs=0.01)
    assert union.centroid.x == pytest.approx(113.13, abs=0.01)


def test_every_grid_lies_in_its_community_boundary() -> None:
    pack = read_pack(DEMO_PACK)
    areas = {a.code: a.polygon for a in pack.community_areas}
    for grid in pack.grids:
        assert square_metres(grid.polygon.difference(areas[grid.community_code]).area,
                             27.87) < 1


def test_units_csv_is_a_verbatim_copy_of_departments() -> None:
    if DEPARTMENTS.exists():
        assert KNOWN_UNITS_CSV.read_bytes() == DEPARTMENTS.read_bytes()
    units = read_units(KNOWN_UNITS_CSV)
    assert [u.code for u in units] == [
        "UMLE", "HURD", "PSB", "EEB", "MRB", "CAB", "HRSS", "HCB", "EDU", "TRB", "EMB", "NRPB",
        "ARWB", "JUB", "DPF", "HSB", "CTRB", "FRB", "PWR", "WTR", "GAS", "TEL", "STR"]


def test_generator_reproduces_the_committed_pack(tmp_path: Path) -> None:
    generate_demo.build(tmp_path)
    for file in DEMO_PACK.iterdir():
        assert (tmp_path / file.name).read_bytes() == file.read_bytes(), file.name


def break_pack(path: Path) -> None:
    """Several independent faults, each of which must be reported."""
    shutil.copy(KNOWN_UNITS_CSV, path / "units.csv")
    with (path / "units.csv").open("a", encoding="utf-8") as f:
        f.write("XYZ,不存在的局,Nowhere Bureau,\n")
    grids = json.loads((path / "grids.geojson").read_text(encoding="utf-8"))
    features = grids["features"]
    # Grid 2 takes grid 1's shape (overlap), grid 3 takes grid 4's code (duplicate).
    features[1]["geometry"] = features[0]["geometry"]
    features[2]["properties"]["code"] = features[3]["properties"]["code"]
    features[5]["properties"]["community_code"] = "430204009009"
    (path / "grids.geojson").write_text(json.dumps(grids, ensure_ascii=False), encoding="utf-8")
    manifest = (path / "pack.yaml").read_text(encoding="utf-8")
    (path / "pack.yaml").write_text(manifest.replace("streets: 5", "streets: 6"),
                                    encoding="utf-8")
    with (path / "workers.csv").open("a", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerow(
            [features[0]["properties"]["code"], "C", "王五", "", "gw-extra"])


def test_broken_pack_is_refused_with_every_problem(tmp_path: Path) -> None:
    shutil.copytree(DEMO_PACK, tmp_path / "pack")
    break_pack(tmp_path / "pack")
    with pytest.raises(PackError) as caught:
        read_pack(tmp_path / "pack")
    text = "\n".join(caught.value.problems)
    assert "unknown unit code 'XYZ'" in text
    assert "grid 430204003001001 overlaps grid 430204003001002" in text
    assert "grid 430204003001004 appears 2 times" in text
    assert "declares 6 streets but the pack has 5" in text
    assert "refers to unknown community '430204009009'" in text
    assert "has post 'C'" in text
    assert len(caught.value.problems) >= 6


def test_invalid_polygon_and_grid_outside_community_are_reported(tmp_path: Path) -> None:
    shutil.copytree(DEMO_PACK, tmp_path / "pack")
    path = tmp_path / "pack" / "grids.geojson"
    grids = json.loads(path.read_text(encoding="utf-8"))
    bowtie = [[113.0, 27.0], [113.01, 27.01], [113.01, 27.0], [113.0, 27.01], [113.0, 27.0]]
    grids["features"][0]["geometry"]["coordinates"] = [bowtie]
    ring = grids["features"][10]["geometry"]["coordinates"][0]
    grids["features"][10]["geometry"]["coordinates"] = [
        [[x + 0.05, y] for x, y in ring]]  # moved 5 km east, out of its community
    path.write_text(json.dumps(grids), encoding="utf-8")
    with pytest.raises(PackError) as caught:
        read_pack(tmp_path / "pack")
    text = "\n".join(caught.value.problems)
    assert "grids.geojson: 430204003001001: invalid polygon (Self-intersection" in text
    code = grids["features"][10]["properties"]["code"]
    assert f"grid {code} lies" in text
    assert "outside its community" in text


def test_missing_files_and_duplicate_workers_are_listed(tmp_path: Path) -> None:
    shutil.copytree(DEMO_PACK, tmp_path / "pack")
    (tmp_path / "pack" / "streets.csv").unlink()
    workers = tmp_path / "pack" / "workers.csv"
    lines = workers.read_text(encoding="utf-8").splitlines()
    workers.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")
    with pytest.raises(PackError) as caught:
        read_pack(tmp_path / "pack")
    text = "\n".join(caught.value.problems)
    assert "streets.csv: missing" in text
    # Without streets, every community now points nowhere, and every one is said so.
    assert text.count("refers to unknown street") == 45
    assert "post 430204003001001/A appears 2 times" in text
    assert "subject gw-430204003001001-a appears 2 times" in text
