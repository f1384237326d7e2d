"""Build the bundled demo questionnaires of fieldapp as XLSForm workbooks.

Run from the repository root::

    .venv/bin/python fieldapp/demo/build_forms.py

It writes ``fieldapp/demo/forms/<form_id>.xlsx`` for five questionnaires of the
平安家庭 (Safe Families) programme. Each form is written below as plain Python rows so
that a reviewer can read the questionnaire here, in the order a worker sees it.

Conventions
-----------
* Chinese first, English second: every label, hint and message is a ``(中文, English)``
  pair and lands in the ``::中文 (zh)`` / ``::English (en)`` columns.
* Question names are ASCII snake_case; choice names are ASCII codes (what gets exported).
* ``required=True`` always comes with a required message (a default one if none given).
* Wording shown to respondents is plain and respectful; words such as 问题家庭 appear only
  in worker-facing titles, never in questions read out to a family.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

ZH = "中文 (zh)"
EN = "English (en)"
VERSION = "2026112901"
FORMS_DIR = Path(__file__).resolve().parent / "forms"

REQUIRED_MSG = ("此题必须填写", "This question is required.")
PHONE_REGEX = "regex(., '^1[3-9][0-9]{9}$')"
PHONE_MSG = (
    "请填写11位手机号码，例如 13812345678",
    "Please enter an 11-digit mainland mobile number, e.g. 13812345678.",
)

# Columns of the survey sheet, in order. Each row below is a dict using the short keys.
SURVEY_COLUMNS = [
    ("type", "type"),
    ("name", "name"),
    (f"label::{ZH}", "label", 0),
    (f"label::{EN}", "label", 1),
    (f"hint::{ZH}", "hint", 0),
    (f"hint::{EN}", "hint", 1),
    ("required", "required"),
    (f"required_message::{ZH}", "required_msg", 0),
    (f"required_message::{EN}", "required_msg", 1),
    ("relevant", "relevant"),
    ("constraint", "constraint"),
    (f"constraint_message::{ZH}", "constraint_msg", 0),
    (f"constraint_message::{EN}", "constraint_msg", 1),
    ("calculation", "calculation"),
    ("choice_filter", "choice_filter"),
    ("appearance", "appearance"),
    ("default", "default"),
    # fieldapp's own column (pyxform ignores it): how research exports de-identify a
    # question: "pseudonym" (a stable keyed hash) or "remove". See README, "Exports".
    ("fieldapp::identifier", "identifier"),
]

# Direct identifiers in the bundled questionnaires: names get pseudonyms (so that a
# household can still be followed across questionnaires), contact details are removed.
IDENTIFIERS = {
    "household_head": "pseudonym",
    "member_name": "pseudonym",
    "phone": "remove",
    "address": "remove",
    "safe_contact": "remove",
    "contact_name": "pseudonym",
    "contact_phone": "remove",
    "case_ref": "pseudonym",
    "party_name": "pseudonym",
}


def q(type_, name, label=None, **kw):
    """One survey row. ``label``/``hint``/``*_msg`` are (zh, en) pairs."""
    row = {"type": type_, "name": name, "label": label, **kw}
    if row.get("required") is True:
        row["required"] = "yes"
        row.setdefault("required_msg", REQUIRED_MSG)
    elif row.get("required") and "required_msg" not in row:
        row["required_msg"] = REQUIRED_MSG
    return row


def note(name, label, **kw):
    return q("note", name, label, **kw)


def calc(name, calculation, **kw):
    return q("calculate", name, calculation=calculation, **kw)


def begin_group(name, label, **kw):
    return q("begin_group", name, label, **kw)


def end_group(name):
    return {"type": "end_group", "name": name}


def begin_repeat(name, label, **kw):
    return q("begin_repeat", name, label, **kw)


def end_repeat(name):
    return {"type": "end_repeat", "name": name}


META_START = [q("start", "start"), q("end", "end")]


def consent_block(intro):
    """Opening note plus the consent question every research survey starts with."""
    return [
        note("intro", intro),
        q(
            "select_one yes_no",
            "consent",
            ("您是否同意参加这次调查？", "Do you agree to take part in this survey?"),
            hint=(
                "如对方不同意，请选择“否”并直接提交，感谢对方的时间。",
                "If the person declines, choose 'No' and submit; thank them for their time.",
            ),
            required=True,
        ),
        note(
            "declined_note",
            ("对方不同意参加，无需继续，请直接提交。", "Declined: no further questions, submit."),
            relevant="${consent} = 'no'",
        ),
    ]


def exclusive_none(code="none"):
    """Constraint for a select_multiple where ``code`` may not be combined with others."""
    return f"not(selected(., '{code}') and count-selected(.) > 1)"


# --------------------------------------------------------------------------------------
# Choice lists. Each entry: (code, 中文, English[, {extra column: value}]).
# Only the lists a form uses are written into its choices sheet.
# --------------------------------------------------------------------------------------
CHOICES: dict[str, list[tuple]] = {
    "yes_no": [("yes", "是", "Yes"), ("no", "否", "No")],
    "sex": [("female", "女", "Female"), ("male", "男", "Male")],
    "relation": [
        ("head", "户主本人", "Household head"),
        ("spouse", "配偶", "Spouse"),
        ("child", "子女", "Child"),
        ("child_in_law", "儿媳/女婿", "Child-in-law"),
        ("grandchild", "孙子女/外孙子女", "Grandchild"),
        ("parent", "父母", "Parent"),
        ("parent_in_law", "公婆/岳父母", "Parent-in-law"),
        ("sibling", "兄弟姐妹", "Sibling"),
        ("other_relative", "其他亲属", "Other relative"),
        ("non_relative", "非亲属", "Not related"),
    ],
    "conflict_type": [
        ("family_conflict", "家庭矛盾", "Family conflict"),
        ("dv", "家庭暴力", "Domestic violence"),
        ("gambling", "赌博", "Gambling"),
        ("drugs", "吸毒", "Drug use"),
        ("marital", "婚姻纠纷", "Marital dispute"),
        ("elder_support", "赡养纠纷", "Elder-support dispute"),
        ("other", "其他", "Other"),
    ],
    "risk_level": [
        ("low", "低", "Low"),
        ("medium", "中", "Medium"),
        ("high", "高", "High"),
        ("serious", "重大隐患", "Serious hazard"),
    ],
    "referral": [
        ("legal_aid", "妇女法律维权岗", "Women's legal rights desk"),
        ("shelter", "庇护中心", "Shelter"),
        ("injury_assessment", "伤情鉴定中心", "Injury assessment centre"),
        ("police", "派出所", "Police station"),
        ("court_mediation", "法院诉调对接", "Court-annexed mediation"),
        ("none", "无需转介", "No referral needed"),
    ],
    "grade": [
        ("not_in_school", "未上学（学龄前）", "Not yet in school"),
        ("kindergarten", "幼儿园", "Kindergarten"),
        ("primary_low", "小学一至三年级", "Primary grades 1-3"),
        ("primary_high", "小学四至六年级", "Primary grades 4-6"),
        ("junior", "初中", "Junior secondary"),
        ("senior", "高中", "Senior secondary"),
        ("vocational", "中职/技校", "Vocational school"),
        ("out_of_school", "已离开学校", "Left school"),
    ],
    "caregiver_category": [
        ("grandparents", "祖辈（爷爷奶奶/外公外婆）", "Grandparents"),
        ("one_parent", "父母中一方在家", "One parent at home"),
        ("relatives", "其他亲属", "Other relatives"),
        ("non_relatives", "非亲属或机构", "Non-relatives or an institution"),
        ("self", "无人照料，自己照顾自己", "No carer, looks after self"),
    ],
    # Cascading list: the `category` column is matched by choice_filter.
    "caregiver": [
        (
            "paternal_grandparents",
            "爷爷奶奶",
            "Paternal grandparents",
            {"category": "grandparents"},
        ),
        (
            "maternal_grandparents",
            "外公外婆",
            "Maternal grandparents",
            {"category": "grandparents"},
        ),
        ("mother", "妈妈", "Mother", {"category": "one_parent"}),
        ("father", "爸爸", "Father", {"category": "one_parent"}),
        ("paternal_uncle_aunt", "叔伯/姑姑", "Father's siblings", {"category": "relatives"}),
        ("maternal_uncle_aunt", "舅舅/姨妈", "Mother's siblings", {"category": "relatives"}),
        ("adult_sibling", "成年哥哥姐姐", "Adult brother or sister", {"category": "relatives"}),
        ("other_relative", "其他亲属", "Other relative", {"category": "relatives"}),
        ("neighbour", "邻居", "Neighbour", {"category": "non_relatives"}),
        ("school", "寄宿学校/老师", "Boarding school / teacher", {"category": "non_relatives"}),
        ("institution", "福利机构", "Welfare institution", {"category": "non_relatives"}),
        ("self_care", "自己照顾自己", "Looks after self", {"category": "self"}),
    ],
    "parent_status": [
        ("working_away", "外出务工", "Working away from home"),
        ("at_home", "在家", "At home"),
        ("deceased", "已去世", "Passed away"),
        ("not_living_together", "离异或不在一起生活", "Divorced / lives elsewhere"),
        ("unknown", "不清楚", "Not known"),
    ],
    "work_province": [
        ("home_province", "本省", "Home province"),
        ("guangdong", "广东", "Guangdong"),
        ("zhejiang", "浙江", "Zhejiang"),
        ("jiangsu", "江苏", "Jiangsu"),
        ("fujian", "福建", "Fujian"),
        ("shanghai", "上海", "Shanghai"),
        ("beijing", "北京", "Beijing"),
        ("other_province", "其他省份", "Other province"),
        ("abroad", "国外/境外", "Abroad"),
    ],
    # Cascading list: the `province` column is matched by choice_filter.
    "work_city": [
        ("same_county", "本县（市、区）", "Same county", {"province": "home_province"}),
        ("same_city", "本市其他县区", "Elsewhere in this city", {"province": "home_province"}),
        (
            "other_city",
            "省内其他城市",
            "Another city in the province",
            {"province": "home_province"},
        ),
        ("guangzhou", "广州", "Guangzhou", {"province": "guangdong"}),
        ("shenzhen", "深圳", "Shenzhen", {"province": "guangdong"}),
        ("dongguan", "东莞", "Dongguan", {"province": "guangdong"}),
        ("foshan", "佛山", "Foshan", {"province": "guangdong"}),
        ("gd_other", "广东其他城市", "Other city in Guangdong", {"province": "guangdong"}),
        ("hangzhou", "杭州", "Hangzhou", {"province": "zhejiang"}),
        ("ningbo", "宁波", "Ningbo", {"province": "zhejiang"}),
        ("wenzhou", "温州", "Wenzhou", {"province": "zhejiang"}),
        ("zj_other", "浙江其他城市", "Other city in Zhejiang", {"province": "zhejiang"}),
        ("nanjing", "南京", "Nanjing", {"province": "jiangsu"}),
        ("suzhou", "苏州", "Suzhou", {"province": "jiangsu"}),
        ("wuxi", "无锡", "Wuxi", {"province": "jiangsu"}),
        ("js_other", "江苏其他城市", "Other city in Jiangsu", {"province": "jiangsu"}),
        ("fuzhou", "福州", "Fuzhou", {"province": "fujian"}),
        ("xiamen", "厦门", "Xiamen", {"province": "fujian"}),
        ("quanzhou", "泉州", "Quanzhou", {"province": "fujian"}),
        ("fj_other", "福建其他城市", "Other city in Fujian", {"province": "fujian"}),
        ("shanghai_city", "上海市", "Shanghai", {"province": "shanghai"}),
        ("beijing_city", "北京市", "Beijing", {"province": "beijing"}),
        ("op_other", "其他城市", "Other city", {"province": "other_province"}),
        ("abroad_any", "国外/境外", "Abroad", {"province": "abroad"}),
    ],
    "contact_freq": [
        ("daily", "几乎每天", "Almost every day"),
        ("weekly", "每周一两次", "Once or twice a week"),
        ("monthly", "每月一两次", "Once or twice a month"),
        ("few_per_year", "一年几次", "A few times a year"),
        ("rarely", "很少或没有联系", "Rarely or never"),
    ],
    "contact_mode": [
        ("phone", "打电话", "Phone call"),
        ("video", "视频通话", "Video call"),
        ("messages", "微信/短信留言", "WeChat / text messages"),
        ("home_visit", "父母回家看望", "Parents come home"),
        ("child_visit", "孩子去父母那里", "Child visits parents"),
    ],
    "return_freq": [
        ("monthly_or_more", "每月至少一次", "At least monthly"),
        ("few_per_year", "一年几次", "A few times a year"),
        ("spring_festival", "一般只有春节回来", "Usually only at Spring Festival"),
        ("less_than_yearly", "一年以上才回来一次", "Less than once a year"),
    ],
    "freq4": [
        ("never", "从不", "Never"),
        ("sometimes", "有时", "Sometimes"),
        ("often", "经常", "Often"),
        ("always", "总是", "Always"),
    ],
    "child_need": [
        ("study_help", "学习辅导", "Help with study"),
        ("company", "有人陪伴、说说话", "Company, someone to talk to"),
        ("psych_support", "心理疏导", "Emotional support"),
        ("safety_education", "安全教育（防溺水、防欺凌等）", "Safety education"),
        ("health_care", "看病、体检", "Health care, check-ups"),
        ("parent_contact", "方便和父母联系", "Easier contact with parents"),
        ("financial_aid", "生活或学习费用帮助", "Help with living or school costs"),
        ("other", "其他", "Other"),
    ],
    "child_respondent": [
        ("child", "孩子本人", "The child"),
        ("caregiver", "照料人", "The caregiver"),
        ("both", "孩子和照料人一起", "Child and caregiver together"),
    ],
    "education": [
        ("none", "没有上过学", "No schooling"),
        ("primary", "小学", "Primary"),
        ("junior", "初中", "Junior secondary"),
        ("senior", "高中/中专", "Senior secondary / technical"),
        ("college", "大专及以上", "College or above"),
    ],
    "work_place": [
        ("same_town", "本镇（街道）", "This town"),
        ("same_county", "本县（市、区）其他乡镇", "Elsewhere in this county"),
        ("same_city", "本市其他县区", "Elsewhere in this city"),
        ("same_province", "省内其他城市", "Another city in the province"),
        ("other_province", "外省", "Another province"),
        ("abroad", "国外/境外", "Abroad"),
    ],
    "income_source": [
        ("farming", "种植/养殖", "Farming / livestock"),
        ("remittance", "丈夫或家人寄回的钱", "Money sent home by husband or family"),
        ("local_work", "在本地打零工或上班", "Local work"),
        ("business", "做小生意", "Small business"),
        ("subsidy", "政府补贴或低保", "Government subsidies"),
        ("other", "其他", "Other"),
    ],
    "care_duty": [
        ("children", "照顾孩子", "Caring for children"),
        ("elderly", "照顾老人", "Caring for older relatives"),
        ("sick", "照顾病人或残疾家人", "Caring for sick or disabled family members"),
        ("farming", "种地", "Farming"),
        ("livestock", "养殖", "Livestock"),
        ("paid_work", "打工/上班", "Paid work"),
    ],
    "burden": [
        ("light", "比较轻松", "Light"),
        ("moderate", "还可以", "Manageable"),
        ("heavy", "比较重", "Heavy"),
        ("very_heavy", "非常重", "Very heavy"),
    ],
    "health5": [
        ("very_good", "很好", "Very good"),
        ("good", "好", "Good"),
        ("fair", "一般", "Fair"),
        ("poor", "不太好", "Poor"),
        ("very_poor", "很不好", "Very poor"),
    ],
    "decider": [
        ("self", "主要是我自己", "Mostly me"),
        ("husband", "主要是丈夫", "Mostly my husband"),
        ("jointly", "夫妻一起商量", "We decide together"),
        ("elders", "主要是公婆或其他长辈", "Mostly parents-in-law or elders"),
        ("not_applicable", "不涉及", "Not applicable"),
    ],
    "experience": [
        ("never", "没有", "No"),
        ("once", "有过一两次", "Once or twice"),
        ("several", "有过多次", "Several times"),
        ("prefer_not", "不想回答", "Prefer not to say"),
    ],
    "want_contact": [
        ("yes_soon", "希望尽快联系我", "Yes, please contact me soon"),
        ("yes_later", "以后需要时我再联系", "I will get in touch if I need to"),
        ("no", "不需要", "No"),
    ],
    "women_need": [
        ("skills_training", "技能培训", "Skills training"),
        ("job_info", "就近就业信息", "Local job information"),
        ("childcare", "孩子照看、课后托管", "Childcare / after-school care"),
        ("legal_advice", "法律咨询", "Legal advice"),
        ("health_check", "健康检查（两癌筛查等）", "Health check-ups (e.g. cancer screening)"),
        ("psych_support", "心理疏导", "Emotional support"),
        ("farming_tech", "农业技术", "Farming techniques"),
        ("social_activities", "文体活动、姐妹互助", "Social activities, peer support"),
        ("other", "其他", "Other"),
    ],
    "marital": [
        ("married", "已婚，配偶健在", "Married"),
        ("widowed", "丧偶", "Widowed"),
        ("divorced", "离异", "Divorced"),
        ("never_married", "未婚", "Never married"),
    ],
    "living": [
        ("alone", "独自居住", "Lives alone"),
        ("with_spouse", "和老伴一起住", "With spouse"),
        ("with_grandchildren", "和孙辈一起住（隔代）", "With grandchildren"),
        ("spouse_grandchildren", "和老伴、孙辈一起住", "With spouse and grandchildren"),
        ("with_relatives", "和其他亲属一起住", "With other relatives"),
        ("institution", "住在养老机构", "In a care home"),
    ],
    "health_condition": [
        ("hypertension", "高血压", "High blood pressure"),
        ("diabetes", "糖尿病", "Diabetes"),
        ("heart", "心脏病", "Heart disease"),
        ("stroke", "中风后遗症", "After-effects of stroke"),
        ("arthritis", "关节炎/腰腿痛", "Arthritis / back and leg pain"),
        ("lung", "慢性支气管炎等肺病", "Chronic lung disease"),
        ("vision", "看不清（视力差）", "Poor eyesight"),
        ("hearing", "听不清（听力差）", "Poor hearing"),
        ("memory", "记性明显变差", "Marked memory loss"),
        ("other", "其他", "Other"),
        ("none", "都没有", "None of these"),
    ],
    "adl_level": [
        ("independent", "自己能做", "Independent"),
        ("some_help", "需要别人帮一点", "Needs some help"),
        ("full_help", "完全需要别人帮忙", "Fully dependent"),
    ],
    "elder_need": [
        ("health_visit", "上门看病、体检", "Home health visits"),
        ("daily_care", "日常生活照料", "Help with daily living"),
        ("meals", "助餐（老年食堂、送餐）", "Meals"),
        ("company", "有人陪伴、聊天", "Company"),
        ("grandchild_help", "照看孙辈的帮助", "Help looking after grandchildren"),
        ("financial_aid", "经济帮助", "Financial help"),
        ("legal_advice", "赡养等法律咨询", "Legal advice (e.g. support from children)"),
        ("other", "其他", "Other"),
    ],
    "visit_type": [
        ("home_visit", "上门走访", "Home visit"),
        ("phone", "电话", "Phone"),
        ("walk_in", "来访", "Walk-in"),
        ("court_mediation", "诉调对接", "Court-annexed mediation"),
    ],
    "participant": [
        ("mediator", "调解员/网格员", "Mediator / grid worker"),
        ("federation", "妇联干部", "Women's federation staff"),
        ("village_cadre", "村（社区）干部", "Village / community cadre"),
        ("police", "民警", "Police officer"),
        ("judge", "法官/特邀调解员", "Judge / court-invited mediator"),
        ("lawyer", "律师/法律援助", "Lawyer / legal aid"),
        ("relatives", "亲属", "Relatives"),
        ("neighbours", "邻居", "Neighbours"),
    ],
    "dispute_type": [
        ("marital", "婚姻纠纷", "Marital dispute"),
        ("dv", "家庭暴力", "Domestic violence"),
        ("elder_support", "赡养纠纷", "Elder-support dispute"),
        ("child_support", "抚养/抚育纠纷", "Child support / custody"),
        ("property", "财产/继承纠纷", "Property / inheritance"),
        ("neighbour", "邻里纠纷", "Neighbour dispute"),
        ("family_conflict", "其他家庭矛盾", "Other family conflict"),
        ("other", "其他", "Other"),
    ],
    "party_role": [
        ("applicant", "申请人/求助人", "Applicant"),
        ("respondent", "被申请人/对方", "Other party"),
        ("related", "其他相关人", "Other person involved"),
    ],
    "measure": [
        ("listened", "倾听、安抚情绪", "Listened, calmed emotions"),
        ("explained_law", "讲解法律政策", "Explained law and policy"),
        ("mediated", "组织双方调解", "Held a mediation session"),
        ("agreement", "签订调解协议", "Signed a mediation agreement"),
        ("safety_plan", "制定安全计划", "Made a safety plan"),
        ("referred", "转介其他机构", "Referred to another agency"),
        ("material_help", "帮助申请救助", "Helped apply for assistance"),
        ("other", "其他", "Other"),
    ],
    "outcome": [
        ("success", "调解成功", "Resolved"),
        ("partial", "部分达成", "Partly resolved"),
        ("failed", "未达成", "Not resolved"),
        ("referred", "转介", "Referred"),
    ],
}


# ======================================================================================
# 1. family_screening — 问题家庭排查 (worker-facing screening record)
# ======================================================================================
CONFLICT_WEIGHTS = [  # (code, points) for the reference risk score
    ("dv", 3),
    ("drugs", 3),
    ("gambling", 2),
    ("family_conflict", 1),
    ("marital", 1),
    ("elder_support", 1),
    ("other", 1),
]
RISK_SCORE = (
    " + ".join(
        f"if(selected(${{conflict_types}}, '{code}'), {pts}, 0)" for code, pts in CONFLICT_WEIGHTS
    )
    + " + if(${has_conflict} = 'yes' and ${minor_count} > 0, 1, 0)"
)

FAMILY_SCREENING = {
    "settings": {"form_id": "family_screening", "form_title": "问题家庭排查"},
    "survey": [
        *META_START,
        note(
            "intro",
            (
                "本表由网格员/调解员填写，用于平安家庭排查。表内信息严格保密，仅用于后续帮扶。",
                "Filled in by the grid worker/mediator for Safe Families screening. "
                "Confidential; used only to arrange support.",
            ),
        ),
        begin_group("household_info", ("一、家庭基本信息", "1. Household")),
        q(
            "date",
            "screening_date",
            ("排查日期", "Screening date"),
            required=True,
            constraint=". <= today()",
            constraint_msg=("排查日期不能晚于今天", "The screening date cannot be in the future."),
        ),
        q("text", "town", ("镇/街道", "Town / subdistrict"), required=True),
        q("text", "village", ("村/社区", "Village / community"), required=True),
        q("text", "household_head", ("户主姓名", "Name of household head"), required=True),
        q(
            "text",
            "phone",
            ("联系电话", "Phone number"),
            hint=("11位手机号码，没有可不填", "11-digit mobile number; leave blank if none"),
            constraint=PHONE_REGEX,
            constraint_msg=PHONE_MSG,
            appearance="numbers",
        ),
        q("text", "address", ("家庭住址", "Address"), required=True),
        end_group("household_info"),
        begin_group("household", ("二、家庭成员", "2. Household members")),
        begin_repeat("household_members", ("家庭成员", "Household member")),
        q("text", "member_name", ("成员姓名", "Member's name"), required=True),
        q("select_one relation", "relation", ("与户主关系", "Relation to household head")),
        q("select_one sex", "member_sex", ("性别", "Sex")),
        q(
            "integer",
            "member_age",
            ("年龄（周岁）", "Age (years)"),
            required=True,
            constraint=". >= 0 and . <= 120",
            constraint_msg=("年龄应在0到120岁之间", "Age must be between 0 and 120."),
        ),
        calc("is_minor", "if(${member_age} < 18, 1, 0)"),
        end_repeat("household_members"),
        calc("member_count", "count(${member_name})"),
        calc("minor_count", "sum(${is_minor})"),
        note(
            "member_summary",
            (
                "家庭成员 ${member_count} 人，其中未成年人 ${minor_count} 人",
                "Household members: ${member_count}; of whom minors (under 18): ${minor_count}",
            ),
        ),
        end_group("household"),
        begin_group("situation", ("三、家庭情况", "3. Family situation")),
        q(
            "select_one yes_no",
            "has_conflict",
            ("家中是否存在矛盾或隐患？", "Is there conflict or a hazard in the household?"),
            required=True,
        ),
        q(
            "select_multiple conflict_type",
            "conflict_types",
            ("存在哪些情况？（可多选）", "Which situations? (select all that apply)"),
            relevant="${has_conflict} = 'yes'",
            required=True,
        ),
        q(
            "text",
            "other_conflict",
            ("其他情况，请说明", "Other situation, please describe"),
            relevant="selected(${conflict_types}, 'other')",
            required=True,
        ),
        end_group("situation"),
        begin_group("risk", ("四、风险评估与转介", "4. Risk and referral")),
        calc("risk_score", RISK_SCORE),
        note(
            "risk_score_note",
            (
                "参考风险分：${risk_score}（家庭暴力、吸毒各3分，赌博2分，其他每项1分，"
                "有矛盾且家中有未成年人加1分）。仅供参考，请结合实际情况判断风险等级。",
                "Reference risk score: ${risk_score} (domestic violence or drugs 3 each, "
                "gambling 2, others 1 each, +1 if there is conflict and a minor at home). "
                "Use your own judgement for the risk level.",
            ),
        ),
        q(
            "select_one risk_level",
            "risk_level",
            ("风险等级", "Risk level"),
            hint=(
                "重大隐患：可能危及人身安全，需包户到人、持续跟进",
                "Serious hazard: may endanger someone's safety; assign a named person",
            ),
            required=True,
        ),
        q(
            "select_multiple referral",
            "referral",
            ("转介去向（可多选）", "Referral (select all that apply)"),
            required=True,
            constraint=exclusive_none("none"),
            constraint_msg=(
                "选择“无需转介”时，不能再选其他转介机构",
                "'No referral needed' cannot be combined with a referral.",
            ),
        ),
        q(
            "text",
            "assigned_person",
            ("包户责任人（包户到人）", "Assigned person"),
            hint=(
                "风险等级为“高”或“重大隐患”时必填",
                "Required when the risk level is high or serious",
            ),
            required="${risk_level} = 'high' or ${risk_level} = 'serious'",
            required_msg=(
                "高风险或重大隐患家庭必须落实包户责任人",
                "A named person must be assigned to a high-risk or serious-hazard household.",
            ),
        ),
        q(
            "date",
            "next_followup_date",
            ("计划下次走访日期", "Planned next follow-up visit"),
            relevant="${risk_level} = 'high' or ${risk_level} = 'serious'",
            constraint=". > ${screening_date}",
            constraint_msg=(
                "下次走访日期应晚于排查日期",
                "The follow-up date must be after the screening date.",
            ),
        ),
        end_group("risk"),
        q(
            "text",
            "remarks",
            ("备注", "Notes"),
            appearance="multiline",
        ),
    ],
}


# ======================================================================================
# 2. left_behind_child — 留守儿童情况调查
# ======================================================================================
def parent_block(who, zh, en):
    """Status and work place of one parent (father / mother), with cascading place."""
    status = f"{who}_status"
    prov = f"{who}_work_province"
    return [
        q(
            "select_one parent_status",
            status,
            (f"{zh}现在的情况", f"{en}'s current situation"),
            required=True,
        ),
        q(
            "select_one work_province",
            prov,
            (f"{zh}在哪个省份工作？", f"Where does the {en.lower()} work (province)?"),
            relevant=f"${{{status}}} = 'working_away'",
        ),
        q(
            "select_one work_city",
            f"{who}_work_city",
            (f"{zh}在哪个城市工作？", f"Which city does the {en.lower()} work in?"),
            relevant=f"${{{prov}}} != ''",
            choice_filter=f"province=${{{prov}}}",
        ),
    ]


WELLBEING_ITEMS = [  # (name, 中文, English) — asked to the child in plain words
    ("wb_happy", "我觉得每天过得开心", "I feel happy most days"),
    ("wb_lonely", "我会觉得孤单", "I feel lonely"),
    ("wb_miss_parents", "我很想念爸爸妈妈", "I miss my parents"),
    (
        "wb_someone_to_talk",
        "有心事的时候，有人可以说",
        "When something bothers me, I have someone to tell",
    ),
    ("wb_friends", "我和同学、朋友相处得好", "I get along with classmates and friends"),
    ("wb_safe", "我在家里和上学路上觉得安全", "I feel safe at home and on the way to school"),
]

LEFT_BEHIND_CHILD = {
    "settings": {"form_id": "left_behind_child", "form_title": "留守儿童情况调查"},
    "survey": [
        *META_START,
        *consent_block(
            (
                "您好！我们是妇联的工作人员，想了解孩子的生活和学习情况，以便更好地提供帮助。"
                "回答没有对错之分，您的信息会严格保密。孩子回答时，请照料人在旁陪同。",
                "Hello! We are from the women's federation and would like to learn about the "
                "child's life and schooling so we can help better. There are no right or wrong "
                "answers, and what you say is kept confidential. A caregiver should be present "
                "when the child answers.",
            )
        ),
        begin_group(
            "child_info", ("一、孩子基本情况", "1. About the child"), relevant="${consent} = 'yes'"
        ),
        q(
            "select_one child_respondent",
            "respondent",
            ("本问卷由谁回答？", "Who is answering?"),
            required=True,
        ),
        q(
            "integer",
            "child_age",
            ("孩子年龄（周岁）", "Child's age (years)"),
            required=True,
            constraint=". >= 0 and . <= 17",
            constraint_msg=("儿童年龄应在0到17岁之间", "A child's age must be between 0 and 17."),
        ),
        q("select_one sex", "child_sex", ("孩子性别", "Child's sex"), required=True),
        q("select_one grade", "school_grade", ("孩子在读年级", "School level")),
        end_group("child_info"),
        begin_group("care", ("二、照料情况", "2. Care"), relevant="${consent} = 'yes'"),
        q(
            "select_one caregiver_category",
            "caregiver_category",
            ("平时主要由谁照顾孩子？（类别）", "Who mainly looks after the child? (type)"),
            required=True,
        ),
        q(
            "select_one caregiver",
            "caregiver",
            ("具体是谁？", "Who exactly?"),
            choice_filter="category=${caregiver_category}",
            relevant="${caregiver_category} != ''",
            required=True,
        ),
        q(
            "integer",
            "caregiver_age",
            ("主要照料人年龄", "Main caregiver's age"),
            relevant="${caregiver_category} != 'self' and ${caregiver_category} != ''",
            constraint=". >= 10 and . <= 110",
            constraint_msg=("请核对照料人年龄", "Please check the caregiver's age."),
        ),
        end_group("care"),
        begin_group("parents", ("三、父母外出情况", "3. Parents"), relevant="${consent} = 'yes'"),
        *parent_block("father", "父亲", "Father"),
        *parent_block("mother", "母亲", "Mother"),
        q(
            "select_one contact_freq",
            "contact_freq",
            (
                "孩子和在外的父母多久联系一次？",
                "How often is the child in touch with the parents away?",
            ),
            relevant="${father_status} = 'working_away' or ${mother_status} = 'working_away'",
        ),
        q(
            "select_multiple contact_mode",
            "contact_mode",
            ("一般怎么联系？（可多选）", "How do they keep in touch? (select all that apply)"),
            relevant="${contact_freq} != '' and ${contact_freq} != 'rarely'",
        ),
        q(
            "select_one return_freq",
            "parent_return_freq",
            ("在外的父母多久回家一次？", "How often do the parents come home?"),
            relevant="${father_status} = 'working_away' or ${mother_status} = 'working_away'",
        ),
        q(
            "decimal",
            "pocket_money",
            ("孩子每周的零花钱（元）", "Child's weekly pocket money (yuan)"),
            hint=("没有就填 0", "Enter 0 if none"),
            constraint=". >= 0 and . <= 2000",
            constraint_msg=("金额应在0到2000元之间", "Amount must be between 0 and 2000 yuan."),
        ),
        end_group("parents"),
        begin_group(
            "wellbeing",
            ("四、孩子的感受（请孩子自己回答）", "4. How the child feels (asked to the child)"),
            relevant="${consent} = 'yes' and ${respondent} != 'caregiver'",
            appearance="field-list",
        ),
        note(
            "wellbeing_intro",
            (
                "下面几句话，说说最近一个月你是不是这样，选最接近的一个就好。",
                "For each sentence, say how often it was true for you in the last month.",
            ),
        ),
        *[
            q("select_one freq4", name, (zh, en), appearance="likert")
            for name, zh, en in WELLBEING_ITEMS
        ],
        end_group("wellbeing"),
        begin_group("needs_group", ("五、需要的帮助", "5. Needs"), relevant="${consent} = 'yes'"),
        q(
            "select_multiple child_need",
            "needs",
            ("孩子和家里最需要哪些帮助？（可多选）", "What help is most needed? (select all)"),
        ),
        q(
            "text",
            "other_need",
            ("其他需要，请说明", "Other needs, please describe"),
            relevant="selected(${needs}, 'other')",
            required=True,
        ),
        end_group("needs_group"),
    ],
}


# ======================================================================================
# 3. left_behind_women — 农村留守妇女生活状况调查
# ======================================================================================
EXPERIENCE_ITEMS = [  # sensitive items, past 12 months, asked privately
    (
        "exp_verbal",
        "过去一年里，家里有没有人对您大声辱骂、恐吓，让您感到害怕？",
        "In the past year, has anyone at home shouted insults or threats that made you afraid?",
    ),
    (
        "exp_physical",
        "过去一年里，家里有没有人推搡、打您，或用其他方式伤害您的身体？",
        "In the past year, has anyone at home pushed or hit you, or hurt you physically?",
    ),
    (
        "exp_economic",
        "过去一年里，家里有没有人不让您用钱，或者拿走您的钱？",
        "In the past year, has anyone at home kept money from you or taken your money?",
    ),
    (
        "exp_isolation",
        "过去一年里，家里有没有人不让您和亲戚朋友来往？",
        "In the past year, has anyone at home stopped you seeing relatives or friends?",
    ),
]
ANY_EXPERIENCE = (
    "if("
    + " or ".join(
        f"${{{name}}} = 'once' or ${{{name}}} = 'several'" for name, _, _ in EXPERIENCE_ITEMS
    )
    + ", 'yes', 'no')"
)

DECISION_ITEMS = [
    ("decide_big_purchase", "买大件东西、盖房子", "Big purchases, building a house"),
    ("decide_children", "孩子上学、教育", "Children's schooling"),
    ("decide_work", "自己出去工作还是在家", "Whether I work outside the home"),
    ("decide_own_money", "自己挣的钱怎么花", "How to spend the money I earn"),
]

LEFT_BEHIND_WOMEN = {
    "settings": {"form_id": "left_behind_women", "form_title": "农村留守妇女生活状况调查"},
    "survey": [
        *META_START,
        *consent_block(
            (
                "您好！我们是妇联的工作人员，想了解姐妹们的生活、工作和需要，好为大家办实事。"
                "调查大约需要20分钟，您的回答严格保密，不会写上您的名字。",
                "Hello! We are from the women's federation and would like to learn about "
                "women's lives, work and needs so that we can help. It takes about 20 minutes; "
                "your answers are confidential and your name is not recorded.",
            )
        ),
        begin_group("basic", ("一、基本情况", "1. About you"), relevant="${consent} = 'yes'"),
        q(
            "integer",
            "woman_age",
            ("您的年龄（周岁）", "Your age (years)"),
            required=True,
            constraint=". >= 16 and . <= 100",
            constraint_msg=("年龄应在16到100岁之间", "Age must be between 16 and 100."),
        ),
        q("select_one education", "education", ("您的文化程度", "Your education"), required=True),
        q(
            "select_one work_place",
            "husband_work_place",
            ("您丈夫现在在哪里工作？", "Where does your husband work now?"),
            required=True,
        ),
        q(
            "integer",
            "husband_away_months",
            ("去年丈夫在外大约几个月？", "About how many months was your husband away last year?"),
            constraint=". >= 0 and . <= 12",
            constraint_msg=("请填写0到12之间的月数", "Enter a number of months from 0 to 12."),
        ),
        q(
            "integer",
            "children_at_home",
            ("家里有几个未成年的孩子？", "How many children under 18 live at home?"),
            constraint=". >= 0 and . <= 15",
            constraint_msg=("请核对孩子人数", "Please check the number of children."),
        ),
        end_group("basic"),
        begin_group(
            "economy", ("二、收入与劳动", "2. Income and work"), relevant="${consent} = 'yes'"
        ),
        q(
            "decimal",
            "household_income",
            (
                "去年全家总收入大约多少万元？",
                "Approximate household income last year (10,000 yuan)",
            ),
            hint=("例如 3.5 表示三万五千元", "e.g. 3.5 means 35,000 yuan"),
            constraint=". >= 0 and . <= 500",
            constraint_msg=("请填写0到500之间的数字（万元）", "Enter 0-500 (in 10,000 yuan)."),
        ),
        q(
            "decimal",
            "own_income",
            ("其中您自己挣的大约多少万元？", "Of which you earned yourself (10,000 yuan)"),
            constraint=". >= 0 and (${household_income} = '' or . <= ${household_income})",
            constraint_msg=(
                "个人收入不能超过全家总收入",
                "Your own income cannot exceed the household income.",
            ),
        ),
        q(
            "select_multiple income_source",
            "income_sources",
            ("家里的收入主要来自哪里？（可多选）", "Main sources of income (select all)"),
        ),
        q(
            "select_multiple care_duty",
            "care_duties",
            ("您平时要承担哪些事情？（可多选）", "What do you take care of? (select all)"),
        ),
        q(
            "decimal",
            "work_hours",
            (
                "农忙时，您一天大约干几个小时的活（含家务）？",
                "In busy season, hours of work a day (incl. housework)",
            ),
            constraint=". >= 0 and . <= 24",
            constraint_msg=("请填写0到24之间的小时数", "Enter hours from 0 to 24."),
        ),
        q(
            "select_one burden",
            "workload",
            ("您觉得自己的担子重不重？", "How heavy is your load?"),
        ),
        end_group("economy"),
        begin_group(
            "health", ("三、身体和心情", "3. Health and mood"), relevant="${consent} = 'yes'"
        ),
        q("select_one health5", "self_health", ("您觉得自己身体怎么样？", "How is your health?")),
        q(
            "select_one yes_no",
            "chronic_illness",
            ("您有没有需要长期吃药的病？", "Do you have an illness that needs long-term medicine?"),
        ),
        q("select_one freq4", "feel_lonely", ("您会觉得孤单吗？", "Do you feel lonely?")),
        q(
            "select_one freq4",
            "sleep_problem",
            ("您会睡不好觉吗？", "Do you have trouble sleeping?"),
        ),
        end_group("health"),
        begin_group(
            "decisions",
            ("四、家里的事谁做主", "4. Who decides at home"),
            relevant="${consent} = 'yes'",
            appearance="field-list",
        ),
        *[q("select_one decider", name, (zh, en)) for name, zh, en in DECISION_ITEMS],
        end_group("decisions"),
        begin_group(
            "safety",
            ("五、家庭生活中的困难", "5. Difficulties at home"),
            relevant="${consent} = 'yes'",
        ),
        note(
            "confidentiality_note",
            (
                "接下来几个问题是关于家庭生活中可能遇到的困难。很多家庭都会遇到类似的事，"
                "这不是您的错。您的回答严格保密，只有负责帮助您的妇联工作人员能看到，"
                "不会告诉您的家人。每个问题您都可以不回答，也可以随时停下来。",
                "The next questions are about difficulties that can happen in family life. "
                "Many families face such things, and it is not your fault. Your answers are "
                "strictly confidential: only the federation staff who help you can see them, "
                "and your family will not be told. You may skip any question or stop at any time.",
            ),
        ),
        q(
            "select_one yes_no",
            "private_now",
            (
                "（调查员确认）现在身边没有其他家人，可以单独交谈吗？",
                "(Interviewer) Can you talk privately now, with no family members nearby?",
            ),
            hint=(
                "如不方便，请选“否”，跳过本部分，另找安全的时间",
                "If not, choose 'No' to skip this part and find a safe time later",
            ),
            required=True,
        ),
        *[
            q(
                "select_one experience",
                name,
                (zh, en),
                relevant="${private_now} = 'yes'",
            )
            for name, zh, en in EXPERIENCE_ITEMS
        ],
        calc("any_experience", ANY_EXPERIENCE, relevant="${private_now} = 'yes'"),
        note(
            "help_note",
            (
                "谢谢您愿意告诉我们。需要帮助时，可以拨打全国妇女维权公益服务热线12338，"
                "也可以找村里的妇联主席；遇到危险请马上拨打110。",
                "Thank you for telling us. For help you can call the women's rights hotline "
                "12338 or the village women's federation chair; in danger, call 110 at once.",
            ),
            relevant="${any_experience} = 'yes'",
        ),
        q(
            "select_one want_contact",
            "want_contact",
            (
                "您希望妇联工作人员联系您、提供帮助吗？",
                "Would you like federation staff to contact you and help?",
            ),
            relevant="${any_experience} = 'yes'",
        ),
        q(
            "text",
            "safe_contact",
            ("用什么方式、什么时间联系您比较安全？", "How and when is it safe to contact you?"),
            relevant="${want_contact} = 'yes_soon'",
            required=True,
        ),
        end_group("safety"),
        begin_group("needs_group", ("六、需要的帮助", "6. Needs"), relevant="${consent} = 'yes'"),
        q(
            "select_multiple women_need",
            "needs",
            ("您最希望得到哪些帮助？（可多选）", "What help would you most like? (select all)"),
        ),
        q(
            "text",
            "other_need",
            ("其他需要，请说明", "Other needs, please describe"),
            relevant="selected(${needs}, 'other')",
            required=True,
        ),
        end_group("needs_group"),
    ],
}


# ======================================================================================
# 4. left_behind_elderly — 农村留守老人生活状况调查 (with GDS-15)
# ======================================================================================
# Geriatric Depression Scale, short form (Yesavage & Sheikh 1986; public domain).
# (name, 中文, English, answer that scores 1). Items 1, 5, 7, 11, 13 are reverse-scored.
GDS_ITEMS = [
    ("gds_01", "您对自己的生活基本满意吗？", "Are you basically satisfied with your life?", "no"),
    (
        "gds_02",
        "您是否放弃了很多平时的活动和爱好？",
        "Have you dropped many of your activities and interests?",
        "yes",
    ),
    ("gds_03", "您是否觉得生活空虚？", "Do you feel that your life is empty?", "yes"),
    ("gds_04", "您是否常常感到烦闷无聊？", "Do you often get bored?", "yes"),
    ("gds_05", "您是否大部分时间精神都很好？", "Are you in good spirits most of the time?", "no"),
    (
        "gds_06",
        "您是否担心会有不好的事情发生在自己身上？",
        "Are you afraid that something bad is going to happen to you?",
        "yes",
    ),
    ("gds_07", "您是否大部分时间都感到快乐？", "Do you feel happy most of the time?", "no"),
    ("gds_08", "您是否常常感到无依无靠？", "Do you often feel helpless?", "yes"),
    (
        "gds_09",
        "您是否宁愿待在家里，也不愿意出去做些新鲜的事？",
        "Do you prefer to stay at home, rather than going out and doing new things?",
        "yes",
    ),
    (
        "gds_10",
        "您是否觉得自己的记性比大多数人差？",
        "Do you feel you have more problems with memory than most?",
        "yes",
    ),
    (
        "gds_11",
        "您是否觉得现在活着是件很好的事？",
        "Do you think it is wonderful to be alive now?",
        "no",
    ),
    (
        "gds_12",
        "您是否觉得像现在这样活着没有什么价值？",
        "Do you feel pretty worthless the way you are now?",
        "yes",
    ),
    ("gds_13", "您是否觉得精力充沛？", "Do you feel full of energy?", "no"),
    (
        "gds_14",
        "您是否觉得自己的处境没有希望？",
        "Do you feel that your situation is hopeless?",
        "yes",
    ),
    (
        "gds_15",
        "您是否觉得大多数人过得比您好？",
        "Do you think that most people are better off than you are?",
        "yes",
    ),
]
GDS_SCORE = " + ".join(f"${{{name}_score}}" for name, *_ in GDS_ITEMS)
GDS_LEVEL = (
    "if(${gds_score} <= 4, 'normal', if(${gds_score} <= 8, 'mild', "
    "if(${gds_score} <= 11, 'moderate', 'severe')))"
)
GDS_ALL_ANSWERED = " and ".join(f"${{{name}}} != ''" for name, *_ in GDS_ITEMS)

ADL_ITEMS = [
    ("adl_eating", "吃饭", "Eating"),
    ("adl_dressing", "穿衣服", "Dressing"),
    ("adl_bathing", "洗澡", "Bathing"),
    ("adl_toilet", "上厕所", "Using the toilet"),
    ("adl_transfer", "上下床、起身坐下", "Getting in and out of bed or a chair"),
    ("adl_walking", "在屋里走动", "Walking indoors"),
    ("iadl_cooking", "做饭", "Cooking"),
    ("iadl_shopping", "出门买东西", "Shopping"),
    ("iadl_medicine", "按时吃药", "Taking medicine on time"),
    ("iadl_phone", "打电话", "Using the telephone"),
]
ADL_HELP_COUNT = " + ".join(
    f"if(${{{name}}} = 'some_help' or ${{{name}}} = 'full_help', 1, 0)" for name, *_ in ADL_ITEMS
)

LEFT_BEHIND_ELDERLY = {
    "settings": {"form_id": "left_behind_elderly", "form_title": "农村留守老人生活状况调查"},
    "survey": [
        *META_START,
        *consent_block(
            (
                "老人家您好！我们是妇联的工作人员，来看看您，了解您的身体和生活情况，"
                "看看有什么能帮上忙的。您说的话我们会保密。",
                "Hello! We are from the women's federation, visiting to learn about your "
                "health and daily life and see how we can help. What you tell us is kept "
                "confidential.",
            )
        ),
        begin_group("basic", ("一、基本情况", "1. About you"), relevant="${consent} = 'yes'"),
        q(
            "integer",
            "elder_age",
            ("老人年龄（周岁）", "Age (years)"),
            required=True,
            constraint=". >= 60 and . <= 120",
            constraint_msg=("年龄应在60到120岁之间", "Age must be between 60 and 120."),
        ),
        q("select_one sex", "elder_sex", ("性别", "Sex"), required=True),
        q("select_one marital", "marital_status", ("婚姻状况", "Marital status")),
        q(
            "select_one living",
            "living_arrangement",
            ("现在和谁一起住？", "Who do you live with?"),
            required=True,
        ),
        q(
            "integer",
            "children_count",
            ("您有几个子女？", "How many children do you have?"),
            constraint=". >= 0 and . <= 20",
            constraint_msg=("请核对子女人数", "Please check the number of children."),
        ),
        q(
            "integer",
            "children_away",
            ("其中有几个在外地工作或生活？", "How many of them live or work away?"),
            relevant="${children_count} > 0",
            constraint=". >= 0 and . <= ${children_count}",
            constraint_msg=(
                "在外地的子女人数不能超过子女总数",
                "Cannot be more than the number of children.",
            ),
        ),
        q(
            "select_one contact_freq",
            "children_contact",
            ("子女多久和您联系一次？", "How often do your children contact you?"),
            relevant="${children_count} > 0",
        ),
        end_group("basic"),
        begin_group("health", ("二、身体状况", "2. Health"), relevant="${consent} = 'yes'"),
        q("select_one health5", "self_health", ("您觉得自己身体怎么样？", "How is your health?")),
        q(
            "select_multiple health_condition",
            "health_conditions",
            (
                "您有下面这些病或情况吗？（可多选）",
                "Do you have any of these conditions? (select all)",
            ),
            required=True,
            constraint=exclusive_none("none"),
            constraint_msg=(
                "选了“都没有”就不能再选其他项",
                "'None of these' cannot be combined with other answers.",
            ),
        ),
        q(
            "text",
            "other_condition",
            ("其他疾病，请说明", "Other condition, please describe"),
            relevant="selected(${health_conditions}, 'other')",
        ),
        end_group("health"),
        begin_group(
            "adl",
            ("三、日常生活能力", "3. Daily living"),
            relevant="${consent} = 'yes'",
            appearance="field-list",
        ),
        note(
            "adl_intro",
            ("下面这些事情，您现在自己能做吗？", "Can you do these things yourself now?"),
        ),
        *[
            q("select_one adl_level", name, (zh, en), appearance="likert")
            for name, zh, en in ADL_ITEMS
        ],
        calc("adl_help_count", ADL_HELP_COUNT),
        note(
            "adl_note",
            (
                "有 ${adl_help_count} 项需要别人帮助",
                "Needs help with ${adl_help_count} of these activities",
            ),
        ),
        end_group("adl"),
        begin_group(
            "gds",
            ("四、老年抑郁量表（GDS-15）", "4. Geriatric Depression Scale (GDS-15)"),
            relevant="${consent} = 'yes'",
        ),
        note(
            "gds_intro",
            (
                "请根据您最近一周的感受，回答“是”或“否”。",
                "Please answer 'yes' or 'no' for how you have felt over the past week.",
            ),
        ),
    ]
    + [
        row
        for name, zh, en, scored in GDS_ITEMS
        for row in (
            q(
                "select_one yes_no",
                name,
                (f"{int(name[-2:])}. {zh}", f"{int(name[-2:])}. {en}"),
                required=True,
            ),
            calc(f"{name}_score", f"if(${{{name}}} = '{scored}', 1, 0)"),
        )
    ]
    + [
        calc("gds_score", GDS_SCORE),
        calc("gds_level", GDS_LEVEL),
        calc(
            "gds_level_zh",
            "if(${gds_level} = 'normal', '正常', if(${gds_level} = 'mild', '轻度', "
            "if(${gds_level} = 'moderate', '中度', '重度')))",
        ),
        calc(
            "gds_level_en",
            "if(${gds_level} = 'normal', 'normal', if(${gds_level} = 'mild', 'mild', "
            "if(${gds_level} = 'moderate', 'moderate', 'severe')))",
        ),
        note(
            "gds_result",
            (
                "GDS-15 总分 ${gds_score} 分，结果：${gds_level_zh}"
                "（0–4正常，5–8轻度，9–11中度，12–15重度）。"
                "本量表只用于筛查，不能作为诊断。",
                "GDS-15 total ${gds_score}: ${gds_level_en} (0-4 normal, 5-8 mild, "
                "9-11 moderate, 12-15 severe). Screening only, not a diagnosis.",
            ),
            relevant=GDS_ALL_ANSWERED,
        ),
        note(
            "gds_referral_note",
            (
                "得分在9分及以上，建议联系村医或乡镇卫生院，并安排人员定期探访。",
                "Score 9 or more: contact the village doctor or township health centre and "
                "arrange regular visits.",
            ),
            relevant=f"({GDS_ALL_ANSWERED}) and ${{gds_score}} >= 9",
        ),
        end_group("gds"),
        begin_group(
            "contact", ("五、联系人与需要", "5. Contacts and needs"), relevant="${consent} = 'yes'"
        ),
        q(
            "text",
            "contact_name",
            ("有事时可以联系谁？（姓名）", "Who can we contact if needed? (name)"),
        ),
        q(
            "select_one relation",
            "contact_relation",
            ("联系人和老人的关系", "Relation to the older person"),
        ),
        q(
            "text",
            "contact_phone",
            ("联系人电话", "Contact's phone"),
            constraint=PHONE_REGEX,
            constraint_msg=PHONE_MSG,
            appearance="numbers",
        ),
        q(
            "select_multiple elder_need",
            "needs",
            ("您最需要哪些帮助？（可多选）", "What help do you need most? (select all)"),
        ),
        q(
            "text",
            "other_need",
            ("其他需要，请说明", "Other needs, please describe"),
            relevant="selected(${needs}, 'other')",
            required=True,
        ),
        end_group("contact"),
    ],
}


# ======================================================================================
# 5. mediation_visit — 调解走访记录
# ======================================================================================
MEDIATION_VISIT = {
    "settings": {
        "form_id": "mediation_visit",
        "form_title": "调解走访记录",
        "instance_name": "concat(${case_ref}, ' ', ${visit_date})",
    },
    "survey": [
        *META_START,
        begin_group("visit", ("一、走访信息", "1. Visit")),
        q(
            "text",
            "case_ref",
            ("案件/家庭编号", "Case / household reference"),
            hint=(
                "填写系统中的家庭编号或调解案件编号",
                "The household or case number in the system",
            ),
            required=True,
        ),
        q(
            "date",
            "visit_date",
            ("走访日期", "Visit date"),
            required=True,
            constraint=". <= today()",
            constraint_msg=("走访日期不能晚于今天", "The visit date cannot be in the future."),
        ),
        q("select_one visit_type", "visit_type", ("走访方式", "Type of visit"), required=True),
        q(
            "select_multiple participant",
            "participants",
            ("参加人员（可多选）", "Who took part (select all)"),
            required=True,
        ),
        q(
            "decimal",
            "duration_hours",
            ("本次用时（小时）", "Duration (hours)"),
            hint=("例如半小时填 0.5", "e.g. 0.5 for half an hour"),
            constraint=". >= 0.25 and . <= 12",
            constraint_msg=(
                "用时应在0.25到12小时之间",
                "Duration must be between 0.25 and 12 hours.",
            ),
        ),
        end_group("visit"),
        begin_group("dispute", ("二、纠纷情况", "2. Dispute")),
        q(
            "select_one dispute_type",
            "dispute_type",
            ("纠纷类型", "Type of dispute"),
            required=True,
        ),
        q(
            "text",
            "other_dispute",
            ("其他纠纷，请说明", "Other dispute, please describe"),
            relevant="${dispute_type} = 'other'",
            required=True,
        ),
        begin_repeat("parties", ("当事人", "Party")),
        q("select_one party_role", "party_role", ("身份", "Role"), required=True),
        q("text", "party_name", ("姓名", "Name")),
        q("select_one sex", "party_sex", ("性别", "Sex")),
        q(
            "integer",
            "party_age",
            ("年龄", "Age"),
            constraint=". >= 0 and . <= 120",
            constraint_msg=("年龄应在0到120岁之间", "Age must be between 0 and 120."),
        ),
        end_repeat("parties"),
        calc("party_count", "count(${party_role})"),
        note(
            "party_count_note",
            ("共记录当事人 ${party_count} 人", "${party_count} parties recorded"),
        ),
        end_group("dispute"),
        begin_group("work", ("三、工作过程与结果", "3. Work done and outcome")),
        q(
            "select_multiple measure",
            "measures",
            ("本次采取了哪些措施？（可多选）", "What was done? (select all)"),
            required=True,
        ),
        q(
            "text",
            "work_details",
            ("工作过程简述", "Brief account of the visit"),
            appearance="multiline",
            required=True,
        ),
        q("select_one outcome", "outcome", ("调解结果", "Outcome"), required=True),
        q(
            "select_multiple referral",
            "referred_to",
            ("转介到哪里？（可多选）", "Referred to (select all)"),
            relevant="${outcome} = 'referred'",
            choice_filter="name != 'none'",
            required=True,
        ),
        q(
            "integer",
            "satisfaction",
            ("当事人满意度（1–5分）", "Parties' satisfaction (1-5)"),
            hint=("1 = 很不满意，5 = 很满意", "1 = very dissatisfied, 5 = very satisfied"),
            constraint=". >= 1 and . <= 5",
            constraint_msg=("请填写1到5之间的整数", "Enter a whole number from 1 to 5."),
        ),
        q(
            "select_one yes_no",
            "needs_followup",
            ("是否需要再次走访？", "Is another visit needed?"),
            required=True,
        ),
        q(
            "date",
            "next_visit_date",
            ("下次走访日期", "Next visit date"),
            relevant="${needs_followup} = 'yes'",
            required=True,
            constraint=". > ${visit_date}",
            constraint_msg=(
                "下次走访日期应晚于本次走访日期",
                "The next visit must be after this visit.",
            ),
        ),
        end_group("work"),
    ],
}

FORMS = [
    FAMILY_SCREENING,
    LEFT_BEHIND_CHILD,
    LEFT_BEHIND_WOMEN,
    LEFT_BEHIND_ELDERLY,
    MEDIATION_VISIT,
]


# --------------------------------------------------------------------------------------
# Writing the workbooks
# --------------------------------------------------------------------------------------
def _cell(row: dict, spec: tuple):
    _header, key, *idx = spec
    value = row.get(key)
    if value is None:
        return None
    return value[idx[0]] if idx else value


def _used_lists(survey: list[dict]) -> list[str]:
    used = []
    for row in survey:
        parts = row["type"].split()
        if parts[0] in ("select_one", "select_multiple") and parts[1] not in used:
            used.append(parts[1])
    return used


def _write_sheet(ws, header: list[str], rows: list[list]):
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append(r)
    ws.freeze_panes = "A2"


def build_workbook(form: dict) -> Workbook:
    survey = form["survey"]
    wb = Workbook()
    ws = wb.active
    ws.title = "survey"
    _write_sheet(
        ws,
        [spec[0] for spec in SURVEY_COLUMNS],
        [
            [
                _cell({"identifier": IDENTIFIERS.get(row.get("name")), **row}, spec)
                for spec in SURVEY_COLUMNS
            ]
            for row in survey
        ],
    )

    lists = _used_lists(survey)
    extra_cols = sorted({k for name in lists for c in CHOICES[name] if len(c) > 3 for k in c[3]})
    choice_rows = []
    for list_name in lists:
        for code, zh, en, *extra in CHOICES[list_name]:
            extras = extra[0] if extra else {}
            choice_rows.append([list_name, code, zh, en, *[extras.get(k) for k in extra_cols]])
    _write_sheet(
        wb.create_sheet("choices"),
        ["list_name", "name", f"label::{ZH}", f"label::{EN}", *extra_cols],
        choice_rows,
    )

    settings = {**form["settings"], "version": VERSION, "default_language": ZH}
    _write_sheet(wb.create_sheet("settings"), list(settings), [list(settings.values())])
    return wb


def main() -> list[Path]:
    FORMS_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for form in FORMS:
        path = FORMS_DIR / f"{form['settings']['form_id']}.xlsx"
        build_workbook(form).save(path)
        written.append(path)
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    main()
