"""The XLSForm upload form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import SelectField


class UploadForm(FlaskForm):
    """An XLSForm file, optional media files, and the area it is published to."""

    xlsform = FileField(
        _l("XLSForm 问卷文件（.xlsx 或 .xls）"), validators=[FileRequired(_l("请选择文件"))]
    )
    media = MultipleFileField(_l("附件（图片、CSV 等，可选）"))
    area = SelectField(_l("发布到区划"))
