"""Who reports is not what is reported: the reporter's opening is cut off and read at a low
weight, the matter at full weight. Texts written for this test, not taken from the corpus."""

from __future__ import annotations

import pytest

from gridops.routing.reporter import aside, figures, mistaken, pointed, split
from gridops.routing.rules import CompiledRules, Hints, Weights
from gridops.routing.table import demo_rules_path, parse_table

STREET = "430204001"
BUS_STOP = "来电人系公交司机，反映龙泉路公交站台比路面高一大截，没有坡道，坐轮椅的人上不了车"


@pytest.mark.parametrize(("text", "who", "rest"), [
    ("来电人系公交司机，反映站台没有坡道", "公交司机", "反映站台没有坡道"),
    ("来电人有糖尿病，在停车场看到车里有小孩哭", "有糖尿病", "在停车场看到车里有小孩哭"),
    ("来电人上夜班，白天补觉被隔壁吵醒", "上夜班", "白天补觉被隔壁吵醒"),
    ("12路驾驶员谭师傅来电，说有位老奶奶一周没见着了", "12路驾驶员谭师傅",
     "说有位老奶奶一周没见着了"),
    ("来电人是本小区业主。楼上漏水", "本小区业主", "楼上漏水"),
    ("锦江华府业委会反映：小区门口教练车练车", "锦江华府业委会", "小区门口教练车练车"),
    ("社区刘主任，业委会这边反映个事：楼顶装了基站", "业委会", "楼顶装了基站"),
    ("刘书记您好，我是物业的，小区外面路灯不亮", "物业", "小区外面路灯不亮"),
    ("代5楼几户报：楼道里有人烧纸", "代5楼几户", "楼道里有人烧纸"),
    ("开网约车的，菜市场门口摊子摆到车道上了", "开网约车的", "菜市场门口摊子摆到车道上了"),
    ("我是开的士的。昨晚被人打了", "开的士的", "昨晚被人打了"),
    ("我是住在3栋的，楼上漏水", "住在3栋", "楼上漏水"),
    ("本人系退休教师；学校门口有人卖三无零食", "退休教师", "学校门口有人卖三无零食"),
    ("跑滴滴路过石峰大道，看到路面陷下去一块", "跑滴滴", "路过石峰大道，看到路面陷下去一块"),
    # whom the caller speaks for, by a lasting condition; and a caller living in a care home
    ("来电人女儿肢体残疾，反映有人拦住她要钱", "女儿肢体残疾", "反映有人拦住她要钱"),
    ("我老公眼睛看不见，盲道上摆满了菜筐", "老公眼睛看不见", "盲道上摆满了菜筐"),
    ("来电人82岁住养老院，反映医院只能手机挂号", "82岁住养老院", "反映医院只能手机挂号"),
    ("我住敬老院，房里电话打不进来", "住敬老院", "房里电话打不进来"),
    # a grid worker's visit note: whom they visited is not the matter
    ("走访独居老人：夜里有老鼠在灶台上跑", "独居老人", "夜里有老鼠在灶台上跑"),
    ("入户走访低保户，发现楼道灯坏了", "低保户", "发现楼道灯坏了"),
    # a trade that drives or delivers, without 我是; a grid log naming who told it (the place kept)
    ("跑网约车的，那一片手机没信号", "跑网约车的", "那一片手机没信号"),
    ("送外卖的，路口井盖碎了", "送外卖的", "路口井盖碎了"),
    ("我坐轮椅的，楼里电梯这个月坏了四次", "坐轮椅的", "楼里电梯这个月坏了四次"),
    ("我是听障人士，投了分拣岗，面试说不招", "听障人士", "投了分拣岗，面试说不招"),
    ("田心街道4号网格，公交司机反映站前排水口堵了", "公交司机", "田心街道4号网格，站前排水口堵了"),
])
def test_an_opening_that_names_the_reporter_is_cut_off(text: str, who: str, rest: str) -> None:
    assert split(text) == (who, rest)


@pytest.mark.parametrize("text", [
    "小区路灯不亮",
    "楼下饭店油烟太大投诉：每天晚上都熏得开不了窗",  # the matter itself before 投诉
    "我是被狗咬的，要打疫苗",  # 我是…的 telling what happened, not who
    "我是想问一下燃气费怎么交，营业厅关门了",
    "来电人系公交司机。",  # nothing but the opening: it is all there is to read
    "公交司机开车打电话，太危险了",  # the driver is the matter here
    "家里瘫痪的婆婆长了褥疮，社区医院不上门",  # no kin-and-condition opening: the matter
    "我和老伴七十多了，儿子智力残疾，以后谁照顾他",  # the condition comes after the opening
    "开了一家店，油烟很大",  # 开 not followed by a trade that drives
    "田心社区，路灯不亮三天了",  # a place and then the matter, nobody named
])
def test_other_openings_are_left_whole(text: str) -> None:
    assert split(text) == ("", text)


@pytest.mark.parametrize(("text", "unit"), [
    (BUS_STOP, "DPF"),
    ("锦江华府业委会反映：小区北门外仓库堆了很多油漆稀料和液化气钢瓶，离住宅楼不到三十米", "EMB"),
    ("开网约车的，每天早上菜市场门口卖菜的把箩筐摆到机动车道上，车只能一辆一辆挪", "UMLE"),
    ("来电人女儿肢体残疾，反映小区门口几个青年天天拦住她要钱，昨天还动手推了她", "PSB"),
    ("我住敬老院，房里那部固定电话一拿起来就沙沙响，宽带也老断", "TEL"),
])
def test_the_matter_decides_not_the_reporters_trade(demo: CompiledRules, text: str,
                                                     unit: str) -> None:
    d = demo.decide(text, Hints(street_code=STREET))
    assert (d.unit_code, d.needs_triage) == (unit, False), d.reasons
    assert d.reasons[0].startswith("the opening “")
    assert "names the reporter, not the matter: read at weight ×0.25" in d.reasons[0]


def test_read_at_full_weight_the_opening_pulls_to_the_reporters_unit() -> None:
    """The same text with the split off (`reporter` 1): the trade's own item leads."""
    rules = CompiledRules(1, parse_table(demo_rules_path()).items, Weights(reporter=1.0))
    d = rules.decide(BUS_STOP, Hints(street_code=STREET))
    assert d.candidates[0].unit_code == "TRB"
    assert not any(r.startswith("the opening") for r in d.reasons)


def test_the_openings_phrases_stay_among_the_candidates(demo: CompiledRules) -> None:
    """At a quarter of their weight they do not decide, but the dispatcher still sees them."""
    d = demo.decide(BUS_STOP, Hints(street_code=STREET))
    assert "TRB" in [c.unit_code for c in d.candidates]


def test_openings_are_scanned_once_and_kept_within_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    from gridops.routing import rules as compiled

    monkeypatch.setattr(compiled, "_OPENINGS", 3)
    rules = CompiledRules(1, parse_table(demo_rules_path()).items)
    first = rules.opening("公交司机")
    assert first == rules.scan("公交司机", 0.25, exclusions=False).found
    assert first  # 公交司机 is a phrase of the bus operator's item
    assert rules.opening("公交司机") is first  # kept, not scanned again
    for who in ("业委会", "物业", "网格员"):
        rules.opening(who)
    assert len(rules._openings) <= 3  # a stream of new openings cannot grow it without end
    assert rules.opening("公交司机") == first


@pytest.mark.parametrize(("text", "main", "by_the_way"), [
    ("光缆飞线垂到两米以下；另反映门口路灯不亮。", "光缆飞线垂到两米以下；",
     "另反映门口路灯不亮。"),
    ("停水两天了，另外门口路灯不亮。主要诉求是停水", "停水两天了，主要诉求是停水",
     "另外门口路灯不亮。"),
    ("两伙人打架，烧烤摊占道问题也一并反映。请公安处理", "两伙人打架，请公安处理",
     "烧烤摊占道问题也一并反映。"),
])
def test_a_concern_added_in_passing_is_set_apart(text: str, main: str, by_the_way: str) -> None:
    assert aside(text) == (main, by_the_way)


@pytest.mark.parametrize(("text", "main", "before"), [
    ("小区门禁坏了、物业费偏高，最关注的是门外堆了建筑垃圾", "最关注的是门外堆了建筑垃圾",
     "小区门禁坏了、物业费偏高，"),
    ("路灯不亮，垃圾也没人收，但其主要诉求是小区停水两天了", "主要诉求是小区停水两天了",
     "路灯不亮，垃圾也没人收，但其"),
    ("社区医院挂号难、药房缺药，其主要诉求为：母亲的慢病药能不能用医保报",
     "主要诉求为：母亲的慢病药能不能用医保报", "社区医院挂号难、药房缺药，其"),
    ("家门口下水道有点臭、车位紧张，但本次主要反映：公交晚上八点半后就没车了",
     "主要反映：公交晚上八点半后就没车了", "家门口下水道有点臭、车位紧张，但本次"),
])
def test_the_concern_said_to_matter_most_decides(text: str, main: str, before: str) -> None:
    assert aside(text) == (main, before)


def test_a_report_that_opens_with_its_main_concern_is_whole() -> None:
    text = "来电人主要反映小区门口路灯不亮"
    assert aside(text) == (text, "")


def test_a_follow_up_notes_closed_case_is_set_apart() -> None:
    """复查/回访: the case checked and closed first, the new problem found on the visit after."""
    text = "复查小区门口流动摊贩工单，摊贩已撤离。旁边新开一家熟食店，没有营业执照"
    closed = "复查小区门口流动摊贩工单，摊贩已撤离。"
    assert aside(text) == ("旁边新开一家熟食店，没有营业执照", closed)
    assert aside("复查发现井盖还是坏的，没人来修") == ("复查发现井盖还是坏的，没人来修", "")
    # 跟进 continues the same case: nothing is closed
    same = "跟进前述个案：当事人已搬回娘家，想申请法律援助离婚"
    assert aside(same) == (same, "")


@pytest.mark.parametrize(("text", "main", "closed"), [
    ("违停已清，销号。另：三号楼一独居老人家里断粮两天", "另：三号楼一独居老人家里断粮两天",
     "违停已清，销号。"),
    ("路灯已修复，结案。另有居民反映小区门口公交站牌倒了", "另有居民反映小区门口公交站牌倒了",
     "路灯已修复，结案。"),
    ("核查工单（垃圾满溢）已清运，可销号。巡查中另发现河边有人电鱼", "巡查中另发现河边有人电鱼",
     "核查工单（垃圾满溢）已清运，可销号。"),
    ("已核实：上周报的楼道堆物已清理。此外菜场门口井盖缺了一块", "此外菜场门口井盖缺了一块",
     "已核实：上周报的楼道堆物已清理。"),
])
def test_a_note_that_closes_a_case_then_reports_another_is_set_apart(text: str, main: str,
                                                                     closed: str) -> None:
    assert aside(text) == (main, closed)


@pytest.mark.parametrize("text", [
    "工单显示已结案。可到现在还是不亮，晚上黑漆漆",  # the closed case is still the matter
    "路灯报修三次都说已结案，根本没人来修",
])
def test_a_closed_case_that_is_still_the_matter_is_whole(text: str) -> None:
    assert aside(text) == (text, "")


@pytest.mark.parametrize("text", [
    "工地半夜泵送吵到凌晨，主要是晚上，请查一查",  # 主要是 qualifies, it names nothing else
    "最好的是这家店还开着",  # nothing before it
    "小区另一侧的路灯不亮",  # 另 inside a word
    "线缆断头落在人行道上，另一头还连在杆子上",
    "拉客人去吃饭，顺便在酒楼门口等他，里面好多人抽烟",  # 顺便 as an adverb
    "另外我想问一下低保怎么申请",  # nothing would be left as the main concern
])
def test_words_like_the_markers_are_not_asides(text: str) -> None:
    assert aside(text) == (text, "")


def test_the_main_concern_decides_and_the_aside_stays_a_candidate(demo: CompiledRules) -> None:
    text = "小区光缆飞线垂到两米以下，挂到晾衣服的人；另反映门口路灯不亮。"
    d = demo.decide(text, Hints(street_code=STREET))
    assert d.unit_code == "TEL", d.reasons
    assert "UMLE" in [c.unit_code for c in d.candidates]
    assert any(r.startswith("“另反映门口路灯不亮。” is added in passing") for r in d.reasons)
    whole = CompiledRules(1, parse_table(demo_rules_path()).items, Weights(reporter=1.0))
    assert whole.decide(text, Hints(street_code=STREET)).unit_code == "UMLE"


@pytest.mark.parametrize(("text", "rest", "likened"), [
    ("教室窗户跟出土文物似的，玻璃碎了好几块", "教室窗户，，玻璃碎了好几块", "出土文物"),
    ("签完合同又加价五千，这跟拦路抢劫有什么区别", "签完合同又加价五千，这，", "拦路抢劫"),
    ("楼道黑得像山洞一样，墙皮掉得跟下雪一般", "楼道黑得，，墙皮掉得，", "山洞；下雪"),
])
def test_what_a_figure_of_speech_likens_the_matter_to_is_set_apart(text: str, rest: str,
                                                                   likened: str) -> None:
    assert figures(text) == (rest, likened)


@pytest.mark.parametrize("text", [
    "盖的房子跟报批的图纸不一样，多了两层",  # a difference stated: the matter itself
    "跟物业说了好几次，还是没人来修电梯",  # 跟 as "to", no comparison closed
    "像这种占道的摊子一条街都是",  # 像 as "such as"
    "跟打雷一样",  # nothing would be left
])
def test_words_like_a_figure_of_speech_are_left_whole(text: str) -> None:
    assert figures(text) == (text, "")


def test_a_figure_of_speech_does_not_route(demo: CompiledRules) -> None:
    """拦路抢劫 is what a housing agent's mark-up is likened to, not a robbery: read at the
    reporter's weight, it no longer sends the order to the police."""
    text = "楼下中介签了合同又加价五千，这跟拦路抢劫有什么区别"
    d = demo.decide(text, Hints(street_code=STREET))
    assert d.unit_code != "PSB", d.reasons
    assert any("likens the matter to" in r for r in d.reasons)
    # Read as the matter, the likened words route: the rules alone send it to the police (the
    # learned model, which reads the whole text, only doubts it into triage).
    whole = CompiledRules(1, parse_table(demo_rules_path()).items,
                          Weights(reporter=1.0, model=0.0))
    assert whole.decide(text, Hints(street_code=STREET)).unit_code == "PSB"


@pytest.mark.parametrize(("text", "rest", "taken"), [
    ("挖机挖破一根黄管子，往外冒气。我以为是自来水管，走近一股臭味",
     "挖机挖破一根黄管子，往外冒气。我，，走近一股臭味", "是自来水管"),
    ("路人原以为是网线 想剪掉 已制止", "路人， 想剪掉 已制止", "是网线"),
])
def test_what_the_caller_first_took_it_for_is_set_apart(text: str, rest: str,
                                                        taken: str) -> None:
    assert mistaken(text) == (rest, taken)


@pytest.mark.parametrize("text", [
    "楼下饭店油烟很大，熏得人受不了",  # no 以为
    "我以为是自来水",  # nothing would be left
])
def test_a_text_without_a_mistaken_owner_is_whole(text: str) -> None:
    assert mistaken(text) == (text, "")


def test_a_mistaken_owner_does_not_route(demo: CompiledRules) -> None:
    """The water company the caller first thought of is not the owner of the gas pipe that was
    dug up: read at the reporter's weight, 自来水管 no longer decides."""
    text = ("小区里挖路，挖机把一根黄色塑料管挖破了，呼呼往外冒气，我以为是自来水管，"
            "走近闻到一股很冲的臭味")
    d = demo.decide(text, Hints(street_code=STREET))
    assert d.unit_code == "GAS", d.reasons
    whole = CompiledRules(1, parse_table(demo_rules_path()).items,
                          Weights(reporter=1.0, model=0.0))  # the rules alone, as above
    assert whole.decide(text, Hints(street_code=STREET)).unit_code == "WTR"


@pytest.mark.parametrize(("text", "matter", "others"), [
    ("今日：1.巡查无占道；2.居民反映12路公交到站不停；3.督导垃圾分类。2项请交通部门处理。",
     "2.居民反映12路公交到站不停；2项请交通部门处理。", "今日；1.巡查无占道；3.督导垃圾分类"),
    ("1、走访独居老人；2、楼道灯不亮了；第1项需民政跟进", "1、走访独居老人；第1项需民政跟进",
     "2、楼道灯不亮了"),
    ("日志：1．清理小广告两处；2．退休金没到账。2项请人社协助", "2．退休金没到账。2项请人社协助",
     "日志；1．清理小广告两处"),
])
def test_a_numbered_log_is_read_for_the_entry_it_points_to(text: str, matter: str,
                                                           others: str) -> None:
    assert pointed(text) == (matter, others)


@pytest.mark.parametrize("text", [
    "1.水管爆了 2.路灯不亮",  # no pointer
    "路面塌了1.5米，请尽快处理",  # a decimal, no entries
    "1.水管爆了；2.路灯不亮；3项请处理",  # points at no entry
    "2项请交通部门处理：1.公交不停 2.站牌歪了",  # the pointer comes before the entries
])
def test_a_text_that_is_no_pointed_log_is_whole(text: str) -> None:
    assert pointed(text) == (text, "")


def test_the_other_entries_of_a_log_do_not_route(demo: CompiledRules) -> None:
    text = ("今日：1.协助清理小广告三处；2.督导垃圾分类；3.居民反映小区门口18路公交站牌被车撞歪了，"
            "边角很锋利。3项请交通部门处理。")
    d = demo.decide(text, Hints(street_code=STREET))
    assert d.unit_code == "TRB", d.reasons
    assert any("日志其他事项" in reason for reason in d.reasons)
