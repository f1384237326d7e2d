"""The forms of the area pages (Flask-WTF, CSRF on each)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length


class NameForm(FlaskForm):
    """A new name for an area."""

    name = StringField(_l("新名称"), validators=[DataRequired(_l("请填写名称")), Length(max=100)])


class AddForm(FlaskForm):
    """A new area under the page's area: its code and name."""

    code = StringField(_l("代码"), validators=[DataRequired(_l("请填写代码")), Length(max=32)])
    name = StringField(_l("名称"), validators=[DataRequired(_l("请填写名称")), Length(max=100)])


class MoveForm(FlaskForm):
    """Where to move an area: a new parent (choices set by the view)."""

    parent = SelectField(_l("移到"), validators=[DataRequired(_l("请选择上级"))])


class ConfirmForm(FlaskForm):
    """A button that changes something (deactivate, reactivate, delete): CSRF only."""


class ImportForm(FlaskForm):
    """An area file to check (nothing is saved before the confirmation)."""

    file = FileField(_l("区划文件（.xlsx 或 .csv）"), validators=[FileRequired(_l("请选择文件"))])


class ImportConfirmForm(FlaskForm):
    """Apply the previewed import: the kept upload and the fingerprint of the preview."""

    token = HiddenField(validators=[DataRequired()])
    digest = HiddenField(validators=[DataRequired()])
