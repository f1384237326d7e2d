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
