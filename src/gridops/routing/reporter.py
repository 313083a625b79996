"""Who reports is not what is reported (来电人身份不是诉求事项).

A 12345 order or a relayed message often opens with the reporter: 来电人系公交司机，…;
锦江华府业委会反映：…; 开网约车的，…; 社区刘主任，我是物业的，…. The words of that opening
name the reporter's trade or office, and read as a matter they would send the complaint to the
reporter's own unit (公交司机 → the bus operator's TRB, 业委会 → HURD). `split` cuts such an
opening off, so that the router reads it at a low weight (`Weights.reporter`) and the rest of
the text, the matter, at full weight.

The same holds for the person a caller speaks for, named by a lasting condition (来电人儿子智力
残疾，…; 我老公眼睛看不见，…), and for a caller who lives in a care home (我住养老院，…): who
they are does not make every matter of theirs the disabled persons' federation's or civil
affairs'.

Only an opening is cut, and only in the shapes below; an opening that could be the matter itself
(楼下饭店油烟太大投诉：) is not one of them: before 反映/投诉 … the words must end as a person or
a body does (…会, …员, …户, …司机).
"""

from __future__ import annotations

import re

__all__ = ["aside", "figures", "mistaken", "pointed", "split"]

_STOP = "，,。；;：:！!？?\n"
# A greeting to the community office before the opening: 社区刘主任，/ 王书记您好，
_GREETING = (rf"(?:(?:社区)?[\u4e00-\u9fff]{{0,3}}(?:主任|书记|网格员|同志|领导)(?:好|您好|你好)?"
             rf"[{_STOP}\s]*)?")
# How a person or a body ends: 业委会, 网格员, 志愿者, 骑手, 公交司机, 几户, 物业, 老板 …
_AGENT = ("会员人户者手机长主工师傅板生业司们姐妹哥嫂爷奶婆公队团站部处委办校园院所厂店行属客民东"
          "友家")
_SELF = ("(?:坐轮椅|听障|视障|聋人|盲人|聋哑人|下肢残疾|肢体残疾|肢残|视力残疾|听力残疾|残疾人"
         "|截瘫|眼睛看不见|耳朵听不见)")
# What drivers and couriers say they drive or deliver (跑网约车的, 送外卖的).
_DRIVEN = ("(?:网约车|滴滴|出租车?|的士|公交|外卖|快递|货车|货拉拉|专车|大车|三轮|摩的|代驾)")
# A grid worker's log that names who told it, after the place: 井龙街道栗树冲社区，夜班公交司机反映…
_TOLD_BY = "(?:司机|快递员|外卖员|骑手|店员|员工|保安|环卫工|营业员|收银员)"
_PLACE = rf"[^{_STOP}]{{0,24}}(?:社区|网格|街道|村)[^{_STOP}]{{0,8}}"

# Whom a caller speaks for, and the lasting conditions that describe such a person.
_KIN = ("(?:儿子|女儿|孩子|丈夫|老公|妻子|老婆|爱人|父亲|母亲|爸爸|妈妈|老伴|婆婆|公公|爷爷|奶奶"
        "|外婆|外公|弟弟|哥哥|姐姐|妹妹)")
_CONDITION = ("(?:残疾|瘫痪|坐轮椅|失明|眼睛看不见|耳朵听不见|脑瘫|自闭症|孤独症|痴呆|聋哑"
              "|智力障碍)")
_REPORTS = (r"(?:这边|那边)?(?:反映|报告|报|来电|投诉|举报|留言|求助)"
            r"(?:个事|一下|个情况|一个事|一件事|情况)?")

_OPENINGS = [
    # 来电人系公交司机，… / 来电人是本小区业主。
    rf"来电人(?:系|是|为|自称)(?P<who>[^{_STOP}]{{1,24}})[{_STOP}]",
    # 锦江华府业委会反映：… / 公交司机反映，… / 代5楼几户报：…
    rf"(?P<who>[^{_STOP}]{{1,16}}?[{_AGENT}]){_REPORTS}[{_STOP}]",
    # 开网约车的，… / 我是开的士的。
    rf"(?:我是|我系|本人是|本人系)?(?P<who>开[^{_STOP}]{{1,6}}?的)[{_STOP}]",
    # 我是本栋楼栋长，… / 本人系退休教师；… / 我是在物流园上班的，… (a person: it ends as one
    # does, or is a trade or a home told with 的; not 我是被狗咬的, which is the matter)
    rf"(?:我是|我系|本人是|本人系)(?P<who>[^{_STOP}]{{0,15}}[{_AGENT}](?=的?[{_STOP}])"
    rf"|(?:做|干|开|卖|跑|送|搞|住|从|在|搬|教|修|当)[^{_STOP}]{{1,14}}?)的?[{_STOP}]",
    # 开网约车经过… / 跑滴滴路过… / 送件天天路过…
    rf"(?:我是|我)?(?P<who>(?:开|跑|送|骑)[^{_STOP}]{{1,6}}?)(?:的时候|时)?(?=经过|路过)",
    # 跑网约车的，… / 送外卖的，… / 跑夜班的士，… (a trade that drives or delivers, without 我是)
    rf"(?P<who>(?:跑|开|送)(?:夜班)?{_DRIVEN}的?)[{_STOP}]",
    # The person the caller speaks for, by a condition: 来电人儿子智力残疾，… / 我老公眼睛看不见，…
    # / 儿子视力残疾，… (whose condition it is, not what is wrong: the matter follows)
    rf"(?:来电人|我|我家|家里)?的?(?P<who>{_KIN}是?[^{_STOP}]{{0,8}}?{_CONDITION})"
    rf"[^{_STOP}]{{0,6}}[{_STOP}]",
    # A caller who names their own lasting condition first: 我是听障人士，… / 我坐轮椅的，… /
    # 我下肢残疾，…
    rf"(?:我是|我系|本人是|本人系|我|本人)(?P<who>{_SELF}(?:人士|的|者)?)[{_STOP}]",
    # A caller's own illness or working hours first: 来电人有糖尿病，… / 来电人上夜班，… (the matter
    # follows; who they are does not make it the health insurer's)
    rf"来电人(?P<who>(?:有|患有|得了|身患|上夜班|上晚班|值夜班)[^{_STOP}]{{0,10}})[{_STOP}]",
    # Where the caller lives, when it is a care home: 我住养老院，… / 来电人76岁住养老院，…
    rf"(?:来电人|我|本人)(?P<who>[^{_STOP}]{{0,6}}?住(?:在)?(?:养老院|敬老院|福利院|护理院|老人院)"
    rf"[^{_STOP}]{{0,6}})[{_STOP}]",
    # A grid worker's visit note names whom they visited: 走访独居老人：… / 入户走访低保户，…
    rf"(?:入户)?走访(?P<who>[^{_STOP}]{{1,10}}?)[{_STOP}]",
]
# Each shape names its reporter `who`; a pattern may hold a group name once, so they are numbered.
_OPENING = re.compile(rf"\s*{_GREETING}(?:" + "|".join(
    f"(?:{shape.replace('?P<who>', f'?P<who{n}>')})" for n, shape in enumerate(_OPENINGS)) + ")")


_LOGGED = re.compile(
    rf"\s*(?P<place>{_PLACE}[{_STOP}\s])"
    rf"(?P<who>[^{_STOP}]{{0,8}}?{_TOLD_BY})(?:反映|报告|称|发现)[{_STOP}]?")


def split(text: str) -> tuple[str, str]:
    """(the reporter's opening, the rest); ("", text) when the text opens otherwise."""
    match = _OPENING.match(text)
    if match is None:
        logged = _LOGGED.match(text)
        if logged is None:
            return "", text
        rest = logged.group("place") + text[logged.end():]
        return (logged.group("who"), rest) if text[logged.end():].strip() else ("", text)
    who = match.group(match.lastgroup or 0)  # each shape's `who` is its last group
    rest = text[match.end():]
    if not rest.strip():
        return "", text  # nothing but the opening: it is all there is to read
    return who, rest


# A concern the caller adds in passing (另外…也希望一并关注; 另反映…; 烧烤摊占道问题也一并反映):
# the sentence such a word opens, or the clause that says 一并, is read like the opening, at the
# reporter's weight; the main concern is the rest.
_SENTENCE_END = "。；;！!？?\n"
_MARKED = re.compile(
    rf"(?:^|(?<=[{_STOP}\s]))(?:另外|另反映|另还反映|另称|另有|另[，,：:]|此外"
    rf"|顺便(?:说|反映|问|提)|还有个事|还有一件事)[^{_SENTENCE_END}]*[{_SENTENCE_END}]?")
_TOGETHER = "一并"


# The caller says which concern matters most, after listing others (小区问题一大堆…最要紧的是…;
# 来电人反映…，但其主要诉求是…): what comes before is read like an aside.
# (主要是 alone is not one: 主要是晚上 qualifies the matter, it does not name another.)
_MAIN = re.compile(r"(?:最[\u4e00-\u9fff]{1,5}的是|主要(?:诉求|要求)[是为]|最主要的|主要诉求[：:]"
                   r"|主要反映|重点反映)")


# A grid worker's follow-up note (复查/回访): the case checked and closed comes first (复查…工单，
# 摊贩已撤离。), the new problem found on the visit after it. So does a note that closes a case in
# other words (违停已清，销号。/ 路灯已修复，结案。/ 已核实：…已清理。) when what follows opens as
# another matter (另：…, 另有…, 巡查中另发现…): a closed case alone, or one followed by more of
# itself (工单显示已结案。可到现在还是不亮), is the matter.
_FOLLOW_UP = re.compile(rf"\s*(?:复查|回访|复核)[^{_SENTENCE_END}]*?(?:已|完成)[^{_SENTENCE_END}]*"
                        rf"[{_SENTENCE_END}]"
                        rf"|\s*[^{_SENTENCE_END}]*?(?:销号|结案|办结|已核实|核实|核查)"
                        rf"[^{_SENTENCE_END}]*[{_SENTENCE_END}]"
                        rf"(?=\s*(?:巡查中|巡查时|走访中)?(?:另|此外|还发现|同时发现|巡查发现))")


def aside(text: str) -> tuple[str, str]:
    """(the main concern, what is added in passing); (text, "") when nothing is. Only one
    aside is cut, and never the whole text."""
    closed = _FOLLOW_UP.match(text)
    if closed is not None and len(text) - closed.end() >= 6:
        return text[closed.end():], closed.group()
    marked = _MAIN.search(text)
    if marked is not None and marked.start() >= 8 and len(text) - marked.end() >= 6:
        return text[marked.start():], text[:marked.start()]
    at = text.find(_TOGETHER)
    if at >= 0:  # the clause around 一并
        start = max(text.rfind(stop, 0, at) for stop in _STOP) + 1
        ends = [end for end in (text.find(stop, at) for stop in _STOP) if end >= 0]
        end = min(ends) + 1 if ends else len(text)
    elif "另" in text or "此外" in text or "顺便" in text or "还有" in text:  # before the regex
        match = _MARKED.search(text)
        if match is None:
            return text, ""
        start, end = match.span()
    else:
        return text, ""
    main = text[:start] + text[end:]
    if len(main.strip()) < 6:
        return text, ""
    return main, text[start:end]


def _set_apart(text: str, pattern: re.Pattern[str], cues: tuple[str, ...]) -> tuple[str, str]:
    """(the text with each match of `pattern` cut out, its `words` group joined by "；");
    (text, "") when the text holds none of `cues`, nothing matches, or too little would be
    left to read."""
    if not any(cue in text for cue in cues):
        return text, ""
    words: list[str] = []

    def cut(match: re.Match[str]) -> str:
        words.append(match.group("words"))
        return "，"

    rest = pattern.sub(cut, text)
    if not words or len(rest.strip("，")) < 6:
        return text, ""
    return rest, "；".join(words)


# A figure of speech compares the matter with something it is not (墙上裂得跟筛子一样;
# 学校厕所跟出土文物似的; 这跟拦路抢劫有什么区别): what it is likened to is read like an aside,
# so 文物 does not make a school toilet the heritage office's. Only a comparison closed by its
# own word (一样, 似的, 一般, 没两样, 有什么区别) is one; 不一样 states a difference, which is
# the matter (跟报批的图纸不一样).
_FIGURE = re.compile(
    rf"(?:就像|好像|活像|像|跟|如同|犹如|宛如|仿佛|好似)(?P<words>[^{_STOP}]{{1,12}}?)"
    rf"(?:(?<!不)一样|似的|一般|没两样|没什么两样|有什么区别|有啥区别|有什么两样)")
_FIGURE_CUES = ("一样", "似的", "一般", "两样", "区别")


def figures(text: str) -> tuple[str, str]:
    """(the text with what its figures of speech liken the matter to cut out, those words);
    (text, "") when it has none."""
    return _set_apart(text, _FIGURE, _FIGURE_CUES)


# What the caller first took the thing for (我以为是自来水管; 路人以为是网线; 原以为是工地扬尘, 打了
# 住建电话): the clause after 以为 names the owner it turned out not to be. It is read like an
# aside, so 自来水 does not send a dug-up gas pipe to the water company.
_MISTAKEN = re.compile(rf"(?:误|原|本来|还|都)?以为(?P<words>[^{_STOP}\s]{{1,16}})")


def mistaken(text: str) -> tuple[str, str]:
    """(the text with what the caller mistook the thing for cut out, those words);
    (text, "") when it says nothing of the kind."""
    return _set_apart(text, _MISTAKEN, ("以为",))


# A grid worker's numbered log that points at the entry to dispatch (今日：1.巡查无占道；2.居民反映
# 18路公交不靠站；3.督导垃圾分类。2项请交通部门处理。): the other entries are the day's routine,
# read like an aside; the entry pointed at, and the pointing (which may name the unit), are the
# matter. Entries are numbered 1. 1、 1． after the start or a stop (1.5米 is no entry), and the
# pointer is N项请/需/由/转/交/报 or 第N项 … after the entries.
_ENTRY = re.compile(rf"(?:^|(?<=[{_STOP}\s]))([1-9])[.、．](?!\d)")
_POINTER = re.compile(r"第?([1-9])项(?:请|需|由|转|交|报|要)")


def pointed(text: str) -> tuple[str, str]:
    """(the entry a numbered log points at, with the pointing; the other entries joined by
    "；"); (text, "") when the text is no such log."""
    if "项" not in text:
        return text, ""
    entries = list(_ENTRY.finditer(text))
    if len(entries) < 2:
        return text, ""
    pointers = [m for m in _POINTER.finditer(text) if m.start() > entries[1].start()]
    if not pointers:
        return text, ""
    pointer = pointers[-1]
    number = pointer.group(1)
    starts = [m.start() for m in entries]
    ends = [*starts[1:], len(text)]
    chosen = [i for i, m in enumerate(entries) if m.group(1) == number]
    if len(chosen) != 1:
        return text, ""
    at = chosen[0]
    # The last entry runs to the pointer's sentence, which is kept with the entry pointed at.
    sentence = max(text.rfind(stop, 0, pointer.start()) for stop in _STOP) + 1
    ends[-1] = max(starts[-1], sentence)
    matter = text[starts[at]:ends[at]] + text[sentence:]
    others = [text[:starts[0]], *(text[starts[i]:ends[i]] for i in range(len(entries)) if i != at)]
    rest = "；".join(part.strip(_STOP + " ") for part in others if part.strip(_STOP + " "))
    if len(matter.strip()) < 6 or not rest:
        return text, ""
    return matter, rest
