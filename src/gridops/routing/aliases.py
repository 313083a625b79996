"""How people name the receiving units in a complaint (诉求：请城管处理, 要求公安机关查处 …).

A hotline operator often writes which department the caller asks for. Such a mention is
evidence for that unit, but only among units the text already matches by item: it breaks ties
between candidate items, it never invents an item. Addresses mention 街道 and 社区 everywhere,
so the street office is recognised only by 街道办 and 居委会.
"""

from __future__ import annotations

UNIT_ALIASES: dict[str, tuple[str, ...]] = {
    "UMLE": ("城管", "综合执法", "执法局", "环卫部门"),
    "HURD": ("住建", "住房和城乡建设", "建设局", "房产局", "房管局", "房管所"),
    "PSB": ("公安", "派出所", "警察", "民警", "交警", "报警"),
    "EEB": ("环保部门", "环保局", "生态环境"),
    "MRB": ("市场监管", "市监局", "工商部门", "工商局"),
    "CAB": ("民政",),
    "HRSS": ("人社", "劳动监察", "人力资源和社会保障", "劳动仲裁"),
    "HCB": ("卫健", "卫生健康", "卫生部门", "疾控"),
    "EDU": ("教育局", "教育部门"),
    "TRB": ("交通运输", "交通局", "运管"),
    "EMB": ("应急管理", "应急局", "安监"),
    "NRPB": ("自然资源", "国土", "规划局", "规划部门"),
    "ARWB": ("农业农村", "水利", "农业部门", "畜牧"),
    "JUB": ("司法所", "司法局", "法律援助中心", "调解委员会"),
    "DPF": ("残联",),
    "HSB": ("医保局", "医保部门", "医疗保障"),
    "CTRB": ("文旅", "文化旅游", "文体局", "体育局"),
    "FRB": ("消防部门", "消防队", "消防救援", "119"),
    "PWR": ("供电", "电力公司", "国网", "电业局"),
    "WTR": ("水务", "自来水公司", "供水公司", "排水公司"),
    "GAS": ("燃气公司", "新奥", "燃气部门", "煤气公司"),
    "TEL": ("电信", "联通", "中国移动", "移动公司", "运营商"),
    "STR": ("街道办", "居委会"),
}

# What follows a unit's name when the caller says that unit turned the matter away (打了医保局，
# 医保局称不归其管; 电信讲不是他们的线): sent from one office to the next, the caller names the
# offices that refused, and a refusal is no evidence for that unit. Looked for within
# REFUSAL_REACH characters after the name (normalised text: no punctuation).
REFUSING: tuple[str, ...] = (
    "不归", "不是他们", "不是我们", "不属于", "不管这", "不负责", "说不是", "讲不是", "称不是",
    "港不是", "让找", "叫找", "让我找", "叫我找", "让我们找", "叫我们找", "推给", "让去找",
    "让打", "叫打", "又讲打", "又说打", "管不了", "没权管", "无权", "不属本", "不属其", "不属我",
    "认为不是", "表示不是", "答复不是", "回复不是", "确认不是", "认定不是", "判断不是",
)
REFUSAL_REACH = 12

# A caller unsure whom to ask lists the units as alternatives (该找城管、交警还是供电; 找燃气的还是
# 物业的): a unit named in such a question is no request for it. "还是" within WAVER_REACH
# characters after the name, or just before it (还是找城管), makes a naming one of these.
WAVERING = "还是"
WAVER_REACH = 8

# How people say that no unit owns the thing (normalised: no punctuation, lower case). What has
# no owner goes to the street (街镇托底): an owner that disowns it, or a thing nobody owns, is
# the street's to settle, however well the text describes an owner's asset.
DISOWNING: tuple[str, ...] = (
    "无主", "没有主", "冒得主", "冒主", "找不到主", "找不到产权", "找不到屋主", "产权不明",
    "权属不明", "权属不清", "没人认领", "不知道是谁的", "不晓得是哪个的", "不知道归谁",
    "不晓得归谁", "都说不是", "均称不是", "不是自己的", "不是他们的资产", "没人认账", "冇人认账",
    "无人认账", "无人认领", "无人认管", "没人认管", "冇人认", "非路灯所", "村民自筹",
    "院子没人管", "院子没有人管", "院里没人管", "院子冇人管", "厂子早没了", "厂子冇了",
    "单位早没了", "不归哪个单位", "不知道房子是谁的", "不晓得房子是哪个的",
    "楼没人管", "楼冇人管", "没人管的老", "冇人管的老", "小区没人管", "小区冇人管",
    "不知道是谁种的", "不晓得是哪个种的",
)
