"""A households export request (issue 10), read and checked once: from a form's data
page (the dataset that form fills), from the command line (``--dataset``), or from a
stored job's parameters. The same formats, values, languages and identifying rule as a
form's ``ExportRequest``; the rows are the households in the person's scope
(``scope.entities_in_scope``)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from fieldapp.cases.export_rows import dataset_forms, find_dataset, form_dataset
from fieldapp.cases.models import Dataset
from fieldapp.exports.household_properties import Properties
from fieldapp.exports.request import ExportRequestError, check_choices
from fieldapp.scope import Person
from fieldapp.surveys.models import Form


@dataclass(frozen=True)
class HouseholdExportRequest:
    """Who exports which entity list, in what format and how. ``form`` is the form whose
    page asked for it (a background job is filed under it; None from the command line).
    Build it with ``make`` (or ``from_args``/``from_params``), which checks it; then hand
    it to ``exports.households.write``."""

    person: Person
    dataset: Dataset
    properties: Properties
    form: Form | None = None
    fmt: str = "xlsx"  # one of exports.bundle.FORMATS ("csv": the households table only)
    labels: bool = False
    language: str | None = None
    bom: bool = True
    identifying: bool = False

    @classmethod
    def make(
        cls,
        person: Person,
        dataset: str,
        form: Form | None = None,
        fmt: str = "xlsx",
        values: str = "codes",
        language: str | None = None,
        bom: bool = True,
        identifying: bool = False,
    ) -> HouseholdExportRequest:
        """Check and build a request. Raises ``ExportRequestError``: 404 for an unknown
        dataset, 403 when ``person`` may not have identifying data, 400 for an unknown
        format, ``values`` or a language none of the dataset's forms has."""
        ds = find_dataset(dataset)
        if ds is None:
            raise ExportRequestError(_("没有名为 %(name)s 的家庭（实体）列表", name=dataset), 404)
        props = Properties(ds.name, list(ds.properties or []), dataset_forms(ds.name))
        check_choices(person, fmt, values, identifying, language, props.languages)
        return cls(
            person, ds, props, form, fmt, values == "labels", language or None, bom, identifying
        )

    @classmethod
    def from_args(cls, person: Person, form: Form, args) -> HouseholdExportRequest:
        """The export of the dataset ``form`` fills, as query arguments ask (``format``,
        ``values``, ``lang``, ``bom=0``, ``identifying=1``). Raises
        ``ExportRequestError`` (404) when the form fills no dataset."""
        name = form_dataset(form)
        if name is None:
            raise ExportRequestError(_("这份问卷不登记也不更新家庭，没有家庭列表可导出"), 404)
        return cls.make(
            person,
            name,
            form,
            args.get("format") or "xlsx",
            args.get("values") or "codes",
            args.get("lang") or None,
            args.get("bom", "1") != "0",
            args.get("identifying") == "1",
        )

    @classmethod
    def from_params(cls, person: Person, form: Form | None, params: dict):
        """The request a job stored with ``params`` (checked again: a role may have
        changed since)."""
        return cls.make(
            person,
            params["dataset"],
            form,
            params["format"],
            "labels" if params.get("labels") else "codes",
            params.get("language"),
            params.get("bom", True),
            bool(params.get("identifying")),
        )

    def params(self) -> dict:
        """The JSON a job keeps of this request (``from_params`` reads it back; the
        ``dataset`` key tells the worker it is a households export)."""
        return {
            "dataset": self.dataset.name,
            "format": self.fmt,
            "labels": self.labels,
            "language": self.language,
            "bom": self.bom,
            "identifying": self.identifying,
        }

    @property
    def label_language(self) -> str | None:
        """The language labels are written in: the one asked for, else the newest
        form's default."""
        return self.language or self.properties.default_language

    def audit_details(self) -> dict:
        """What the audit log keeps of an export."""
        return {
            "format": self.fmt,
            "values": "labels" if self.labels else "codes",
            "identifying": self.identifying,
        }
