"""Where each figure lands: a unit's card and a place's card, kept apart.

No scope needs a unit crossed with a grid, so the review tallies each figure twice, once by the
unit it is attributed to and once by the incident's place (street, community, grid). Both sides
hold every figure exactly once, so each side alone adds up to the district; the street,
community and grid cards are sums over the place side. SQL returns a few hundred grouped rows
this way instead of one per (unit, grid) pair."""

from __future__ import annotations

from dataclasses import dataclass, field

from gridops.review.metrics import Tally

# (unit_code, owning street office, street_code, community_code, grid_code) of one fact
Key = tuple[str | None, str | None, str | None, str | None, str | None]
Place = tuple[str | None, str | None, str | None]  # (street, community, grid)
UNASSIGNED = "UNASSIGNED"


def unit_key(unit: str | None, street_of_unit: str | None, street: str | None) -> str:
    """STR is five street offices: each is ranked as the unit it is (STR/<street code>)."""
    if unit is None:
        return UNASSIGNED
    if unit == "STR":
        return f"STR/{street_of_unit or street or '?'}"
    return unit


@dataclass(slots=True)
class Ledger:
    units: dict[str, Tally] = field(default_factory=dict)
    places: dict[Place, Tally] = field(default_factory=dict)

    def unit(self, key: str) -> Tally:
        found = self.units.get(key)
        if found is None:
            found = self.units[key] = Tally()
        return found

    def place(self, place: Place) -> Tally:
        found = self.places.get(place)
        if found is None:
            found = self.places[place] = Tally()
        return found

    def sides(self, key: Key) -> tuple[Tally, Tally]:
        return self.unit(unit_key(key[0], key[1], key[2])), self.place((key[2], key[3], key[4]))

    def bump(self, key: Key, name: str, by: int = 1) -> None:
        for tally in self.sides(key):
            tally.bump(name, by)

    def handled(self, key: Key, hours: list[float]) -> None:
        """Resolve rounds finished in the week, with their handling times."""
        for tally in self.sides(key):
            tally.completed += len(hours)
            tally.handling.extend(hours)
