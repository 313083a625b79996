"""A district pack: a directory of YAML, CSV and GeoJSON describing one district's places.

```
pack.yaml            name, district {code, name}, counts {streets, communities, grids}
streets.csv          code, name
communities.csv      code, name, street_code
communities.geojson  optional community boundaries (properties code, name, street_code)
grids.geojson        Polygons with properties code, name, community_code, households
workers.csv          grid_code, post (A/B), name, phone, subject
units.csv            optional; receiving units, each of them one of the known units
```
Reading never stops at the first problem: every problem of the pack is collected and reported
together in one `PackError`, so a district fixes its data in one round.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from shapely.geometry import Polygon, shape

from gridops.places import checks

MANIFEST = "pack.yaml"
PACK_FILES = ("pack.yaml", "streets.csv", "communities.csv", "communities.geojson",
              "grids.geojson", "workers.csv", "units.csv")
OPTIONAL_FILES = frozenset({"communities.geojson", "units.csv"})
KNOWN_UNITS_CSV = Path(__file__).resolve().parent.parent / "demo" / "units.csv"
DEMO_PACK = Path(__file__).resolve().parent.parent / "demo" / "pack"


class PackError(Exception):
    """The pack cannot be loaded; `problems` lists every reason, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the pack: " + "; ".join(problems[:3]))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class UnitRow:
    code: str
    name_zh: str
    name_en: str
    owns_examples: str


@dataclass(frozen=True, slots=True)
class StreetRow:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class CommunityRow:
    code: str
    name: str
    street_code: str


@dataclass(frozen=True, slots=True)
class Area:
    """A boundary from a GeoJSON file: the shapely polygon and the GeoJSON geometry it came from."""

    code: str
    properties: dict[str, Any]
    polygon: Polygon
    geometry: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GridRow:
    code: str
    name: str
    community_code: str
    households: int | None
    polygon: Polygon
    geometry: dict[str, Any]


@dataclass(frozen=True, slots=True)
class WorkerRow:
    grid_code: str
    post: str
    name: str
    phone: str | None
    subject: str


@dataclass(frozen=True, slots=True)
class Pack:
    name: str
    district_code: str
    district_name: str
    declared: dict[str, int]
    streets: tuple[StreetRow, ...]
    communities: tuple[CommunityRow, ...]
    community_areas: tuple[Area, ...]
    grids: tuple[GridRow, ...]
    workers: tuple[WorkerRow, ...]
    units: tuple[UnitRow, ...] | None  # None: the pack carries no units.csv
    checksum: str


def read_pack(path: Path, known_units: frozenset[str] | None = None) -> Pack:
    """Parse and validate the pack at `path`; raise `PackError` listing every problem found."""
    problems: list[str] = []
    pack = _parse(path, problems)
    if pack is not None:
        units = known_units if known_units is not None else frozenset(
            u.code for u in read_units(KNOWN_UNITS_CSV))
        problems.extend(checks.validate(pack, units))
    if problems or pack is None:
        raise PackError(problems)
    return pack


def read_units(path: Path) -> tuple[UnitRow, ...]:
    rows = _csv_rows(path.read_text(encoding="utf-8"), path.name, [])
    return tuple(UnitRow(r["code"], r["name_zh"], r["name_en"], r.get("owns_examples", ""))
                 for r in rows)


def checksum(path: Path) -> str:
    digest = hashlib.sha256()
    for name in PACK_FILES:
        file = path / name
        if file.is_file():
            digest.update(name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def _parse(path: Path, problems: list[str]) -> Pack | None:
    if not path.is_dir():
        problems.append(f"{path}: not a directory")
        return None
    texts: dict[str, str] = {}
    for name in PACK_FILES:
        file = path / name
        if file.is_file():
            texts[name] = file.read_text(encoding="utf-8-sig")
        elif name not in OPTIONAL_FILES:
            problems.append(f"{name}: missing")
    manifest = _manifest(texts.get(MANIFEST, ""), problems)
    rows = {name: _csv_rows(texts.get(name, ""), name, problems)
            for name in ("streets.csv", "communities.csv", "workers.csv", "units.csv")}
    pack = Pack(
        name=str(manifest.get("name") or path.name),
        district_code=str(manifest.get("district", {}).get("code", "")),
        district_name=str(manifest.get("district", {}).get("name", "")),
        declared=_declared(manifest, problems),
        streets=tuple(StreetRow(r["code"], r["name"])
                      for r in _require(rows["streets.csv"], "streets.csv",
                                        ("code", "name"), problems)),
        communities=tuple(CommunityRow(r["code"], r["name"], r["street_code"])
                          for r in _require(rows["communities.csv"], "communities.csv",
                                            ("code", "name", "street_code"), problems)),
        community_areas=tuple(_areas(texts.get("communities.geojson"), "communities.geojson",
                                     problems)),
        grids=tuple(_grid(a, problems) for a in _areas(texts.get("grids.geojson"),
                                                       "grids.geojson", problems)),
        workers=tuple(WorkerRow(r["grid_code"], r["post"], r["name"], r["phone"] or None,
                                r["subject"])
                      for r in _require(rows["workers.csv"], "workers.csv",
                                        ("grid_code", "post", "name", "phone", "subject"),
                                        problems)),
        units=None if "units.csv" not in texts else tuple(
            UnitRow(r["code"], r["name_zh"], r["name_en"], r.get("owns_examples", ""))
            for r in _require(rows["units.csv"], "units.csv", ("code", "name_zh", "name_en"),
                              problems)),
        checksum=checksum(path),
    )
    if not pack.district_code:
        problems.append("pack.yaml: district.code missing")
    return pack


def _manifest(text: str, problems: list[str]) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) if text else {}
    except yaml.YAMLError as exc:
        problems.append(f"pack.yaml: not valid YAML ({exc})")
        return {}
    if not isinstance(data, dict):
        problems.append("pack.yaml: expected a mapping at the top")
        return {}
    if not isinstance(data.get("district", {}), dict):
        problems.append("pack.yaml: district must be a mapping with code and name")
        data["district"] = {}
    return data


def _declared(manifest: dict[str, Any], problems: list[str]) -> dict[str, int]:
    counts = manifest.get("counts")
    declared: dict[str, int] = {}
    for key in ("streets", "communities", "grids"):
        value = counts.get(key) if isinstance(counts, dict) else None
        if isinstance(value, int) and not isinstance(value, bool):
            declared[key] = value
        else:
            problems.append(f"pack.yaml: counts.{key} missing or not a whole number")
    return declared


def _csv_rows(text: str, name: str, problems: list[str]) -> list[dict[str, str]]:
    if not text:
        return []
    rows = []
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        if None in row or any(v is None for v in row.values()):
            problems.append(f"{name} line {line}: wrong number of fields")
            continue
        rows.append({k.strip(): v.strip() for k, v in row.items()})
    return rows


def _require(rows: list[dict[str, str]], name: str, columns: tuple[str, ...],
             problems: list[str]) -> list[dict[str, str]]:
    if rows and (missing := [c for c in columns if c not in rows[0]]):
        problems.append(f"{name}: missing column(s) {', '.join(missing)}")
        return []
    return rows


def _areas(text: str | None, name: str, problems: list[str]) -> list[Area]:
    if text is None:
        return []
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        problems.append(f"{name}: not a GeoJSON FeatureCollection")
        return []
    areas = []
    for n, feature in enumerate(features, start=1):
        props = (feature.get("properties") or {}) if isinstance(feature, dict) else {}
        code = str(props.get("code") or f"#{n}")
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") != "Polygon":
            kind = geometry.get("type") if isinstance(geometry, dict) else None
            problems.append(f"{name}: {code}: geometry must be a Polygon, not {kind}")
            continue
        try:
            polygon = shape(geometry)
        except Exception as exc:  # shapely raises several types for malformed coordinates
            problems.append(f"{name}: {code}: unreadable polygon ({exc})")
            continue
        areas.append(Area(code, dict(props), polygon, geometry))
    return areas


def _grid(area: Area, problems: list[str]) -> GridRow:
    households = area.properties.get("households")
    if households is not None and (not isinstance(households, int) or households < 0):
        problems.append(f"grids.geojson: {area.code}: households must be a whole number ≥ 0")
        households = None
    return GridRow(area.code, str(area.properties.get("name", "")),
                   str(area.properties.get("community_code", "")), households,
                   area.polygon, area.geometry)
