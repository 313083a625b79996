from __future__ import annotations

from typing import Any

import pytest

from gridops.review.metrics import Card, Tally, nearest_rank, rank, red_black, score
from gridops.settings import ReviewSettings

WEIGHTS = ReviewSettings().weights


def _card(key: str, **counts: Any) -> Card:
    return Card(key, key, Tally(**counts))


def test_default_score_weights_each_term() -> None:
    # close 3/4, on-time 1/2, rework 1/4, overdue 1/4 (of open 4: 1), extension 1/2.
    card = _card("UMLE", completed=3, open_end=1, resolve_due=2, resolve_met=1, resolutions=4,
                 reworks=1, overdue_open=1, extensions=1)
    expected = (30 * 0.75 + 20 * 0.5 + 20 * 0.75 + 20 * 0.0 + 10 * 0.5) / 100 * 100
    assert score(card, WEIGHTS) == pytest.approx(expected)
    assert card.overdue_rate == 1.0


def test_terms_without_data_are_left_out_not_rewarded() -> None:
    card = _card("HURD", resolve_due=4, resolve_met=3)  # on-time 3/4, extensions 0/4
    assert score(card, WEIGHTS) == pytest.approx(100 * (20 * 0.75 + 10 * 1.0) / 30)
    assert score(_card("X", received=3), WEIGHTS) is None


def test_ranking_ties_share_a_rank_and_idle_units_are_not_ranked() -> None:
    cards = [_card("A", resolve_due=2, resolve_met=2), _card("B", resolve_due=1, resolve_met=1),
             _card("C", resolve_due=2, resolve_met=1), _card("D")]
    ranked = rank(cards, WEIGHTS)
    assert [(c.key, c.rank) for c in ranked] == [("A", 1), ("B", 1), ("C", 3)]
    assert cards[3].rank is None


def test_red_and_black_lists_never_overlap() -> None:
    cards = [_card(f"U{i:02d}", resolve_due=10, resolve_met=i) for i in range(12)]
    red, black = red_black(rank(cards, WEIGHTS))
    assert [c.key for c in red] == ["U11", "U10", "U09", "U08", "U07"]
    assert [c.key for c in black] == ["U00", "U01", "U02", "U03", "U04"]
    few_red, few_black = red_black(rank(cards[:7], WEIGHTS))
    assert len(few_red) == 5
    assert [c.key for c in few_black] == ["U00", "U01"]


def test_nearest_rank_percentile() -> None:
    assert nearest_rank(range(1, 11), 0.9) == 9
    assert nearest_rank([5.0], 0.9) == 5.0
    assert nearest_rank([], 0.9) is None
