"""Flask-WTF forms of the questionnaire pages: upload, state change, media."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import BooleanField, HiddenField, SelectField
from wtforms.validators import DataRequired


class UploadForm(FlaskForm):
    """An XLSForm file, optional media files, the area it is published to, and whether
    a new form starts as a draft."""

    xlsform = FileField(
        _l("XLSForm 问卷文件（.xlsx 或 .xls）"), validators=[FileRequired(_l("请选择文件"))]
    )
    media = MultipleFileField(_l("附件（图片、CSV 等，可选）"))
    area = SelectField(_l("发布到区划"))
    draft = BooleanField(_l("先存为草稿，测试后发布"))


class StateForm(FlaskForm):
    """The state a form is moved to (one button per allowed move)."""

    state = HiddenField(validators=[DataRequired(_l("缺少目标状态"))])


class MediaForm(FlaskForm):
    """Media files added to (or replacing files of) a form's current version."""

    files = MultipleFileField(_l("选择附件文件（可多选）"))
