"""Dispatcher corrections for rule authors: most frequent confusions first, with phrase ideas.

A suggestion is a 2–4 character n-gram shared by the corrected texts of one confusion that is
not yet a phrase of any item of the right unit and not a phrase of the wrongly chosen item (nor
hotline boilerplate); an n-gram is dropped when a longer one covering it is as frequent.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.errors import Unavailable
from gridops.routing import service
from gridops.routing.models import RoutingCorrection
from gridops.routing.normalise import normalise
from gridops.routing.rules import CompiledRules

TRIAGE = "triage"
# Words of every hotline order and every address: never a useful phrase.
BOILERPLATE = frozenset({"市民", "来电", "反映", "诉求", "要求", "希望", "请求", "尽快", "处理",
                         "解决", "社区", "街道", "小区", "附近", "门口", "一直", "没有", "问题",
                         "相关", "部门", "现在", "已经", "我们", "你们", "这个", "那个", "多次"})


@dataclass(slots=True)
class Confusion:
    chosen_unit: str
    correct_unit: str
    count: int = 0
    correct_items: Counter[str] = field(default_factory=Counter)
    chosen_items: Counter[str] = field(default_factory=Counter)
    texts: list[str] = field(default_factory=list)
    suggested_phrases: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self, examples: int = 5) -> dict[str, Any]:
        return {"chosen_unit": self.chosen_unit, "correct_unit": self.correct_unit,
                "count": self.count, "correct_items": dict(self.correct_items.most_common()),
                "chosen_items": dict(self.chosen_items.most_common()),
                "examples": self.texts[:examples],
                "suggested_phrases": self.suggested_phrases}


async def corrections_report(session: AsyncSession, *, since: datetime | None = None,
                             limit: int = 20) -> list[Confusion]:
    query = select(RoutingCorrection).order_by(RoutingCorrection.created_at.desc()).limit(5000)
    if since is not None:
        query = query.where(RoutingCorrection.created_at >= since)
    rows = (await session.scalars(query)).all()
    groups: dict[tuple[str, str], Confusion] = {}
    for row in rows:
        key = (row.chosen_unit or TRIAGE, row.correct_unit)
        group = groups.setdefault(key, Confusion(*key))
        group.count += 1
        group.texts.append(row.text)
        if row.correct_item:
            group.correct_items[row.correct_item] += 1
        if row.chosen_item:
            group.chosen_items[row.chosen_item] += 1
    ranked = sorted(groups.values(), key=lambda g: (-g.count, g.chosen_unit, g.correct_unit))
    ranked = ranked[:limit]
    try:
        rules: CompiledRules | None = await service.active_rules(session)
    except Unavailable:
        rules = None
    for group in ranked:
        group.suggested_phrases = suggest(rules, group)
    return ranked


def _known(rules: CompiledRules | None, group: Confusion) -> set[str]:
    """Phrase keys a suggestion must avoid: the right unit already has them, or the wrong item."""
    if rules is None:
        return set()
    keys: set[str] = set()
    wrong = set(group.chosen_items)
    for item in rules.items:
        if item.unit == group.correct_unit or item.code in wrong:
            keys.update(normalise(p) for p in (item.name, *item.phrases, *item.strong))
    return keys


def suggest(rules: CompiledRules | None, group: Confusion, top: int = 5) -> list[dict[str, Any]]:
    known = _known(rules, group)
    seen_in: defaultdict[str, set[int]] = defaultdict(set)
    for n, text in enumerate(group.texts):
        norm = normalise(text)
        for size in (2, 3, 4):
            for start in range(len(norm) - size + 1):
                gram = norm[start:start + size]
                if gram.isdigit() or any(ch.isdigit() for ch in gram):
                    continue
                seen_in[gram].add(n)
    minimum = 2 if len(group.texts) > 1 else 1
    counts = {g: len(ids) for g, ids in seen_in.items()
              if len(ids) >= minimum and g not in known and g not in BOILERPLATE
              and not any(b in g for b in BOILERPLATE)}
    kept = [g for g in counts
            if not any(g != other and g in other and counts[other] >= counts[g]
                       for other in counts)]
    kept.sort(key=lambda g: (-counts[g], -len(g), g))
    item = group.correct_items.most_common(1)[0][0] if group.correct_items else None
    return [{"phrase": g, "texts": counts[g], "for_item": item} for g in kept[:top]]
