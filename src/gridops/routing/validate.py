"""Every check of a rule table (docs/routing.md § The table), each problem a short sentence."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from gridops.routing.normalise import normalise

CODE = re.compile(r"^(BJ|SJ)(\d{2})\d{3}$")
ASSET_MAJORS = {"01": "公用设施", "02": "道路交通", "03": "市容环境", "04": "园林绿化",
                "05": "房屋土地", "06": "其他设施"}
EVENT_MAJORS = {"01": "市容环境", "02": "宣传广告", "03": "施工管理", "04": "突发事件",
                "05": "街面秩序", "06": "矛盾纠纷", "07": "安全隐患", "08": "社会治安",
                "09": "民生服务", "10": "生态环境", "11": "市场监管", "12": "其他事件"}
LEVELS = {"grid", "community", "street", "unit"}
URGENCIES = {"normal", "urgent"}
MIN_ITEMS_PER_UNIT = 5
# name -> (low, high), inclusive
LIMITS = {"sign_hours": (0.25, 24.0), "resolve_hours": (1.0, 480.0),
          "urgent_sign_hours": (0.25, 24.0), "urgent_resolve_hours": (1.0, 240.0)}
REQUIRED = ("code", "name", "kind", "major", "unit", "level", "urgency", "sign_hours",
            "resolve_hours", "urgent_sign_hours", "urgent_resolve_hours", "photo_required")
KNOWN_KEYS = {*REQUIRED, "minor", "co_units", "filing", "closing", "phrases", "strong",
              "combos", "exclude"}


def validate_document(document: Mapping[str, Any], units: frozenset[str]) -> list[str]:
    problems: list[str] = []
    label = document.get("label")
    if not isinstance(label, str) or not label.strip():
        problems.append("header: `label` must be a non-empty string")
    items = document.get("items")
    if not isinstance(items, list):
        return [*problems, "`items` must be a list"]
    declared = document.get("declared_count")
    if not isinstance(declared, int) or isinstance(declared, bool):
        problems.append("header: `declared_count` must be an integer")
    elif declared != len(items):
        problems.append(f"header: declared_count {declared} but the table holds {len(items)} items")
    codes: Counter[str] = Counter()
    per_unit: Counter[str] = Counter()
    for index, raw in enumerate(items):
        if not isinstance(raw, Mapping):
            problems.append(f"item #{index + 1}: must be a mapping")
            continue
        where = f"item #{index + 1} {raw.get('code', '?')}"
        problems.extend(f"{where}: {p}" for p in _item_problems(raw, units))
        if isinstance(raw.get("code"), str):
            codes[raw["code"]] += 1
        if isinstance(raw.get("unit"), str):
            per_unit[raw["unit"]] += 1
    problems.extend(f"code {code} appears {n} times" for code, n in sorted(codes.items()) if n > 1)
    problems.extend(
        f"unit {unit} has {per_unit[unit]} items (at least {MIN_ITEMS_PER_UNIT} required)"
        for unit in sorted(units) if per_unit[unit] < MIN_ITEMS_PER_UNIT
    )
    return problems


def _item_problems(raw: Mapping[str, Any], units: frozenset[str]) -> list[str]:
    problems = [f"missing `{key}`" for key in REQUIRED if key not in raw]
    problems.extend(f"unknown key `{key}`" for key in raw if key not in KNOWN_KEYS)
    problems.extend(_identity_problems(raw))
    problems.extend(_unit_problems(raw, units))
    problems.extend(_limit_problems(raw))
    problems.extend(_phrase_problems(raw))
    return problems


def _identity_problems(raw: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    code, kind, major = raw.get("code"), raw.get("kind"), raw.get("major")
    for key in ("name", "major"):
        if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
            problems.append(f"`{key}` must be a non-empty string")
    if "kind" in raw and kind not in ("asset", "event"):
        problems.append(f"kind {kind!r} is not asset or event")
    match = CODE.match(code) if isinstance(code, str) else None
    if "code" in raw and match is None:
        problems.append(f"code {code!r} does not match BJ/SJ + 5 digits")
    if match is not None and kind in ("asset", "event"):
        prefix, number = match.group(1), match.group(2)
        if (prefix == "BJ") != (kind == "asset"):
            problems.append(f"code prefix {prefix} does not fit kind {kind} (BJ=asset, SJ=event)")
        majors = ASSET_MAJORS if kind == "asset" else EVENT_MAJORS
        if number not in majors:
            problems.append(f"major number {number} is not a {kind} major")
        elif isinstance(major, str) and major != majors[number]:
            problems.append(f"major {major!r} does not fit code major {number} ({majors[number]})")
    if "level" in raw and raw["level"] not in LEVELS:
        problems.append(f"level {raw['level']!r} is not one of {sorted(LEVELS)}")
    if "urgency" in raw and raw["urgency"] not in URGENCIES:
        problems.append(f"urgency {raw['urgency']!r} is not normal or urgent")
    if "photo_required" in raw and not isinstance(raw["photo_required"], bool):
        problems.append("photo_required must be true or false")
    return problems


def _unit_problems(raw: Mapping[str, Any], units: frozenset[str]) -> list[str]:
    problems: list[str] = []
    unit = raw.get("unit")
    if "unit" in raw and unit not in units:
        problems.append(f"unit {unit!r} is not a known unit code")
    co_units = raw.get("co_units") or []
    if not isinstance(co_units, list):
        return [*problems, "co_units must be a list"]
    problems.extend(f"co_unit {co!r} is not a known unit code"
                    for co in co_units if co not in units)
    if unit in co_units:
        problems.append(f"co_units must not contain the primary unit {unit}")
    return problems


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _limit_problems(raw: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    values: dict[str, float] = {}
    for key, (low, high) in LIMITS.items():
        if key not in raw:
            continue
        value = _number(raw[key])
        if value is None:
            problems.append(f"{key} must be a number")
        elif not low <= value <= high:
            problems.append(f"{key} {value:g} outside {low:g}..{high:g}")
        else:
            values[key] = value
    if {"sign_hours", "resolve_hours"} <= values.keys() and (
            values["resolve_hours"] < values["sign_hours"]):
        problems.append("resolve_hours is less than sign_hours")
    if {"urgent_sign_hours", "urgent_resolve_hours"} <= values.keys() and (
            values["urgent_resolve_hours"] < values["urgent_sign_hours"]):
        problems.append("urgent_resolve_hours is less than urgent_sign_hours")
    return problems


def _string_list(raw: Mapping[str, Any], key: str, problems: list[str]) -> list[str]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{key} must be a list of strings")
        return []
    for phrase in value:
        if not normalise(phrase):
            problems.append(f"{key}: {phrase!r} is empty after normalisation")
    return [v for v in value if normalise(v)]


def _phrase_problems(raw: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    phrases = _string_list(raw, "phrases", problems) + _string_list(raw, "strong", problems)
    exclude = _string_list(raw, "exclude", problems)
    combos = raw.get("combos") or []
    parts: list[str] = []
    if not isinstance(combos, list):
        problems.append("combos must be a list of lists of strings")
        combos = []
    for combo in combos:
        if (not isinstance(combo, list) or not combo
                or not all(isinstance(p, str) and normalise(p) for p in combo)):
            problems.append(f"combo {combo!r} must be a non-empty list of non-empty strings")
            continue
        parts.extend(combo)
    if not phrases and not parts:
        problems.append("no phrase: needs at least one of phrases, strong, combos")
    # A combo part shorter than an exclusion may occur inside it harmlessly; only whole phrases
    # (and complete combos written as one phrase) can make an item exclude itself.
    for phrase in phrases:
        p = normalise(phrase)
        for ex in exclude:
            e = normalise(ex)
            if p in e or e in p:
                problems.append(f"phrase {phrase!r} collides with its own exclude {ex!r}")
    return problems
