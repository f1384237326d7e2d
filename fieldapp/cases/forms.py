"""Forms of the household pages (Flask-WTF: CSRF on every change). What a value may be
(a reason's length, whom one may assign) is checked by ``fieldapp.cases.services``,
whose ``CaseError`` says why in the UI language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField

from fieldapp.cases.services import MAX_REASON


class AssignForm(FlaskForm):
    """Reassign a household: the username of its new person ("" for nobody)."""

    user = SelectField(_l("改由谁跟进"), validate_choice=False)


class CloseForm(FlaskForm):
    """Close a case: the reason is required (``services.close``)."""

    reason = TextAreaField(_l("结案原因（必填）"), render_kw={"maxlength": MAX_REASON, "rows": 3})


class ReopenForm(FlaskForm):
    """Reopen a closed case, with an optional note."""

    note = TextAreaField(_l("说明（可不填）"), render_kw={"maxlength": MAX_REASON, "rows": 2})


class ResolveForm(FlaskForm):
    """Resolve a conflict: an optional note; the value kept for each conflicting
    property comes as ``keep-<property>`` radio fields (read by the view)."""

    note = TextAreaField(_l("处理说明（可不填）"), render_kw={"maxlength": MAX_REASON, "rows": 2})
