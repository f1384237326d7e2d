"""The form of the report pages (Flask-WTF: CSRF on every change). What a value may be
is checked by ``fieldapp.reports.services.save_definition``, whose ``ReportError`` says
why in the UI language; the choices come from the view (the person's forms and areas)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField

from fieldapp.reports.services import MAX_NAME


class DefinitionForm(FlaskForm):
    """A periodic report: name, form, period, unit level, deadline, area, active."""

    name = StringField(_l("报告名称"), render_kw={"maxlength": MAX_NAME})
    form = SelectField(_l("哪份问卷算作报告"), validate_choice=False)
    period = SelectField(_l("报告周期"), validate_choice=False)
    level = SelectField(_l("报告单位"), validate_choice=False)
    deadline_days = StringField(
        _l("截止：周期结束后几天（0–90）"), render_kw={"inputmode": "numeric", "maxlength": 3}
    )
    area = SelectField(_l("报告范围（区划）"), validate_choice=False)
    active = BooleanField(_l("启用（停用后手机不再提示，已有统计仍可查看）"), default=True)
