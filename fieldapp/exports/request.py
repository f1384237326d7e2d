"""An export request, read and checked once: from a page's query arguments, from the
command line, or from a stored job's parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select

from fieldapp.exports.bundle import FORMATS
from fieldapp.scope import Person, may_identify, submissions_in_scope
from fieldapp.submissions.filters import FilterError, SubmissionFilter
from fieldapp.surveys.models import Form

VALUES = ("codes", "labels")


class ExportRequestError(ValueError):
    """An export that cannot be asked for like this; ``status`` is the HTTP status (400,
    403) and ``str()`` the message for the person asking."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def check_choices(
    person, fmt: str, values: str, identifying: bool, language: str | None, languages
) -> None:
    """The checks every export request shares (a form's, the households'). Raises
    ``ExportRequestError``: 403 when ``person`` may not have identifying data
    (``scope.may_identify``), 400 for an unknown format, ``values`` other than
    codes/labels, or a ``language`` not among ``languages``."""
    if identifying and not may_identify(person):
        raise ExportRequestError(_("您的角色不能导出含身份信息的数据；请导出去标识化的数据"), 403)
    if fmt not in FORMATS:
        raise ExportRequestError(_("未知的导出格式：%(fmt)s", fmt=fmt))
    if values not in VALUES:
        raise ExportRequestError(_("values 只能是 codes（选项代码）或 labels（选项标签）"))
    languages = list(languages or [])
    if language and language not in languages:
        raise ExportRequestError(
            _(
                "问卷没有语言 %(lang)s；可选：%(langs)s",
                lang=language,
                langs="、".join(languages) or "无",
            )
        )


@dataclass(frozen=True)
class ExportRequest:
    """Who exports which form, in what format and how. Build it with ``make`` (or
    ``from_args``/``from_params``), which checks it; then hand it to
    ``exports.services.write`` or ``stream_csv``."""

    person: Person  # whose scope: a user, or scope.OPERATOR at the command line
    form: Form
    fmt: str = "csv"  # one of exports.bundle.FORMATS
    labels: bool = False  # choice labels instead of codes
    language: str | None = None  # label language; None: the form's default
    bom: bool = True  # UTF-8 byte order mark on CSVs (Excel shows Chinese)
    identifying: bool = False  # keep marked identifiers (only for may_identify)
    filter: SubmissionFilter = field(default_factory=SubmissionFilter)

    @classmethod
    def make(
        cls,
        person: Person,
        form: Form,
        fmt: str = "csv",
        values: str = "codes",
        language: str | None = None,
        bom: bool = True,
        identifying: bool = False,
        filter: SubmissionFilter | None = None,  # noqa: A002 - the field's name
    ) -> ExportRequest:
        """Check and build a request. Raises ``ExportRequestError``: 403 when ``person``
        may not have identifying data, 400 for an unknown format, ``values`` other than
        codes/labels, a language the form does not have, or a filter outside the
        person's scope."""
        check_choices(
            person, fmt, values, identifying, language, form.current.schema.get("languages")
        )
        request = cls(
            person,
            form,
            fmt,
            values == "labels",
            language or None,
            bom,
            identifying,
            filter or SubmissionFilter(),
        )
        request.statement()  # an area filter outside the scope is refused here
        return request

    @classmethod
    def from_args(cls, person: Person, form: Form, args, fmt: str | None = None):
        """Read a request from query arguments (``format``, ``values``, ``lang``,
        ``bom=0``, ``identifying=1`` and the filters of ``submissions.filters``)."""
        try:
            flt = SubmissionFilter.from_args(args)
        except FilterError as exc:
            raise ExportRequestError(str(exc)) from exc
        return cls.make(
            person,
            form,
            fmt or args.get("format") or "xlsx",
            args.get("values") or "codes",
            args.get("lang") or None,
            args.get("bom", "1") != "0",
            args.get("identifying") == "1",
            flt,
        )

    @classmethod
    def from_params(cls, person: Person, form: Form, params: dict) -> ExportRequest:
        """The request a job stored with ``params`` (checked again: a role may have
        changed since)."""
        raw = params.get("filters") or {}
        flt = SubmissionFilter(
            date.fromisoformat(raw["from"]) if raw.get("from") else None,
            date.fromisoformat(raw["to"]) if raw.get("to") else None,
            raw.get("area"),
            raw.get("version"),
            raw.get("submitter"),
        )
        return cls.make(
            person,
            form,
            params["format"],
            "labels" if params.get("labels") else "codes",
            params.get("language"),
            params.get("bom", True),
            bool(params.get("identifying")),
            flt,
        )

    def params(self) -> dict:
        """The JSON a job keeps of this request (``from_params`` reads it back)."""
        return {
            "format": self.fmt,
            "labels": self.labels,
            "language": self.language,
            "bom": self.bom,
            "identifying": self.identifying,
            "filters": self.filter.as_args(),
        }

    @property
    def label_language(self) -> str | None:
        """The language labels are written in: the one asked for, else the form's default."""
        return self.language or self.form.current.schema.get("default_language")

    def statement(self) -> Select:
        """The submissions to export: the person's scope, narrowed by the filters."""
        try:
            return self.filter.apply(
                submissions_in_scope(self.person, self.form),
                self.person,
                current_app.config["TIMEZONE"],
            )
        except FilterError as exc:
            raise ExportRequestError(str(exc)) from exc

    def audit_details(self) -> dict:
        """What the audit log keeps of an export."""
        return {
            "format": self.fmt,
            "values": "labels" if self.labels else "codes",
            "identifying": self.identifying,
            "filters": self.filter.as_args(),
        }
