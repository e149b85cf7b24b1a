"""Name lists and proportions of the synthetic workload (:mod:`producers.workload`).

The figures are modelled on the seed work reports (``/work/shared/seeds``) and common 12345 / 信访 / 政务服务
statistics: the hotline dominates intake; about 30% of service-centre applications are done on the spot
(即办件: 71,996 of 236,985 in one centre's report); promised applications (承诺件) take 1.32 working days on
average; satisfaction is high (99.98% at the service centre, lower on hotlines and petitions).

The city is Shijiazhuang (石家庄), the city of the seed's housing-bureau report: its 22 county-level regions
with their administrative-division codes (used in the synthetic ID numbers) and rough population weights.
Everything here is plain data; nothing reads a file or the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import mul

# --- the city --------------------------------------------------------------------------------------
#: (region, administrative-division code, weight ~ population)
REGIONS: tuple[tuple[str, str, float], ...] = (
    ("长安区", "130102", 8.0),
    ("桥西区", "130104", 9.0),
    ("新华区", "130105", 8.0),
    ("井陉矿区", "130107", 1.0),
    ("裕华区", "130108", 9.0),
    ("藁城区", "130109", 6.0),
    ("鹿泉区", "130110", 4.5),
    ("栾城区", "130111", 3.5),
    ("井陉县", "130121", 2.5),
    ("正定县", "130123", 4.5),
    ("行唐县", "130125", 3.0),
    ("灵寿县", "130126", 2.5),
    ("高邑县", "130127", 1.5),
    ("深泽县", "130128", 1.5),
    ("赞皇县", "130129", 2.0),
    ("无极县", "130130", 3.0),
    ("平山县", "130131", 3.5),
    ("元氏县", "130132", 3.0),
    ("赵县", "130133", 3.5),
    ("辛集市", "130181", 4.5),
    ("晋州市", "130183", 3.5),
    ("新乐市", "130184", 3.0),
)
URBAN_REGIONS: tuple[str, ...] = ("长安区", "桥西区", "新华区", "裕华区")

ESTATES: tuple[str, ...] = tuple(
    a + b
    for a in ("阳光", "锦绣", "金色", "翡翠", "华润", "东方", "和平", "建华", "育才", "槐安", "中华", "友谊")
    for b in ("小区", "花园", "家园", "嘉园", "新城")
)
ROADS: tuple[str, ...] = (
    "中山路", "建设大街", "裕华路", "槐安路", "体育大街", "友谊大街", "中华大街", "和平路",
    "胜利大街", "平安大街", "红旗大街", "联盟路", "北二环", "南二环", "东二环", "西二环",
    "石岗大街", "青园街", "维明大街", "仓丰路",
)  # fmt: skip

# --- people (synthetic) ----------------------------------------------------------------------------
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史"
)
GIVEN_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆建国志永立新海东兴旭振峰"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英玲桂红燕萍婷雪琳晶颖慧倩佳欣怡梅兰凤洁琴云莉丹璐"
PHONE_PREFIXES: tuple[str, ...] = tuple(
    "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 166 "
    "173 175 176 177 178 180 181 182 183 185 186 187 188 189 191 198 199".split()
)
ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 (ISO 7064 MOD 11-2) check character of an 18-digit resident ID number."""
    return ID_CHECK[sum(map(mul, map(int, first17), ID_WEIGHTS)) % 11]


# --- categories, departments and what people ask about --------------------------------------------------
@dataclass(frozen=True)
class Category:
    name: str
    weight: float
    departments: tuple[str, ...]  # the first is the usual handler; "{region}" = the district government
    problems: tuple[str, ...]


HOTLINE_CATEGORIES: tuple[Category, ...] = (
    Category("物业管理", 12, ("市住房和城乡建设局", "{region}住房和城乡建设局"),
             ("物业公司不作为,楼道卫生长期无人清扫", "物业擅自上调物业费", "小区电梯频繁故障无人维修", "小区车位被物业违规出租")),
    Category("供暖供热", 7, ("市城市管理综合行政执法局", "市热力集团有限公司"),
             ("室内温度不达标", "暖气不热,多次报修未果", "供热管道漏水", "已缴费但未开栓供暖")),
    Category("市政设施", 8, ("市城市管理综合行政执法局", "{region}人民政府"),
             ("路灯不亮", "井盖缺失存在安全隐患", "路面塌陷坑洼不平", "雨污管道堵塞污水外溢")),
    Category("交通出行", 8, ("市交通运输局", "市公安局交通管理局"),
             ("公交车辆不按站点停靠", "出租车拒载绕路", "路口信号灯配时不合理", "共享单车乱停乱放")),
    Category("环境保护", 7, ("市生态环境局", "{region}生态环境分局"),
             ("餐饮油烟扰民", "夜间施工噪音扰民", "企业排放异味气体", "河道有污水排放")),
    Category("劳动保障", 8, ("市人力资源和社会保障局", "{region}人力资源和社会保障局"),
             ("单位拖欠工资", "用人单位未依法缴纳社会保险", "农民工工资被拖欠", "劳动合同纠纷")),
    Category("市场监管", 9, ("市市场监督管理局", "{region}市场监督管理局"),
             ("商家预付卡退费难", "网购商品质量问题投诉", "超市销售过期食品", "餐馆卫生条件差")),
    Category("教育", 5, ("市教育局", "{region}教育局"),
             ("学校违规收费", "入学政策咨询", "校外培训机构退费纠纷", "校车安全问题")),
    Category("医疗卫生", 5, ("市卫生健康委员会", "市医疗保障局"),
             ("医院就诊排队时间长", "医保报销比例咨询", "诊所无证行医", "医疗收费不合理")),
    Category("社会保障", 6, ("市民政局", "市人力资源和社会保障局", "市医疗保障局"),
             ("低保申请进度咨询", "养老金调整咨询", "高龄津贴未按时发放", "残疾人补贴申领")),
    Category("城市管理", 8, ("市城市管理综合行政执法局", "{region}人民政府"),
             ("占道经营影响通行", "私搭乱建", "垃圾清运不及时", "违规设置户外广告")),
    Category("住房保障", 5, ("市住房保障和房产管理局", "市住房公积金管理中心"),
             ("公租房申请进度", "公积金提取咨询", "不动产证迟迟办不下来", "老旧小区改造进度")),
    Category("公共安全", 4, ("市公安局", "市应急管理局", "市消防救援支队"),
             ("小区消防通道被占用", "电动车楼道充电安全隐患", "夜间聚众扰民", "燃气安全隐患")),
    Category("供水供电", 4, ("市水务局", "国网石家庄供电公司"),
             ("小区频繁停水", "自来水水质浑浊", "频繁停电", "水费计量异常")),
    Category("农业农村", 3, ("市农业农村局", "{region}人民政府"),
             ("农村道路损坏", "土地承包纠纷", "农资质量问题", "村务不公开")),
    Category("政务服务", 3, ("市行政审批局", "市政务服务管理办公室"),
             ("窗口办事效率低", "办事指南不清楚", "网上办事系统故障", "工作人员服务态度差")),
)  # fmt: skip

HOUSING_CATEGORIES: tuple[Category, ...] = (  # 12319, the housing and urban-construction line
    Category("物业服务", 30, ("市住房和城乡建设局", "{region}住房和城乡建设局"),
             ("物业服务质量差", "物业费收费不透明", "业委会选举纠纷", "小区公共收益不公开")),
    Category("燃气供应", 15, ("市城市管理综合行政执法局", "新奥燃气石家庄公司"),
             ("燃气表计量异常", "燃气管道改造进度", "燃气报装收费咨询")),
    Category("房屋质量", 15, ("市住房和城乡建设局", "市建设工程质量监督站"),
             ("新房墙体开裂渗水", "楼顶防水层破损漏雨", "外墙保温层脱落")),
    Category("商品房交易", 15, ("市住房保障和房产管理局", "{region}住房和城乡建设局"),
             ("开发商逾期交房", "网签备案办理咨询", "购房合同纠纷")),
    Category("建筑施工", 15, ("市住房和城乡建设局", "{region}住房和城乡建设局"),
             ("工地夜间施工扰民", "工地扬尘污染", "建筑工人工资拖欠")),
    Category("维修资金", 10, ("市住房保障和房产管理局",),
             ("公共维修资金使用申请", "维修资金余额查询")),
)  # fmt: skip

CITY_MANAGEMENT_CATEGORIES: tuple[Category, ...] = (  # 数字化城管: 部件 (components) and 事件 (events)
    Category("市容环境", 30, ("{region}城市管理综合行政执法局", "{region}人民政府"),
             ("暴露垃圾", "积存垃圾渣土", "道路不洁", "乱堆物料")),
    Category("街面秩序", 25, ("{region}城市管理综合行政执法局",),
             ("占道经营", "店外经营", "非法小广告", "乱摆卖")),
    Category("市政公用设施", 20, ("市城市管理综合行政执法局", "{region}人民政府"),
             ("井盖破损", "路灯损坏", "道路破损", "雨水篦子缺失")),
    Category("园林绿化", 10, ("市园林局", "{region}园林绿化中心"),
             ("绿地脏乱", "树木倒伏", "绿化带毁损")),
    Category("施工管理", 10, ("{region}住房和城乡建设局", "{region}城市管理综合行政执法局"),
             ("施工占道", "道路遗撒", "工地围挡破损")),
    Category("突发事件", 5, ("市城市管理综合行政执法局", "市水务局"),
             ("道路积水", "路面塌陷")),
)  # fmt: skip

DISCLOSURE_CATEGORIES: tuple[Category, ...] = (
    Category("征收补偿", 20, ("市自然资源和规划局", "{region}人民政府"), ("房屋征收补偿方案", "土地征收批复文件")),
    Category("规划许可", 18, ("市自然资源和规划局",), ("建设工程规划许可证", "控制性详细规划")),
    Category("项目审批", 14, ("市发展和改革委员会", "市行政审批局"), ("项目立项批复", "可行性研究报告批复")),
    Category("行政处罚", 12, ("市市场监督管理局", "市城市管理综合行政执法局"), ("行政处罚决定书", "执法检查记录")),
    Category("财政预决算", 10, ("市财政局",), ("部门预算及三公经费", "专项资金分配情况")),
    Category("环境影响评价", 10, ("市生态环境局",), ("建设项目环评批复", "企业排污许可信息")),
    Category("保障性住房", 8, ("市住房保障和房产管理局",), ("公租房分配名单", "棚户区改造安置方案")),
    Category("其他", 8, ("市政府办公室", "市机关事务管理局"), ("会议纪要", "办公用房清理整改情况")),
)  # fmt: skip

#: service-centre items: (item, window department, legal limit in working days, share done on the spot)
SERVICE_ITEMS: tuple[tuple[str, str, int, float], ...] = (
    ("企业设立登记", "市行政审批局", 15, 0.55),
    ("食品经营许可", "市行政审批局", 20, 0.10),
    ("建设工程规划许可", "市行政审批局", 20, 0.0),
    ("建筑工程施工许可", "市行政审批局", 15, 0.0),
    ("不动产登记", "市不动产登记中心", 30, 0.15),
    ("户籍迁移", "市公安局", 20, 0.70),
    ("社会保障卡补换", "市人力资源和社会保障局", 10, 0.80),
    ("住房公积金提取", "市住房公积金管理中心", 5, 0.60),
    ("医保关系转移", "市医疗保障局", 15, 0.40),
    ("道路运输经营许可", "市行政审批局", 20, 0.0),
    ("排污许可", "市生态环境局", 30, 0.0),
    ("残疾人证办理", "市残疾人联合会", 20, 0.20),
)
#: promised working days of a 承诺件 (a fraction of the legal limit) and their weights
PROMISED_DAYS: tuple[tuple[int, float], ...] = ((1, 30), (2, 20), (3, 25), (5, 18), (7, 5), (10, 2))

PROPOSAL_TOPICS: tuple[
    tuple[str, str], ...
] = (  # NPC suggestions / CPPCC proposals: (topic, lead department)
    ("加快老旧小区改造", "市住房和城乡建设局"),
    ("完善居家养老服务体系", "市民政局"),
    ("持续优化营商环境", "市行政审批局"),
    ("加强中小学课后服务", "市教育局"),
    ("缓解主城区交通拥堵", "市公安局交通管理局"),
    ("推进生活垃圾分类", "市城市管理综合行政执法局"),
    ("提升基层医疗服务能力", "市卫生健康委员会"),
    ("保护历史文化街区", "市文化广电和旅游局"),
    ("促进高校毕业生就业", "市人力资源和社会保障局"),
    ("加强滹沱河生态治理", "市水务局"),
    ("支持中小微企业融资", "市地方金融监督管理局"),
    ("推进数字政府建设", "市政务服务管理办公室"),
)

# --- reasons and notes -----------------------------------------------------------------------------------
RETURN_REASONS: tuple[str, ...] = (
    "非本单位职责范围", "诉求地址不属于本辖区", "该事项已由其他部门受理", "涉及司法程序,不属于行政处理范围",
)  # fmt: skip
EXTENSION_REASONS: tuple[str, ...] = (
    "情况复杂,需多部门协调", "需现场勘查并委托第三方检测", "涉及资金审批,需走程序", "需等待上级部门批复",
)  # fmt: skip
PETITION_REJECT_REASONS: tuple[str, ...] = (
    "已经或者依法应当通过诉讼、仲裁、行政复议等法定途径解决",
    "不属于本机关职责范围,已告知向有权机关提出",
    "同一事项已办结且无新的事实和理由",
)
SERVICE_REJECT_REASONS: tuple[str, ...] = ("申请材料不齐全,已一次性告知补正", "不符合法定条件")
DISCLOSURE_REJECT_REASONS: tuple[str, ...] = ("不属于政府信息公开申请,系咨询事项", "申请人未提供有效身份证明")
REOPEN_REASONS: tuple[str, ...] = (
    "回访不满意,问题未实际解决",
    "群众反映答复内容与事实不符",
    "整改未落实,申请重办",
)
REPLY_SUMMARIES: dict[str, tuple[str, ...]] = {
    "resolved": ("已现场处理完毕", "已协调相关单位解决", "已责令整改到位", "已为群众办理完毕"),
    "explained": ("已向群众解释相关政策", "已告知办理流程和所需材料", "经核实情况属实,已做好解释说明"),
    "not_resolvable": ("受客观条件限制暂无法解决,已做好解释", "诉求不符合政策规定"),
    "referred": ("已告知向有权机关反映", "已转有关单位依法处理"),
}
FOLLOWUP_NOTES: tuple[str, ...] = ("电话回访", "短信回访", "现场回访")
SUPERVISION_ISSUERS: dict[str, tuple[str, ...]] = {
    "leader_instruction": ("市长", "常务副市长", "分管副市长", "市委书记"),
    "office": ("市政府督查室", "市委督查室", "市政务服务管理办公室"),
    "npc": ("市人大常委会办公厅",),
    "cppcc": ("市政协办公室",),
    "other": ("市12345政务服务便民热线", "市信访局", "市纪委监委"),
}
SUPERVISION_LEVELS: tuple[tuple[str, float], ...] = (
    ("leader_instruction", 30), ("office", 42), ("npc", 8), ("cppcc", 7), ("other", 13),
)  # fmt: skip
SUPERVISION_SUBJECTS: tuple[str, ...] = (
    "重点工程项目建设进度", "群众反映强烈的供暖问题", "老旧小区改造工作", "12345热线工单超期办理", "信访积案化解",
    "大气污染防治措施落实", "政务服务事项网上可办", "拖欠农民工工资问题", "道路积水点整治", "营商环境问题整改",
)  # fmt: skip
RECTIFICATION_SOURCES: tuple[tuple[str, float], ...] = (
    ("inspection", 30), ("audit", 18), ("supervision", 22), ("public_review", 15), ("petition", 15),
)  # fmt: skip
RECTIFICATION_PROBLEMS: tuple[str, ...] = (
    "窗口办事指南未及时更新", "政务公开栏信息更新不及时", "依申请公开答复超期", "12345工单答复质量不高",
    "政府网站存在错链断链", "重点工程督办事项进度滞后", "信访事项化解不到位", "办公用房面积超标",
    "财政预决算公开不完整", "专项资金拨付不及时", "行政执法公示不规范", "群众反映问题回访不到位",
)  # fmt: skip
RECTIFICATION_MEASURES: tuple[str, ...] = (
    "制定整改方案,明确责任分工", "开展专项自查,建立问题台账", "完善相关工作制度", "组织业务培训",
    "逐项整改,逐项销号", "公开整改结果,接受群众监督", "开展整改“回头看”", "约谈相关责任人",
    "建立长效监管机制", "纳入年度目标考核",
)  # fmt: skip
RESPONSIBLE_TITLES: tuple[str, ...] = ("局长", "副局长", "主任", "副主任", "科长")


# --- channels ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Profile:
    """How one channel behaves. Probabilities are per case; ``limit`` is in ``unit`` (wd = working days,
    cal = calendar days, months) and is the deadline the generator aims at (most cases meet it)."""

    channel: str
    share: float  # of all intake
    intake: str  # "24h" | "online" | "daytime" | "office" | "burst"
    system: str  # part of the CloudEvents source
    id_prefix: str
    unit: str = "wd"
    limit: int = 5
    accept: bool = False
    p_reject: float = 0.0
    p_merge: float = 0.0
    p_direct: float = 0.0  # answered by the call taker at once (咨询件直接答复)
    p_urgent: float = 0.0
    p_return: float = 0.05
    p_extend: float = 0.03
    extend_by: int = 5
    p_suspend: float = 0.0
    p_followup: float = 0.9
    p_reopen: float = 0.6  # of dissatisfied ratings
    p_review: float = 0.0
    p_person: float = 0.5
    speed: float = 1.6  # > 1: resolutions cluster early in the allowed window
    satisfied_bias: float = 0.0  # 0 = the hotline mix, 1 = the service-centre mix


PROFILES: tuple[Profile, ...] = (
    Profile("hotline_12345", 0.545, "24h", "hotline/12345", "RX", p_merge=0.04, p_direct=0.22,
            p_urgent=0.05, p_return=0.08, p_extend=0.04, extend_by=10, p_person=0.45),
    Profile("hotline_12319", 0.06, "24h", "hotline/12319", "ZJ", p_merge=0.03, p_urgent=0.03,
            p_return=0.06, p_extend=0.04, extend_by=10, p_person=0.45),
    Profile("mayor_mailbox", 0.05, "online", "mailbox/mayor", "XX", limit=10, p_merge=0.02, p_return=0.04,
            p_extend=0.03, extend_by=5, p_followup=0.75, p_person=0.85),
    Profile("letter", 0.025, "office", "petition/letter", "XF-L", unit="cal", limit=60, accept=True,
            p_reject=0.07, p_return=0.04, p_extend=0.05, extend_by=30, p_suspend=0.02, p_followup=0.8,
            p_review=0.07, p_person=1.0, speed=1.2),
    Profile("visit", 0.015, "office", "petition/visit", "XF-V", unit="cal", limit=60, accept=True,
            p_reject=0.05, p_return=0.04, p_extend=0.05, extend_by=30, p_suspend=0.03, p_followup=0.85,
            p_review=0.08, p_person=1.0, speed=1.2),
    Profile("online_petition", 0.03, "online", "petition/online", "XF-W", unit="cal", limit=60, accept=True,
            p_reject=0.08, p_return=0.05, p_extend=0.04, extend_by=30, p_suspend=0.01, p_followup=0.8,
            p_review=0.05, p_person=1.0, speed=1.3),
    Profile("npc_suggestion", 0.012, "burst", "congress/npc", "RD", unit="months", limit=3, p_return=0.05,
            p_extend=0.05, extend_by=3, p_followup=0.95, p_reopen=0.0, p_person=0.0, speed=0.9),
    Profile("cppcc_proposal", 0.018, "burst", "congress/cppcc", "ZX", unit="months", limit=3, p_return=0.05,
            p_extend=0.05, extend_by=3, p_followup=0.95, p_reopen=0.0, p_person=0.0, speed=0.9),
    Profile("city_management", 0.10, "daytime", "city-management", "CG", limit=3, p_merge=0.02,
            p_return=0.06, p_extend=0.01, extend_by=2, p_followup=0.05, p_person=0.0, speed=2.0),
    Profile("disclosure_request", 0.015, "online", "disclosure", "YSQ", limit=20, accept=True,
            p_reject=0.03, p_return=0.03, p_extend=0.06, extend_by=20, p_suspend=0.15, p_followup=0.1,
            p_person=1.0, speed=1.2),
    Profile("service_center", 0.13, "office", "service-center", "ZW", limit=0, p_reject=0.01, p_return=0.0,
            p_extend=0.005, extend_by=5, p_followup=0.99, p_reopen=0.3, p_person=0.6, speed=3.0,
            satisfied_bias=1.0),
)  # fmt: skip

SATISFACTION: tuple[str, ...] = (
    "very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied", "unreachable",
)  # fmt: skip
SATISFACTION_HOTLINE: tuple[float, ...] = (42, 30, 12, 6, 2, 8)
SATISFACTION_SERVICE: tuple[float, ...] = (88, 10.5, 1.0, 0.02, 0.0, 0.5)
OUTCOMES: tuple[str, ...] = ("resolved", "explained", "not_resolvable", "referred")
OUTCOME_WEIGHTS: dict[str, tuple[float, ...]] = {
    "default": (70, 22, 5, 3),
    "petition": (55, 33, 8, 4),
    "disclosure": (55, 30, 7, 8),  # 予以公开 / 不予公开·信息不存在 / 无法提供 / 非本机关掌握
    "service": (99, 1, 0, 0),
    "proposal": (60, 35, 5, 0),  # 已解决或采纳 / 正在解决或列入计划 / 因条件限制留作参考
}
#: relative hourly intake of the 24-hour channels (0:00 .. 23:00)
HOURLY_24H: tuple[float, ...] = (
    1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.5, 3.5, 7.0, 9.0, 9.0, 8.5,
    6.0, 6.5, 8.0, 8.5, 8.0, 7.0, 5.0, 4.5, 4.0, 3.5, 2.5, 1.5,
)  # fmt: skip
HOURLY_ONLINE: tuple[float, ...] = (
    2.0, 1.2, 0.8, 0.5, 0.4, 0.5, 1.0, 2.0, 4.0, 6.0, 6.5, 6.0,
    5.0, 5.0, 6.0, 6.0, 6.0, 5.5, 5.0, 5.5, 6.5, 6.5, 5.0, 3.5,
)  # fmt: skip
