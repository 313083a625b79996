"""The demo table holds the boundary calls of tests/routing/corpus/README.md (who owns what when two
units are plausible). Texts written for this test, not taken from the corpus; each is decided by
the rules alone and by the default router (rules, similarity and the learned model)."""

import pytest

from gridops.routing.rules import CompiledRules, Hints, Weights
from gridops.routing.table import demo_rules_path, parse_table

STREET = "430204001"

CALLS = [
    # A landlord who cuts water and power and changes the lock over rent, without threats → the
    # street (租赁纠纷 调处); forest-fire prevention before any fire → EMB; frozen meat without a
    # quarantine certificate in a shop's freezer → MRB (sale, not the animal epidemic).
    ("房东嫌我交租晚了两天，把水电闸拉了还换了门锁，我进不了门", "STR"),
    ("山上有人烧田埂，火星子往林子里飘，还没烧起来", "EMB"),
    ("超市冷柜里的冻品猪肉没有检疫证明，也没有生产日期", "MRB"),
    # 消火栓: broken and dry → the fire brigade; leaking → the water company.
    ("路口那个消火栓被车撞歪了，未见漏水，但是拧不动了", "FRB"),
    ("小区门口的消防栓底座一直漏水，地上都是水", "WTR"),
    ("公园门口那个消火栓根部漏水，旁边地上都长青苔了", "WTR"),
    # 小区内路灯 with a property firm → HURD; an ownerless village lamp → the street.
    ("小区里的路灯坏了一排，物业说等配件，等了半个月", "HURD"),
    ("村里巷子的几盏路灯是村民自己凑钱装的，坏了半年没人修", "STR"),
    # A cover with no marking has no known owner → the street (街镇托底); a marked one → its owner.
    # 马葫芦 is the north-east's word for a manhole cover.
    ("菜场后门有个圆井盖裂成两半了，上面什么字都没有，怕人踩空", "STR"),
    ("楼下那个马葫芦盖子翻起来了，上面写着污水两个字", "WTR"),
    # 有线电视 → 广电 (CTRB), broadband → the telecom operators.
    ("家里有线电视这几天全是雪花，一个台都看不了", "CTRB"),
    ("我家的有线电视没信号了，打广电客服一直占线", "CTRB"),
    ("家里宽带三天连不上网，客服一直说在排查", "TEL"),
    # 盲道, damaged or blocked → 残联 (DPF), not the pavement's owner.
    ("人行道上的盲道砖缺了好几块，盲人走着很危险", "DPF"),
    # A driving school's refund → TRB's 驾培 supervision, not MRB.
    ("在驾校交了学费，一直约不到车，现在要退费驾校不肯退", "TRB"),
    # A village road → TRB's rural roads; a city street → HURD.
    ("村道路面塌陷了一大块，农用车过不去", "TRB"),
    ("城区马路上有个大坑，晚上骑车差点摔", "HURD"),
    # A road that sinks with water seeping out → the water company (a main underneath leaks).
    ("十字路口的路面塌陷了一块，坑里有水渗出来", "WTR"),
    ("人行道沉下去一块，砖缝里一直往外渗清水", "WTR"),
    # Dogs (leash, bites, large breeds, barking) → PSB (养犬管理); dog mess on a lane → the street.
    ("楼下那户养的大狗出门从来不牵绳，今天差点扑到我家小孩", "PSB"),
    ("隔壁家的狗白天一直叫，吵得人没法休息", "PSB"),
    ("后面那条巷子狗屎烂菜叶一地，好久没人扫了", "STR"),
    # Day care for children under three (托育) → the health bureau; a kindergarten's class → EDU.
    ("楼下新开的托育园一个阿姨带八个两岁的娃，窗户也没装护栏", "HCB"),
    ("幼儿园的托班一个月收三千多，比小班还贵", "EDU"),
    # A farm's drainage ditch → ARWB (农田水利); a street's drain → WTR.
    ("田边那条排水沟堵死了，稻田里水排不出去", "ARWB"),
    ("小区门口的下水道堵了，污水漫到路上", "WTR"),
    # A dog's rabies shot → ARWB (动物防疫).
    ("想给家里狗打狂犬疫苗，去哪里打", "ARWB"),
    # Shared bikes → TRB (it supervises the operators' fleets), UMLE co-unit.
    ("地铁口那一片共享单车堆得横七竖八，人行道都过不去了", "TRB"),
    ("小区门口扫码骑的那种单车停了几十辆，把路口都堵死了", "TRB"),
]


@pytest.fixture(scope="module", params=["rules", "default"])
def router(request: pytest.FixtureRequest) -> CompiledRules:
    items = parse_table(demo_rules_path()).items
    weights = Weights(fallback=0.0, model=0.0) if request.param == "rules" else Weights()
    return CompiledRules(1, items, weights)


@pytest.mark.parametrize(("text", "unit"), CALLS)
def test_the_demo_table_keeps_the_corpus_boundary_calls(router: CompiledRules, text: str,
                                                       unit: str) -> None:
    decision = router.decide(text, Hints(street_code=STREET), threshold=0.3)
    assert decision.unit_code == unit, decision.reasons
