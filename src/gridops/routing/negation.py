"""A text that rules a thing out does not say it (周边无渗水, 没有冒水, 未见积水).

An item's exclusions say "where the text says this, the matter is another unit's": a sunken road
excludes 渗水, because water seeping from under it is the water company's. A caller who looked
and saw no water (路面干燥，无渗水) says the opposite, and the exclusion must not remove the item.
So an exclusion counts only where at least one of its occurrences is not denied.

Only exclusions are read this way. A denied *phrase* is usually the complaint itself — 没有路灯,
无营业执照, 没坡道也没升降梯 — so phrases keep matching whatever precedes them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# What directly precedes a denied word in normalised text (no punctuation): 无渗水, 没有明显渗水,
# 未见任何积水, 冇得水, 不渗水, 非燃气, 棋牌室不算娱乐场所, 不是燃气, what was looked for and not
# found (看不到水, 闻不到臭味, 没发现排污口), and a word coordinated with a denied one …
_DENIES = re.compile(r"(?:无|没有?|未见?|不见|冇得?|并无|毫无|不是?|不算|不属于|并非|非|算不上"
                     r"|[看闻听]不[到见出]|没[看听闻]?[到见]|未发现|没发现|找不到)"
                     r"(?:任何|明显|一点|什么|有)?"
                     # 未见积水或渗水, 没有臭味和黑水: a word coordinated with a denied one (not
                     # after 没人: nobody did something, no thing is denied)
                     r"(?:[^无没未不冇非人]{1,4}(?:或者?|和|及|与|也没有?|也无))?$")
_REACH = 14  # the longest negator with its filler and a coordinated word: 没有明显积水或者


def each_time(norm: str, word: str, holds: Callable[[int, int], bool]) -> bool:
    """Whether `holds(start, end)` for every occurrence of `word` in `norm` (True when there is
    none): what surrounds each occurrence decides how the text means the word."""
    start = norm.find(word)
    while start >= 0:
        if not holds(start, start + len(word)):
            return False
        start = norm.find(word, start + 1)
    return True


def denied(norm: str, word: str) -> bool:
    """Whether `word` occurs in `norm` and every occurrence is directly denied."""
    search = _DENIES.search
    return word in norm and each_time(
        norm, word, lambda start, _: search(norm, max(0, start - _REACH), start) is not None)
