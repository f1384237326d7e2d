"""Small entity forms and submissions as ODK Collect and our phone app send them, for the
household tests (issue 10): a registration form that creates ``households`` and a visit
form that updates them, in the shape pyxform writes for ODK Central."""

from __future__ import annotations

import uuid
from xml.sax.saxutils import escape, quoteattr

from tests.helpers import elements, xlsform

REGISTER = xlsform(
    [
        ["type", "name", "label", "save_to"],
        ["text", "head", "户主", ""],
        ["select_one risk", "risk_level", "风险", "risk_level"],
        ["date", "next_visit_date", "下次走访", "next_visit_date"],
    ],
    choices=[
        ["list_name", "name", "label"],
        ["risk", "low", "低"],
        ["risk", "high", "高"],
        ["risk", "serious", "重大隐患"],
    ],
    settings=[["form_id", "version"], ["hh_register", "1"]],
    entities=[["dataset", "label"], ["households", "concat(${head}, '家')"]],
)

VISIT = xlsform(
    [
        ["type", "name", "label", "save_to"],
        ["select_one_from_file households.csv", "household", "家庭", ""],
        ["date", "visit_date", "走访日期", "last_visit_date"],
        ["date", "next_visit_date", "下次走访", "next_visit_date"],
        ["select_one status", "case_status", "状态", "case_status"],
    ],
    choices=[
        ["list_name", "name", "label"],
        ["status", "following", "跟进中"],
        ["status", "paired", "结对帮扶"],
    ],
    settings=[["form_id", "version"], ["hh_visit", "1"]],
    entities=[["dataset", "entity_id", "update_if"], ["households", "${household}", "true()"]],
)


def entity_submission(
    form_id: str,
    answers: dict,
    entity: dict,
    label: str | None = None,
    instance_id: str | None = None,
    version: str = "1",
) -> tuple[bytes, str]:
    """Submission XML with ``meta/entity`` carrying the attributes ``entity`` gives
    (``dataset``, ``id``, ``create``, ``update``, ``baseVersion``, ``trunkVersion``,
    ``branchId``) and a ``label`` child when given. Returns (xml, instance ID)."""
    instance_id = instance_id or f"uuid:{uuid.uuid4()}"
    attrs = " ".join(f"{k}={quoteattr(str(v))}" for k, v in entity.items())
    label_el = f"<label>{escape(label)}</label>" if label is not None else ""
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><data id="{form_id}" version="{version}">'
        f"{elements(answers)}<meta><entity {attrs}>{label_el}</entity>"
        f"<instanceID>{instance_id}</instanceID></meta></data>"
    )
    return xml.encode("utf-8"), instance_id


def registration(head: str, risk: str = "high", due: str = "2026-12-10", hh_id: str | None = None):
    """A registration of household ``head`` (xml, instance ID, household id)."""
    hh_id = hh_id or str(uuid.uuid4())
    xml, iid = entity_submission(
        "hh_register",
        {"head": head, "risk_level": risk, "next_visit_date": due},
        {"dataset": "households", "id": hh_id, "create": "1"},
        label=f"{head}家",
    )
    return xml, iid, hh_id


def visit(
    hh_id: str,
    base: int | str,
    visit_date: str = "2026-12-05",
    due: str = "2026-12-20",
    status: str = "following",
    trunk: int | str = "",
    branch: str = "",
):
    """A visit updating household ``hh_id`` made from version ``base`` (xml, instance ID)."""
    return entity_submission(
        "hh_visit",
        {
            "household": hh_id,
            "visit_date": visit_date,
            "next_visit_date": due,
            "case_status": status,
        },
        {
            "dataset": "households",
            "id": hh_id,
            "update": "1",
            "baseVersion": base,
            "trunkVersion": trunk,
            "branchId": branch,
        },
    )


def screening_report(app, world) -> int:
    """The district supervisor's monthly screening report (``family_screening``, deadline
    5 days after the month) for every village of 东城区; returns its id."""
    from fieldapp.auth.services import get_user
    from fieldapp.extensions import db
    from fieldapp.reports.services import save_definition

    with app.app_context():
        definition = save_definition(
            get_user(world.supervisor),
            None,
            name="月度问题家庭排查",
            form_id="family_screening",
            period="monthly",
            level="village",
            deadline_days=5,
            area_code="339901",
        )
        db.session.commit()
        return definition.id
