"""From evidence to one accountable unit, or to triage — with the reasons.

Order of work: text evidence (exclusions remove an item outright), the hotline's category at a
reduced weight, the worker's picked item as a prior, then aggregation by unit (two items of one
unit at the top do not make the unit doubtful), the principles (部件先属主, 事件先属地, 属地 needs
a street), and confidence from the top unit's strength and its margin over the runner-up.
"""

from __future__ import annotations

import math
import re
from operator import itemgetter

import numpy as np

from gridops.routing import learned_decide as learned
from gridops.routing import reporter
from gridops.routing.aliases import DISOWNING
from gridops.routing.marking import marked_owner
from gridops.routing.rules import Candidate, CompiledRules, Decision, Hints
from gridops.routing.scoring import Evidence, Weights

STR = "STR"
# An animal nobody owns (无主流浪狗, 无主的狗) is a stray, not a thing without an owner; and
# neighbours who each say the smell or the noise is not from their home (都说不是自己家的) deny
# being its source, not owning an asset: the words of disowning followed by either are no
# disowning, for 街镇托底 and for lifting exclusions alike.
_STRAY = ("流浪", "狗", "猫", "犬", "的狗", "的猫", "的流浪")
_HOME = ("自己家", "自家", "他家", "他们家", "她家", "我家", "我们家", "家里", "家的")
_DISOWNING = re.compile("(?:" + "|".join(map(re.escape, DISOWNING)) + ")"
                        "(?!" + "|".join(_STRAY + _HOME) + ")")
# Nobody claiming a person (一名男子…无人认领, 走失老人三天无人认领) makes them someone to take in
# (CAB's 救助), not a thing without an owner: the claiming words with a person shortly before.
_CLAIMED = ("无人认领", "没人认领", "冇人认")
_PERSON = re.compile("男子|女子|老人|老太|老头|人员|患者|孩子|小孩|遗体|流浪|精神")
_PERSON_REACH = 30
MAX_CANDIDATES = 5
_SCORE = itemgetter(1)
_NEW = tuple.__new__
_NONE: dict[int, float] = {}  # no similar items (read, never written)


def _disowning_in(norm: str) -> re.Match[str] | None:
    """The first words saying no unit owns the thing (see _DISOWNING), or None."""
    for found in _DISOWNING.finditer(norm):
        if found.group() in _CLAIMED and _PERSON.search(
                norm, max(0, found.start() - _PERSON_REACH), found.start()):
            continue
        return found
    return None


def _MINUS_SCORE(pair: tuple[int, float]) -> float:
    return -pair[1]


def decide(rules: CompiledRules, text: str, hints: Hints, threshold: float) -> Decision:
    w = rules.weights
    items = rules.items
    reasons: list[str] = []
    if w.reporter != 1.0:
        who, matter = reporter.split(text)
        matter, logged = reporter.pointed(matter)
        matter, by_the_way = reporter.aside(matter)
        matter, likened = reporter.figures(matter)
        matter, taken = reporter.mistaken(matter)
    else:
        who, matter, logged, by_the_way, likened, taken = "", text, "", "", "", ""
    evidence = rules.scan(matter)
    if who:
        _add_reporter(rules, who, evidence, reasons)
    for words, what, term in (
            (logged, "are the log's other entries, not the one it points to", "日志其他事项"),
            (by_the_way, "is added in passing, not the main concern", "次要诉求"),
            (likened, "is what the text likens the matter to, not the matter", "比喻"),
            (taken, "is what the caller first took it for, not what it is", "误以为")):
        if words:
            _add_aside(rules, words, evidence, reasons, what, term)
    scores = {index: sum(found.values()) for index, found in evidence.found.items()}
    if hints.category:
        _add_category(rules, hints.category, scores, evidence, reasons)
    if hints.item_code_hint:
        _add_item_hint(rules, hints, scores, reasons)
    excluded = evidence.excluded
    # A unit the text names without refusing it (印着电信, 请供电来修) is an owner it knows: offices
    # that said "not ours" (派到供电和城管，都说不是他们的) do not make the thing ownerless.
    marked = marked_owner(evidence.norm) if w.marking > 0 else None
    disowning = (_disowning_in(evidence.norm)
                 if w.no_owner > 0 and not evidence.units and marked is None else None)
    if excluded and disowning is not None:
        _lift_owners(rules, excluded, reasons)
    if excluded and not excluded.keys().isdisjoint(scores):
        for index, key in excluded.items():
            if scores.pop(index, None) is not None:
                item = items[index]
                reasons.append(f"排除 {item.code} {item.name}: text says "
                               f"“{rules.exclusion_display(key)}”")
    similar = _NONE
    if w.fallback > 0 and (not scores or max(scores.values()) < w.fallback_below):
        similar = _add_similar(rules, evidence, scores, reasons)
    model = rules.model
    # Stable: equal scores keep the order in which the text showed them.
    ranked = sorted(scores.items(), key=_SCORE, reverse=True)
    units = _unit_scores(rules, ranked)
    if evidence.units and _add_named_units(rules, evidence, scores, units, reasons):
        ranked = sorted(scores.items(), key=_SCORE, reverse=True)
    if evidence.refused:
        for unit, words in evidence.refused.items():
            if unit in units:
                units[unit] -= w.unit_mention
                reasons.append(f"text says “{words}” turned it away → {unit} "
                               f"−{w.unit_mention:g}")
    if marked is not None and _apply_marking(rules, evidence, marked, scores, units, reasons):
        ranked = sorted(scores.items(), key=_SCORE, reverse=True)
    entered: dict[str, float] = {}  # units only the model brought in, and its probability
    if (model is not None and _could_change(units, w, rules.model_weight, threshold)
            and learned.consult(rules, evidence, scores, units, reasons, entered)):
        ranked = sorted(scores.items(), key=_SCORE, reverse=True)
    if not units:
        reasons.append("no phrase of any item matched (无匹配事项) → triage" if model is None
                       else "no phrase of any item matched (无匹配事项) and the learned model "
                       "knows none of its words → triage")
        return _triage(rules, 0.0, (), (), reasons)
    several = len(units) > 1
    if several and STR in units:
        _apply_principles(rules, ranked, units, hints, reasons)
    if disowning is not None and _apply_no_owner(rules, evidence, disowning.group(), scores,
                                                 units, reasons):
        ranked = sorted(scores.items(), key=_SCORE, reverse=True)
        several = len(units) > 1
    if several:
        (top_unit, s1), (runner, s2) = sorted(units.items(), key=_SCORE, reverse=True)[:2]
    else:
        (top_unit, s1), = units.items()
        runner, s2 = "", 0.0
    margin = max(0.0, s1 - s2) / s1 if s1 > 0 else 0.0
    confidence = (1.0 - math.exp(-s1 / w.scale)) * (w.margin_floor + (1 - w.margin_floor) * margin)
    confidence = _round3(min(1.0, max(0.0, confidence)))
    capped = top_unit in entered and w.model_alone_cap and confidence > entered[top_unit]
    if capped:
        confidence = _round3(entered[top_unit])
    best = ranked[0][0]
    item = items[best]
    if item.unit != top_unit:
        best = next(index for index, _ in ranked if items[index].unit == top_unit)
        item = items[best]
    matched = _matched(rules, evidence, best)
    candidates = _candidates(rules, ranked)
    reasons.append(_evidence_reason(item.code, item.name, matched, scores[best],
                                    similar.get(best)))
    if several:
        reasons.append(f"unit {top_unit} {_f2(s1)} vs runner-up {runner} {_f2(s2)}; "
                       f"confidence {_f2(confidence)} (threshold {_f2(threshold)})")
    else:
        reasons.append(f"only unit {top_unit} matched; confidence {_f2(confidence)} "
                       f"(threshold {_f2(threshold)})")
    if capped:
        reasons.append(f"only the learned model names {top_unit}: the confidence is at most "
                       f"its probability, {_f2(confidence)}")
    if confidence < threshold:
        reasons.append("confidence below threshold → triage (置信度不足, 转人工研判)")
        return _triage(rules, confidence, matched, candidates, reasons)
    street = None
    if item.unit == STR:
        if not hints.street_code:
            reasons.append("属地事项 but the grid/street is unknown → triage (无法确定属地街道)")
            return _triage(rules, confidence, matched, candidates, reasons)
        street = hints.street_code
        reasons.append(f"属地: {item.name} is owned by the street of the grid → {street}")
    return _NEW(Decision, (item, item.unit, street, confidence, matched, candidates,
                           rules.version, False, tuple(reasons)))


def _could_change(units: dict[str, float], w: Weights, weight: float,
                  threshold: float) -> bool:
    """Whether the learned model's answer could change the outcome (the unit, or routed versus
    triage). It adds at most `weight` (`CompiledRules.model_weight`) to any unit, so if even
    the worst case — nothing for the top unit, the whole weight (and a principle's bonus) for the
    runner-up — keeps the top unit ahead with a confidence at or above the threshold, consulting
    it would change nothing."""
    if not units:
        return True
    if len(units) == 1:
        s1, s2 = next(iter(units.values())), 0.0
    else:
        s2, s1 = sorted(units.values())[-2:]
    rival = s2 + weight + w.principle
    if s1 <= rival:
        return True
    if w.model_exact:
        s2 = rival
    worst = ((1.0 - math.exp(-s1 / w.scale))
             * (w.margin_floor + (1 - w.margin_floor) * (s1 - s2) / s1))
    return worst < threshold


def _add_reporter(rules: CompiledRules, who: str, evidence: Evidence,
                  reasons: list[str]) -> None:
    """The reporter's opening, its phrases at their reduced weight. The learned model and the
    similarity read only the matter (`evidence.norm`): by-author CV, all tuning parts at 0.60,
    cost 1,785 so, 1,793 with them reading the opening too, 1,814 with no split. An opening
    without phrases (来电人, 市民) changes nothing and is not quoted."""
    found = rules.opening(who)
    if not found:
        return
    _add_found(evidence, found)
    reasons.append(f"the opening “{who}” names the reporter, not the matter: read at weight "
                   f"×{rules.weights.reporter:g} (来电人身份不是诉求)")


def _add_aside(rules: CompiledRules, words: str, evidence: Evidence, reasons: list[str],
               what: str, term: str) -> None:
    """Words beside the matter — a concern added in passing (另外…一并关注), what a figure of
    speech likens the matter to (跟筛子一样), what the caller first took the thing for
    (以为是自来水管) — their phrases at the reporter's weight: they are seen among the
    candidates, the matter decides."""
    found = rules.scan(words, rules.weights.reporter, exclusions=False).found
    if not found:
        return
    _add_found(evidence, found)
    reasons.append(f"“{words.strip()}” {what}: read at weight ×{rules.weights.reporter:g} "
                   f"({term})")


def _add_found(evidence: Evidence, found: dict[int, dict[str, float]]) -> None:
    for index, phrases in found.items():
        for key, weight in phrases.items():
            evidence.phrase(index, key, weight)


def _add_category(rules: CompiledRules, category: str, scores: dict[int, float],
                  evidence: Evidence, reasons: list[str]) -> None:
    found = rules.scan(category, rules.weights.category, exclusions=False)
    for index, phrases in found.found.items():
        scores[index] = scores.get(index, 0.0) + sum(phrases.values())
        for key, weight in phrases.items():
            evidence.phrase(index, "类别:" + key, weight)
    if found.found:
        reasons.append(f"hotline category “{category}” read at weight "
                       f"×{rules.weights.category:g}")


def _add_similar(rules: CompiledRules, evidence: Evidence, scores: dict[int, float],
                 reasons: list[str]) -> dict[int, float]:
    """Weak or no phrase evidence: the items whose own wording the text shares, at a low weight.

    Only the few most similar items gain (their similarity × `fallback`), so similarity breaks
    ties among weak matches and rescues texts no phrase matched; a text with a clear phrase
    match never gets here.
    """
    w = rules.weights
    excluded = evidence.excluded
    every = rules.similarity(evidence)
    # The most similar first, ties in table order (as ItemSimilarity.top). Only items at
    # `fallback_min` or more can gain, and they rank above all others: the few of them are
    # sorted instead of every item.
    if w.fallback_min > 0:
        able = (every >= w.fallback_min).nonzero()[0]  # np.flatnonzero costs twice as much
        pairs = zip(able.tolist(), every.take(able).tolist(), strict=True)
        best = sorted(pairs, key=_MINUS_SCORE)[: w.fallback_items]
    else:
        order = np.argsort(-every, kind="stable")[: w.fallback_items]
        best = list(zip(order.tolist(), every.take(order).tolist(), strict=True))
    similar = {index: value for index, value in best
               if value > 0 and index not in excluded and value >= w.fallback_min}
    if not similar:
        return similar
    items = rules.items
    for index, value in similar.items():
        scores[index] = scores.get(index, 0.0) + w.fallback * value
    listed = "、".join(f"{items[i].code} {items[i].name} {_f2(v)}" for i, v in similar.items())
    reasons.append(f"phrase evidence weak: wording similar to {listed} "
                   f"(相似度 × {w.fallback:g})")
    return similar


def _add_item_hint(rules: CompiledRules, hints: Hints, scores: dict[int, float],
                   reasons: list[str]) -> None:
    index = rules.index(hints.item_code_hint)
    if index is None:
        reasons.append(f"picked item {hints.item_code_hint} is not in table "
                       f"v{rules.version}; ignored")
        return
    w = rules.weights
    weight = w.hint_grid_app if hints.channel == "grid_app" else w.hint
    scores[index] = scores.get(index, 0.0) + weight
    item = rules.items[index]
    reasons.append(f"reporter picked {item.code} {item.name} (+{weight:g}, channel "
                   f"{hints.channel or 'unknown'})")


def _unit_scores(rules: CompiledRules, ranked: list[tuple[int, float]]) -> dict[str, float]:
    support = rules.weights.unit_support
    items = rules.items
    units: dict[str, float] = {}
    for index, score in ranked:  # best first: the first item of a unit sets its base
        unit = items[index].unit
        units[unit] = units[unit] + support * score if unit in units else score
    return units


def _apply_principles(rules: CompiledRules, ranked: list[tuple[int, float]],
                      units: dict[str, float], hints: Hints, reasons: list[str]) -> None:
    """When the street office and an owning unit nearly tie, the principles break the tie."""
    if STR not in units or len(units) < 2:
        return
    top_two = sorted(units, key=lambda u: -units[u])[:2]
    if STR not in top_two:
        return
    other = top_two[0] if top_two[1] == STR else top_two[1]
    low, high = sorted((units[STR], units[other]))
    if low < rules.weights.principle_window * high:
        return  # not a tie: the evidence decides, not the principle
    best_str = next(rules.items[i] for i, _ in ranked if rules.items[i].unit == STR)
    best_other = next(rules.items[i] for i, _ in ranked if rules.items[i].unit == other)
    bonus = rules.weights.principle
    if best_other.kind == "asset":
        units[other] += bonus
        reasons.append(f"部件先属主: {best_other.name} has an owner, {other} before the street "
                       f"(+{bonus:g})")
    elif best_str.kind == "event" and hints.street_code:
        units[STR] += bonus
        reasons.append(f"事件先属地: {best_str.name} goes to the street first (+{bonus:g})")


def _apply_no_owner(rules: CompiledRules, evidence: Evidence, said: str,
                    scores: dict[int, float], units: dict[str, float],
                    reasons: list[str]) -> bool:
    """街镇托底: the text says no unit owns the thing (`said`: how; the owner it asked disowns
    it, nobody can be found): the street settles it, ahead of the unit whose item it reads like.
    True when `scores` gained the street's item."""
    if not units or STR not in rules.unit_items:
        return False
    top = max(units.values())
    if units.get(STR, -1.0) >= top:
        return False
    added = STR not in units
    if added:
        index = _no_owner_item(rules, evidence)
        scores[index] = 0.0
        units[STR] = 0.0
    bonus = top * (1.0 + rules.weights.no_owner) - units[STR]
    units[STR] += bonus
    reasons.append(f"街镇托底: the text says “{said}” (no owner found) → the street "
                   f"(+{_f2(bonus)})")
    return added


def _add_named_units(rules: CompiledRules, evidence: Evidence, scores: dict[int, float],
                     units: dict[str, float], reasons: list[str]) -> bool:
    """A unit the text asks for (请派出所来抓人, 建议城管处理) gains `w.unit_mention`; one no phrase
    matched enters at that weight, so a request is heard where nothing else names the matter.
    The street office does not enter so: 居委会 and 街道办 are more often where the caller went
    first than whom they ask. True when `scores` gained an item."""
    mention = rules.weights.unit_mention
    added = False
    for unit, words in evidence.units.items():
        if unit not in units:
            if unit == STR or not _enter(rules, evidence, unit, scores, units):
                continue
            added = True
        units[unit] += mention
        reasons.append(f"text names the unit “{words}” → {unit} +{mention:g}")
    return added


def _apply_marking(rules: CompiledRules, evidence: Evidence, marked: tuple[str, str],
                   scores: dict[int, float], units: dict[str, float],
                   reasons: list[str]) -> bool:
    """部件先属主 by its marking: the unit whose marking the text reads gains `w.marking`; one no
    phrase matched enters with an asset item if it has one. True when `scores` gained that
    item."""
    unit, words = marked
    added = unit not in units
    if added and not _enter(rules, evidence, unit, scores, units, assets_first=True):
        return False
    bonus = rules.weights.marking
    units[unit] += bonus
    reasons.append(f"部件先属主: the text reads the marking “{words}” on the thing → {unit} "
                   f"+{bonus:g}")
    return added


def _enter(rules: CompiledRules, evidence: Evidence, unit: str, scores: dict[int, float],
           units: dict[str, float], *, assets_first: bool = False) -> bool:
    """Let `unit`, which no phrase matched, in at 0 with its item most like the text among those
    the text does not exclude (its assets first, if asked); False when it has none."""
    indices = [i for i in rules.unit_items.get(unit, ()) if i not in evidence.excluded]
    if assets_first:
        indices = [i for i in indices if rules.items[i].kind == "asset"] or indices
    if not indices:
        return False
    scores[_most_similar(rules, evidence, indices)] = 0.0
    units[unit] = 0.0
    return True


def _lift_owners(rules: CompiledRules, excluded: dict[int, str], reasons: list[str]) -> None:
    """An ownerless item (名称含 无主) excludes texts that name an owner (水务, 燃气, 电力 …), but a
    text that says nobody owns the thing names them as the owners asked and refused (问了水务、
    燃气，都说不是他们的): there they exclude nothing."""
    items = rules.items
    for index in [i for i, key in excluded.items() if "无主" in items[i].name]:
        key = excluded.pop(index)
        reasons.append(f"{items[index].code} {items[index].name} not excluded by "
                       f"“{rules.exclusion_display(key)}”: the text says no owner was found")


def _no_owner_item(rules: CompiledRules, evidence: Evidence) -> int:
    """The street's item for things nobody owns (名称含 无主) most like the text, else the
    street's item most like it."""
    indices = rules.unit_items[STR]
    ownerless = [i for i in indices if "无主" in rules.items[i].name] or indices
    return _most_similar(rules, evidence, ownerless)


def _most_similar(rules: CompiledRules, evidence: Evidence, indices: list[int]) -> int:
    """Of these items, the one whose wording is most like the text (the first on a tie): the
    item a unit enters with when no phrase of it matched."""
    similarity = rules.similarity(evidence)
    return max(indices, key=lambda i: float(similarity[i]))


def _matched(rules: CompiledRules, evidence: Evidence, index: int) -> tuple[str, ...]:
    found = evidence.found.get(index)
    if not found:
        return ()
    display = rules.display_of
    if len(found) == 1:
        key = next(iter(found))
        return (display.get(key, key),)
    return tuple([display.get(key, key)
                  for key, _ in sorted(found.items(), key=_SCORE, reverse=True)])


def _candidates(rules: CompiledRules, ranked: list[tuple[int, float]]) -> tuple[Candidate, ...]:
    heads = rules.candidate_heads
    # tuple.__new__ builds the named tuple in C (its generated __new__ is a Python call).
    return tuple([_NEW(Candidate, (*heads[i], _round2(score)))
                  for i, score in ranked[:MAX_CANDIDATES]])


# Scores are sums of a few weights, so the same values recur. round() and float formatting cost
# ten times a dictionary hit, and a decision rounds and prints about ten numbers.
_ROUNDED: dict[float, float] = {}
_ROUNDED3: dict[float, float] = {}
_PRINTED: dict[float, str] = {}


def _rounded(memo: dict[float, float], value: float, digits: int) -> float:
    rounded = memo.get(value)
    if rounded is None:
        if len(memo) > 4096:
            memo.clear()
        rounded = memo[value] = round(value, digits)
    return rounded


def _round3(value: float) -> float:
    return _rounded(_ROUNDED3, value, 3)


def _round2(score: float) -> float:
    return _rounded(_ROUNDED, score, 2)


def _f2(value: float) -> str:
    printed = _PRINTED.get(value)
    if printed is None:
        if len(_PRINTED) > 4096:
            _PRINTED.clear()
        printed = _PRINTED[value] = f"{value:.2f}"
    return printed


def _evidence_reason(code: str, name: str, matched: tuple[str, ...], score: float,
                     similarity: float | None = None) -> str:
    alike = "" if similarity is None else f", wording similarity {_f2(similarity)}"
    if not matched:
        if similarity is not None:
            return f"{code} {name}: no phrase in the text{alike} (score {_f2(score)})"
        return f"{code} {name}: no phrase in the text, prior only (score {_f2(score)})"
    return f"{code} {name}: matched {'、'.join(matched)}{alike} (score {_f2(score)})"


def _triage(rules: CompiledRules, confidence: float, matched: tuple[str, ...],
            candidates: tuple[Candidate, ...], reasons: list[str]) -> Decision:
    return _NEW(Decision, (None, None, None, confidence, matched, candidates, rules.version,
                           True, tuple(reasons)))
