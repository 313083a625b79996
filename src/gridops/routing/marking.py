"""What a thing is marked with names its owner (部件先属主, by its marking).

DOMAIN.md: a manhole cover goes by its marking — 给水/污水/雨水 → WTR, 电力 → PWR, 燃气 → GAS,
电信/联通/移动 → TEL, 路灯检修井 → UMLE. A caller who read the marking (盖子上写着给水, 井盖上印着
“电力”, 柜子上印着国网, 杆身可辨石峰供电字样, 盖上只剩一个“燃”字) has said whose the thing
is, however much the rest of the text reads like another unit's matter (a broken cover in the
dark reads like a dead street lamp; one that clanks at night like a noise complaint). A marking
that is denied (未见高压标识, 无标识) names nobody, nor does a text that reads two owners'
markings.
"""

from __future__ import annotations

import re

from gridops.routing.negation import denied

# Owner words as markings print them (normalised text: no punctuation, lower case). 移动 after
# 禁/勿/止 is "move" (严禁移动损毁), and 易燃气体 is a hazard label, not the gas company's.
MARKS: dict[str, tuple[str, ...]] = {
    "WTR": ("给水", "污水", "雨水", "排水", "自来水", "供水", "水务"),
    "PWR": ("电力", "供电", "国网", "高压", "kv", "千伏"),
    "GAS": ("(?<!易)燃气", "天然气", "煤气", "新奥"),
    "TEL": ("电信", "联通", "(?<![禁勿止])移动", "通信", "铁塔", "光缆"),
    "UMLE": ("路灯",),
}
_UNIT_OF = {re.sub(r"\(\?<!.*?\)", "", word): unit
            for unit, words in MARKS.items() for word in words}
_OWNER = "(" + "|".join(word for words in MARKS.values() for word in words) + ")"
# 写着电力, 印有“燃气”字样, 盖子上写的是给水 (the owner within four characters of the verb), or the
# owner word just before 字样 / 标识 / 标志 (石峰供电字样, 高压标识).
# A worn or small cover often bears one character (印着个“燃”字, 只剩半个“雨”字, 上面有个“信”字):
# the character before 字 names the owner. Each of the 74 tuning texts with one of these
# (`bench/routing_words.py 电字 水字 污字 雨字 气字 燃字 信字`) is labelled with the unit it names;
# 迹 and 数 after 字 make 字迹 (the writing) or 字数 (a count), no marking.
_SINGLE = {"水": "WTR", "污": "WTR", "雨": "WTR", "电": "PWR", "气": "GAS", "燃": "GAS",
           "信": "TEL"}
_UNIT_OF.update(_SINGLE)
_MARKED = re.compile(rf"(?:[印写标刻喷][着有]|[印写标刻喷]的是?).{{0,4}}?{_OWNER}"
                     rf"|{_OWNER}.{{0,3}}?(?:字样|标识|标志|标牌|的标)"
                     rf"|([{''.join(_SINGLE)}])字(?![迹数])")


def marked_owner(norm: str) -> tuple[str, str] | None:
    """The unit whose marking the text reads on the thing, with the words that say so; None when
    no marking is read, when it is denied, or when markings of two units are."""
    # Nearly no text reads a marking: a look for the characters every marking needs is far
    # cheaper than the pattern's search, which tries its owner words at every character.
    if not ("标" in norm or "印" in norm or "写" in norm or "刻" in norm or "喷" in norm
            or "字" in norm):
        return None
    owner: tuple[str, str] | None = None
    for found in _MARKED.finditer(norm):
        if denied(norm, found.group()):
            continue
        unit = _UNIT_OF[found.group(1) or found.group(2) or found.group(3)]
        if owner is not None and owner[0] != unit:
            return None
        owner = owner or (unit, found.group())
    return owner
