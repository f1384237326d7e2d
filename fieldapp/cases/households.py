"""The household vocabulary: the ``households`` dataset's properties that fieldapp reads
(risk, status, visits, referrals) and their Chinese names. One place, so that the
bundled questionnaires (questionnaires/README.md, "Households"), the lists, the exports
and the figures agree.

Values are the choice names the bundled forms save (``save_to``); a form written
elsewhere that saves other names still works as an entity list, it just fills fewer of
the household columns.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

DATASET = "households"

# Properties (save_to names) read into the household columns of ``Entity``.
RISK, STATUS, NEXT_VISIT, LAST_VISIT = (
    "risk_level",
    "case_status",
    "next_visit_date",
    "last_visit_date",
)

RISK_LEVELS = {"low": _l("低"), "medium": _l("中"), "high": _l("高"), "serious": _l("重大隐患")}
RISK_ORDER = ("serious", "high", "medium", "low")
OPEN, FOLLOWING, PAIRED, CLOSED = "open", "following", "paired", "closed"
STATUSES = {
    OPEN: _l("待跟进"),
    FOLLOWING: _l("跟进中"),
    PAIRED: _l("结对帮扶"),
    CLOSED: _l("已结案"),
}
REFERRAL_TYPES = {
    "complaint_station": _l("家庭暴力投诉站"),
    "shelter": _l("庇护中心"),
    "injury_assessment": _l("伤情鉴定中心"),
    "legal_aid": _l("妇女法律维权岗（法律援助）"),
    "court_mediation": _l("法院诉调对接"),
}
REFERRAL_OUTCOMES = {
    "pending": _l("已转介待反馈"),
    "accepted": _l("已受理"),
    "resolved": _l("已办结"),
    "declined": _l("未受理"),
}

# Outcomes of a mediation visit (``last_outcome``, the visit form's ``outcome``).
VISIT_OUTCOMES = {
    "success": _l("调解成功"),
    "partial": _l("部分达成"),
    "failed": _l("未达成"),
    "referred": _l("转介"),
}
REFERRAL, REFERRAL_OUTCOME = "last_referral", "last_referral_outcome"

# The properties fieldapp knows, with their names on the household pages (in this
# order), and the coded ones' value names. A property a form saves that is not here is
# shown by its own name and value, and only to those who may identify the household
# (it may hold anything: ``fieldapp.cases.queries``).
PROPERTY_LABELS = {
    RISK: _l("风险等级"),
    STATUS: _l("家庭状态"),
    NEXT_VISIT: _l("下次走访日期"),
    LAST_VISIT: _l("最近走访日期"),
    "last_outcome": _l("最近调解结果"),
    REFERRAL: _l("最近转介"),
    REFERRAL_OUTCOME: _l("转介结果"),
    "village": _l("村/社区"),
    "member_count": _l("家庭成员人数"),
    "minor_count": _l("未成年人数"),
}
VALUE_LABELS = {
    RISK: RISK_LEVELS,
    STATUS: STATUSES,
    "last_outcome": VISIT_OUTCOMES,
    REFERRAL: REFERRAL_TYPES,
    REFERRAL_OUTCOME: REFERRAL_OUTCOMES,
}


def property_label(name: str) -> str:
    """The Chinese (UI language) name of property ``name``, or ``name`` itself."""
    label = PROPERTY_LABELS.get(name)
    return str(label) if label else name


def value_label(name: str, value: str | None) -> str:
    """Property ``name``'s ``value`` as shown: a coded value's name (``high`` → 高), else
    the value as stored; "" for None."""
    if value is None:
        return ""
    label = VALUE_LABELS.get(name, {}).get(value)
    return str(label) if label else value


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip()[:10]) if value else None
    except ValueError:
        return None


def derive(entity) -> None:
    """Set ``entity``'s household columns from its properties (``entity.data``): risk
    (a key of ``RISK_LEVELS`` or None), status (a key of ``STATUSES``; ``open`` when
    unset or unknown), next visit due and last visit (ISO dates; None when blank or not
    a date). Entities of other datasets get the same columns when their forms save the
    same property names."""
    data = entity.data or {}
    risk = (data.get(RISK) or "").strip()
    entity.risk = risk if risk in RISK_LEVELS else None
    status = (data.get(STATUS) or "").strip()
    entity.status = status if status in STATUSES else OPEN
    entity.next_visit_due = None if entity.status == CLOSED else _date(data.get(NEXT_VISIT))
    entity.last_visit_date = _date(data.get(LAST_VISIT))
