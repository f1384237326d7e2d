"""Forms of the figures pages (Flask-WTF: CSRF on every change). What a definition may
say is checked by ``fieldapp.figures.definitions.validate``, whose messages name the
figure and the position of a mistake in its condition."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional


class _Order(IntegerField):
    """An integer whose bad input is refused in the UI language."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("排序应为整数")) from None


class DefinitionForm(FlaskForm):
    """One figure definition (``key`` only when it is new)."""

    key = StringField(
        _l("编号（小写英文、数字、下划线；保存后不能改）"), validators=[Length(max=64)]
    )
    label = StringField(_l("名称"), validators=[InputRequired(_l("请填写名称")), Length(max=200)])
    group = StringField(_l("组别（年度数据页上的小节）"), validators=[Optional(), Length(max=100)])
    source = StringField(
        _l("来源：问卷编号，或 households（家庭）、household_versions（家庭变更）"),
        validators=[InputRequired(_l("请填写来源")), Length(max=100)],
    )
    condition = TextAreaField(
        _l("条件（留空则计全部）"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 3}
    )
    aggregate = StringField(
        _l("汇总：count、sum:题目名称 或 distinct_households"),
        validators=[InputRequired(_l("请填写汇总方式")), Length(max=100)],
    )
    date_field = StringField(
        _l("按哪道日期题计年份（留空：填写日；家庭：建档日）"),
        validators=[Optional(), Length(max=200)],
    )
    position = _Order(
        _l("排序（小的在前）"),
        validators=[
            InputRequired(_l("排序应为整数")),
            NumberRange(min=0, max=1_000_000, message=_l("排序应为 0 到 1000000 之间的整数")),
        ],
    )
    active = BooleanField(_l("启用"))

    def values(self) -> dict:
        """What to save, by ``FigureDefinition`` attribute."""
        return {
            "key": (self.key.data or "").strip(),
            "label": self.label.data or "",
            "group": self.group.data or "",
            "source": self.source.data or "",
            "condition": self.condition.data or "",
            "aggregate": self.aggregate.data or "",
            "date_field": self.date_field.data or "",
            "position": self.position.data,
            "active": bool(self.active.data),
        }
