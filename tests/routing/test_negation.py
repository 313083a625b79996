"""An exclusion the text denies (路面干燥，无渗水) does not remove the item; one that the text says,
anywhere, still does. Denied phrases keep matching: 没有路灯 is a complaint about a lamp."""

from __future__ import annotations

import pytest

from gridops.routing.negation import denied
from gridops.routing.rules import CompiledRules, Decision, Hints
from tests.routing.routing_sample import ITEMS as SAMPLE
from tests.routing.routing_sample import item, phrases_only

STREET = "430204001"
SUNKEN = "建设路人行道下沉一大块，深约十厘米，"
ITEMS = [
    *SAMPLE,  # the sample's units need their five items each
    item("SJ04009", "路面塌陷", "UMLE", ["路面下沉", "下沉", "塌陷"], exclude=["渗水", "冒水"]),
    item("SJ07009", "供水管道漏水", "WTR", ["渗水", "冒水", "水管漏水"]),
]


@pytest.fixture(scope="module")
def rules() -> CompiledRules:
    return phrases_only(ITEMS)


@pytest.mark.parametrize(("text", "word"), [
    ("路面干燥无渗水", "渗水"), ("没有明显渗水", "渗水"), ("未见任何积水", "积水"),
    ("冇得水冒出来", "水冒"), ("不渗水", "渗水"), ("无渗水冒水", "渗水"),
    # looked for and not found
    ("下面看不到水", "水"), ("闻不到臭味", "臭味"), ("没发现排污口", "排污口"),
    ("未发现明显渗水", "渗水"),
    # coordinated with a denied word
    ("周边未见积水或渗水", "渗水"), ("没有臭味和黑水", "黑水"), ("看不到水也闻不到臭味", "臭味"),
])
def test_denied(text: str, word: str) -> None:
    assert denied(text, word)


@pytest.mark.parametrize(("text", "word"), [
    ("一直渗水", "渗水"), ("不停渗水", "渗水"), ("这边无渗水那边在渗水", "渗水"),
    ("没人管渗水", "渗水"), ("路面干燥", "渗水"),
    ("无积水但有渗水", "渗水"), ("看到渗水", "渗水"), ("没人管和渗水", "渗水"),
    ("路灯坏了和渗水", "渗水"),
])
def test_not_denied(text: str, word: str) -> None:
    assert not denied(text, word)


def excluded(d: Decision) -> bool:
    return any(r.startswith("排除 SJ04009 ") for r in d.reasons)


def test_a_denied_exclusion_keeps_the_item(rules: CompiledRules) -> None:
    said = rules.decide(SUNKEN + "下面一直在渗水", Hints(street_code=STREET))
    ruled_out = rules.decide(SUNKEN + "周边干燥，无渗水，也没有冒水", Hints(street_code=STREET))
    assert excluded(said)
    assert [c.unit_code for c in said.candidates] == ["WTR"]
    assert not excluded(ruled_out)
    assert "SJ04009" in [c.item_code for c in ruled_out.candidates]


def test_denied_once_and_said_once_still_excludes(rules: CompiledRules) -> None:
    d = rules.decide(SUNKEN + "这边无渗水，往前两米那处在渗水", Hints(street_code=STREET))
    assert excluded(d)


def test_a_denied_phrase_still_matches(rules: CompiledRules) -> None:
    d = rules.decide("我们这条巷子晚上没有路灯，黑漆漆的", Hints(street_code=STREET))
    assert "路灯" in d.matched


def test_water_denied_beside_another_word_keeps_the_item(rules: CompiledRules) -> None:
    d = rules.decide(SUNKEN + "周边未见积水或渗水", Hints(street_code=STREET))
    assert not excluded(d)
    assert d.candidates[0].item_code == "SJ04009"
