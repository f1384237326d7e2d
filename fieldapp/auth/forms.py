"""Login, password and language forms (Flask-WTF, CSRF-protected)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from fieldapp.auth.passwords import MIN_PASSWORD


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=200)])


class ChangePasswordForm(FlaskForm):
    """The current password and the new one, twice."""

    current = PasswordField(
        _l("当前密码（或管理员给您的一次性密码）"),
        validators=[DataRequired(_l("请填写当前密码")), Length(max=200)],
    )
    new = PasswordField(
        _l("新密码（至少 %(n)s 个字符）", n=MIN_PASSWORD),
        validators=[DataRequired(_l("请填写新密码")), Length(max=200)],
        render_kw={"minlength": MIN_PASSWORD},
    )
    repeat = PasswordField(
        _l("再输入一次新密码"),
        validators=[
            DataRequired(_l("请再输入一次新密码")),
            EqualTo("new", _l("两次输入的新密码不一致")),
        ],
    )


class LanguageForm(FlaskForm):
    """The UI language a person prefers."""

    language = RadioField(
        _l("界面语言"),
        choices=[SelectChoice("zh", "中文"), SelectChoice("en", "English")],
        validators=[DataRequired()],
    )


class CodeForm(FlaskForm):
    """A second factor: the 6-digit authenticator code, or a recovery code."""

    code = StringField(
        _l("验证码（或一个恢复码）"),
        validators=[DataRequired(_l("请填写验证码")), Length(max=20)],
    )


class TwoFactorOffForm(FlaskForm):
    """Turning two-factor sign-in off asks for the password again."""

    password = PasswordField(
        _l("当前密码"), validators=[DataRequired(_l("请填写当前密码")), Length(max=200)]
    )
