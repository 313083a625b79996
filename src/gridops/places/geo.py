"""Where is this? A GPS point to its grid, community and street; a place name in free text.

Coordinates are WGS 84 and follow GeoJSON order inside geometries (lon, lat); the public
functions take `lat, lon` the way a phone reports them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from shapely import STRtree
from shapely.geometry import Point, Polygon, box

METRES_PER_DEG_LAT = 111_320.0
STREET_SUFFIXES = ("街道办事处", "街道办", "街道")
COMMUNITY_SUFFIXES = ("社区居委会", "社区", "村委会", "村")
# Two-character short forms (新华, 建设, 向阳) are everyday words: "违法建设" is not 建设村.
MIN_SHORT_NAME = 3


def square_metres(area_deg2: float, lat: float) -> float:
    """Square degrees to square metres near `lat` (equirectangular; fine at district scale)."""
    return area_deg2 * METRES_PER_DEG_LAT ** 2 * math.cos(math.radians(lat))


def metres_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dx = (lon2 - lon1) * METRES_PER_DEG_LAT * math.cos(math.radians((lat1 + lat2) / 2))
    dy = (lat2 - lat1) * METRES_PER_DEG_LAT
    return math.hypot(dx, dy)


@dataclass(frozen=True, slots=True)
class GridShape:
    code: str
    community_code: str
    street_code: str
    polygon: Polygon


@dataclass(frozen=True, slots=True)
class GridHit:
    grid_code: str
    community_code: str
    street_code: str
    distance_m: float = 0.0  # > 0 only for `nearest` hits outside every grid


@dataclass(frozen=True, slots=True)
class PlaceName:
    code: str
    name: str
    level: str  # "street" or "community"
    street_code: str


@dataclass(frozen=True, slots=True)
class AddressHit:
    street_code: str
    community_code: str | None
    matched: str


class GridIndex:
    """Point-in-polygon over every grid: an STRtree of bounding boxes, then prepared polygons.

    A point on the edge shared by two grids belongs to the grid with the lower code, so the
    answer never depends on the order rows came from the database.
    """

    def __init__(self, grids: Sequence[GridShape], places: Sequence[PlaceName] = ()) -> None:
        self._grids = sorted(grids, key=lambda g: g.code)
        self._polygons = [g.polygon for g in self._grids]
        shapely.prepare(self._polygons)
        self._tree = STRtree(self._polygons)
        self._names = AddressMatcher(places)

    def __len__(self) -> int:
        return len(self._grids)

    def locate(self, lat: float, lon: float) -> GridHit | None:
        point = Point(lon, lat)
        # Bounding boxes first, then the exact test on the (prepared) candidates, lowest code first;
        # the method call is several times cheaper than the vectorised shapely function on scalars.
        for i in sorted(self._tree.query(point).tolist()):
            if self._polygons[i].intersects(point):
                g = self._grids[i]
                return GridHit(g.code, g.community_code, g.street_code)
        return None

    def nearest(self, lat: float, lon: float, max_distance_m: float = 200.0) -> GridHit | None:
        """The grid containing the point, or else the closest grid within `max_distance_m`.

        For GPS fixes that drift just outside the district edge; inside, it equals `locate`.
        """
        if hit := self.locate(lat, lon):
            return hit
        dy = max_distance_m / METRES_PER_DEG_LAT
        dx = dy / math.cos(math.radians(lat))
        best: tuple[float, int] | None = None
        for i in self._tree.query(box(lon - dx, lat - dy, lon + dx, lat + dy)).tolist():
            line = shapely.shortest_line(self._polygons[i], Point(lon, lat))
            (plon, plat), _ = line.coords
            metres = metres_between(lat, lon, plat, plon)
            if metres <= max_distance_m and (best is None or (metres, i) < best):
                best = (metres, i)
        if best is None:
            return None
        g = self._grids[best[1]]
        return GridHit(g.code, g.community_code, g.street_code, round(best[0], 1))

    def locate_address(self, text: str) -> AddressHit | None:
        return self._names.find(text)


class AddressMatcher:
    """Best effort: finds a community or street name written in an address or complaint.

    Limits, on purpose: it matches names only (full names, or short forms of three or more
    characters without 社区/村/街道 that no other place shares). It knows no roads, buildings or
    house numbers, does not geocode, never yields a grid (a community spans several), and accepts
    no typos, pinyin or traditional characters. A name that is also part of another word can still
    match wrongly, which is why callers treat the result as a hint, never as a point.
    """

    def __init__(self, places: Sequence[PlaceName]) -> None:
        forms: dict[str, list[PlaceName]] = {}
        for place in places:
            for form in _forms(place):
                forms.setdefault(form, []).append(place)
        self._forms: list[tuple[str, PlaceName]] = []
        for form, owners in forms.items():
            street_codes = {p.street_code for p in owners}
            if len(owners) == 1:
                self._forms.append((form, owners[0]))
            elif len(street_codes) == 1:
                # 响石岭 names a street and a community in it: the street, at least, is certain.
                street = street_codes.pop()
                self._forms.append((form, PlaceName(street, form, "street", street)))
            # Otherwise the form names places in different streets and says nothing.

    def find(self, text: str) -> AddressHit | None:
        found = [(form, place, pos) for form, place in self._forms
                 if (pos := text.find(form)) >= 0]
        if not found:
            return None
        streets = {p.code for _, p, _ in found if p.level == "street"}
        communities = [(f, p, pos) for f, p, pos in found if p.level == "community"]
        # Longest community name first; one inside a street also named in the text wins.
        communities.sort(key=lambda m: (m[1].street_code not in streets, -len(m[0]), m[2]))
        if communities:
            form, place, _ = communities[0]
            return AddressHit(place.street_code, place.code, form)
        form, place, _ = min(found, key=lambda m: (-len(m[0]), m[2]))
        return AddressHit(place.code, None, form)


def _forms(place: PlaceName) -> list[str]:
    suffixes = STREET_SUFFIXES if place.level == "street" else COMMUNITY_SUFFIXES
    forms = [place.name]
    for suffix in suffixes:
        if place.name.endswith(suffix):
            short = place.name.removesuffix(suffix)
            forms += [short + s for s in suffixes if s != suffix]
            if len(short) >= MIN_SHORT_NAME:
                forms.append(short)
            break
    return list(dict.fromkeys(forms))
