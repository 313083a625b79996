"""The weekly figures, pure: tallies per bucket, rates, percentiles, the composite score and the
ranking. Queries fill `Tally` objects; everything here is arithmetic on them."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

COUNTS = ("received", "merged", "voided", "sign_due", "sign_met", "dispatches", "returns",
          "resolve_due", "resolve_met", "extensions", "resolutions", "reworks", "rated",
          "cb_resolved", "satisfied", "completed", "open_end", "overdue_open", "covered",
          "repeats")


@dataclass(slots=True)
class Tally:
    """Raw counts of one bucket; every rate is a ratio of two of them, so buckets add up exactly."""

    received: int = 0
    merged: int = 0
    voided: int = 0
    sign_due: int = 0
    sign_met: int = 0
    dispatches: int = 0
    returns: int = 0
    resolve_due: int = 0
    resolve_met: int = 0
    extensions: int = 0
    resolutions: int = 0
    reworks: int = 0
    rated: int = 0
    cb_resolved: int = 0
    satisfied: int = 0
    completed: int = 0
    open_end: int = 0
    overdue_open: int = 0
    covered: int = 0
    repeats: int = 0
    handling: list[float] = field(default_factory=list)  # working hours per completed round

    def add(self, other: Tally) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.handling.extend(other.handling)

    def bump(self, name: str, by: int = 1) -> None:
        setattr(self, name, getattr(self, name) + by)


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def nearest_rank(values: Iterable[float], share: float) -> float | None:
    """The nearest-rank percentile: the ⌈share·n⌉-th smallest value (p90 of 10 values: the 9th)."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


@dataclass(slots=True)
class Card:
    """One unit's (or street's, community's, grid's) figures for the week."""

    key: str
    name: str
    tally: Tally
    score: float | None = None
    rank: int | None = None

    @property
    def sign_rate(self) -> float | None:
        return ratio(self.tally.sign_met, self.tally.sign_due)

    @property
    def dispatch_accuracy(self) -> float | None:
        t = self.tally
        return None if not t.dispatches else 1 - t.returns / t.dispatches

    @property
    def on_time_rate(self) -> float | None:
        return ratio(self.tally.resolve_met, self.tally.resolve_due)

    @property
    def rework_rate(self) -> float | None:
        return ratio(self.tally.reworks, self.tally.resolutions)

    @property
    def extension_rate(self) -> float | None:
        return ratio(self.tally.extensions, self.tally.resolve_due)

    @property
    def resolution_rate(self) -> float | None:
        return ratio(self.tally.cb_resolved, self.tally.rated)

    @property
    def satisfaction_rate(self) -> float | None:
        return ratio(self.tally.satisfied, self.tally.rated)

    @property
    def close_rate(self) -> float | None:
        """办结率: rounds finished in the week ÷ (finished + still open at week end)."""
        return ratio(self.tally.completed, self.tally.completed + self.tally.open_end)

    @property
    def overdue_rate(self) -> float | None:
        return ratio(self.tally.overdue_open, self.tally.open_end)

    @property
    def handling_median(self) -> float | None:
        return statistics.median(self.tally.handling) if self.tally.handling else None

    @property
    def handling_p90(self) -> float | None:
        return nearest_rank(self.tally.handling, 0.9)

    @property
    def active(self) -> bool:
        t = self.tally
        return bool(t.received or t.sign_due or t.resolve_due or t.completed or t.open_end
                    or t.dispatches or t.rated)

    def figures(self) -> dict[str, Any]:
        """Counts and rates, flat (the JSON card, a CSV row)."""
        counts = {f.name: getattr(self.tally, f.name) for f in fields(Tally)
                  if f.name != "handling"}
        return {"key": self.key, "name": self.name, **counts, **{r: getattr(self, r)
                                                                 for r in RATES},
                "score": self.score, "rank": self.rank}


RATES = ("sign_rate", "dispatch_accuracy", "on_time_rate", "rework_rate", "extension_rate",
         "resolution_rate", "satisfaction_rate", "close_rate", "overdue_rate",
         "handling_median", "handling_p90")


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


# What each configurable weight rewards: a number in [0, 1], or None without data.
GOODNESS: Mapping[str, Callable[[Card], float | None]] = {
    "close_rate": lambda c: c.close_rate,
    "on_time_close_rate": lambda c: c.on_time_rate,
    "no_rework": lambda c: None if c.rework_rate is None else 1 - _clamp(c.rework_rate),
    "no_overdue": lambda c: None if c.overdue_rate is None else 1 - c.overdue_rate,
    "no_extension": lambda c: None if c.extension_rate is None else 1 - _clamp(c.extension_rate),
    "sign_rate": lambda c: c.sign_rate,
    "dispatch_accuracy": lambda c: None if c.dispatch_accuracy is None
    else _clamp(c.dispatch_accuracy),
    "satisfaction_rate": lambda c: c.satisfaction_rate,
    "resolution_rate": lambda c: c.resolution_rate,
}


def score(card: Card, weights: Mapping[str, float]) -> float | None:
    """0–100: the weighted mean of the terms that have data this week (a unit with nothing due
    is judged on what it did have, not rewarded or punished for the rest)."""
    total = weight = 0.0
    for name, w in weights.items():
        judge = GOODNESS.get(name)
        value = judge(card) if judge is not None else None
        if value is None or w <= 0:
            continue
        total += w * value
        weight += w
    return 100 * total / weight if weight else None


def rank(cards: list[Card], weights: Mapping[str, float]) -> list[Card]:
    """Score every card; ranked are the active ones with a score, best first (ties share a rank,
    then by key)."""
    for card in cards:
        card.score = score(card, weights)
        card.rank = None
    ranked = sorted((c for c in cards if c.active and c.score is not None),
                    key=lambda c: (-round(c.score or 0, 9), c.key))
    for i, card in enumerate(ranked):
        prev = ranked[i - 1] if i else None
        same = prev is not None and round(prev.score or 0, 9) == round(card.score or 0, 9)
        card.rank = prev.rank if same and prev is not None else i + 1
    return ranked


def red_black(ranked: list[Card], size: int = 5) -> tuple[list[Card], list[Card]]:
    """红榜: the best `size`; 黑榜: the worst `size` that are not on the red list."""
    red = ranked[:size]
    rest = ranked[len(red):]
    black = list(reversed(rest[-size:])) if rest else []
    return red, black
