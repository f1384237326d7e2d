"""Forms of the people pages (Flask-WTF, CSRF-protected but the filter)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from fieldapp.auth.models import ROLE_LABELS


def role_choices(roles) -> list[SelectChoice]:
    """The options of a role select: ``roles`` with their labels, translated."""
    return [SelectChoice(r, _(ROLE_LABELS[r])) for r in roles]


class FilterForm(FlaskForm):
    """Narrow the list: role, area, active or not, a text (GET, no CSRF: reads only)."""

    class Meta:
        csrf = False

    q = StringField(_l("查找"), validators=[Optional(), Length(max=100)])
    role = SelectField(_l("角色"), validators=[Optional()])
    area = SelectField(_l("区划"), validators=[Optional()])
    active = SelectField(
        _l("状态"),
        choices=[
            SelectChoice("", _l("全部")),
            SelectChoice("1", _l("在用")),
            SelectChoice("0", _l("已停用")),
        ],
        validators=[Optional()],
    )


class UserForm(FlaskForm):
    """A user's username (only when creating), name, phone, role and home area."""

    username = StringField(
        _l("用户名（登录用，字母或数字）"),
        validators=[DataRequired(_l("请填写用户名")), Length(max=64)],
    )
    display_name = StringField(
        _l("姓名"), validators=[DataRequired(_l("请填写姓名")), Length(max=100)]
    )
    phone = StringField(_l("手机（可不填）"), validators=[Optional(), Length(max=32)])
    role = SelectField(_l("角色"))
    area = SelectField(_l("所属区划"))


class ImportForm(FlaskForm):
    """The XLSX of users to check."""

    file = FileField(_l("用户名单（Excel .xlsx）"), validators=[FileRequired(_l("请选择文件"))])


class ActionForm(FlaskForm):
    """A button that changes something (deactivate, reset a password, confirm): CSRF only."""
