"""Publishing questionnaires: XLSForm in, XForm versions out (who may use which form:
``fieldapp.scope``)."""

from __future__ import annotations

import hashlib
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask_babel import gettext as _
from lxml import etree
from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert
from sqlalchemy import select

from fieldapp.areas.models import Area
from fieldapp.audit.services import record
from fieldapp.auth.models import User
from fieldapp.cases.process import dataset_named
from fieldapp.cases.spec import entity_spec
from fieldapp.extensions import db
from fieldapp.scope import area_in_scope, may_manage_form
from fieldapp.spreadsheet_files import (
    NotXlsxError,
    SpreadsheetFileError,
    check_xlsx,
    too_many_rows,
)
from fieldapp.surveys.drafts import new_draft_token
from fieldapp.surveys.identifiers import identifier_marks
from fieldapp.surveys.lifecycle import STATE_LABELS
from fieldapp.surveys.media import (
    MediaError,
    check_media,
    missing_media,
    referenced_media,
    store_media,
)
from fieldapp.surveys.models import ARCHIVED, CLOSED, DRAFT, Form, FormVersion
from fieldapp.surveys.refusals import locate
from fieldapp.surveys.xform_schema import XFormSchemaError, data_questions, extract_schema

MAX_UNZIPPED_BYTES = 100 * 1024 * 1024  # an .xlsx is a zip: refuse zip bombs before parsing
# Rows a sheet of an XLSForm may have: pyxform takes about 4 s for a 5,000-choice list
# here and grows faster than the rows (a 1,000,000-row sheet held a worker until it was
# killed), so longer sheets are refused before converting. Very long choice lists
# belong in a CSV file (select_one_from_file), as ODK advises.
MAX_SHEET_ROWS = 10_000
NON_QUESTION_TYPES = {
    "group",
    "repeat",
    "note",
    "instance_id",
    "start",
    "end",
    "today",
    "deviceid",
    "username",
    "phonenumber",
    "metadata",
    "hidden",
}


class XLSFormError(ValueError):
    """The XLSForm cannot be published; ``str()`` is a message a person can act on."""


@dataclass
class ImportResult:
    """What ``import_xlsform`` did: the version, whether it is new, warnings (pyxform's
    and ours), and the media the version names that are not stored."""

    form_version: FormVersion
    created: bool
    warnings: list[str]
    missing_media: list[str] = field(default_factory=list)


def _check_container(data: bytes, filename: str, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise XLSFormError(
            f"文件过大（{len(data) // 1024} KB），问卷文件不能超过 {max_bytes // 1024 // 1024} MB"
        )
    if not filename.lower().endswith((".xlsx", ".xls")):
        raise XLSFormError("请上传 Excel 格式的 XLSForm 问卷（.xlsx 或 .xls）")
    if filename.lower().endswith(".xlsx"):
        try:
            check_xlsx(
                data,
                max_unzipped=MAX_UNZIPPED_BYTES,
                max_rows=MAX_SHEET_ROWS,
                what="问卷",
                trust_dimension=False,
            )
        except NotXlsxError as exc:
            raise XLSFormError("文件不是有效的 .xlsx 表格（可能已损坏，或只是改了扩展名）") from exc
        except SpreadsheetFileError as exc:
            if str(exc) == too_many_rows(MAX_SHEET_ROWS):
                raise XLSFormError(
                    f"问卷的某个工作表超过 {MAX_SHEET_ROWS:,} 行，未转换。很长的选项表请放到 "
                    "CSV 附件中，用 select_one_from_file 引用"
                ) from exc
            raise XLSFormError(str(exc)) from exc


# Page names under /surveys/ that a form id would shadow (/surveys/<form_id>).
RESERVED_FORM_IDS = {"upload"}
_UNSAFE_ID = re.compile(r"[/\\?#%\x00-\x1f]")


def _check_identity(schema: dict) -> None:
    """Refuse ids and versions that cannot be stored or used in a URL (OpenRosa formID)."""
    form_id, version = schema["form_id"] or "", schema["version"] or ""
    if (
        not form_id.strip()
        or len(form_id) > 100
        or _UNSAFE_ID.search(form_id)
        or form_id != form_id.strip()
    ):
        raise XLSFormError(
            f"settings 表的 form_id “{form_id[:120]}” 不可用：最多 100 个字符，"
            "不能含 / \\ ? # % 或首尾空格"
        )
    if form_id.lower() in RESERVED_FORM_IDS:
        raise XLSFormError(
            f"settings 表的 form_id “{form_id}” 是系统保留的名字（网址 /surveys/{form_id} "
            "另有用途），请换一个"
        )
    if len(version) > 100 or _UNSAFE_ID.search(version):
        raise XLSFormError("settings 表的 version 不可用：最多 100 个字符，不能含 / \\ ? # %")
    if len(schema["title"] or "") > 200:
        raise XLSFormError("settings 表的 form_title 过长（最多 200 个字符）")


def convert_xlsform(data: bytes, filename: str, max_bytes: int = 10 * 1024 * 1024):
    """Convert XLSForm bytes with pyxform; return (xform_xml, schema, warnings).

    Raises ``XLSFormError`` with pyxform's message (which names the sheet and row where
    pyxform knows them) for a broken file, and for a form without any question.
    """
    _check_container(data, filename, max_bytes)
    notes: list[str] = []
    # pyxform names a form without settings.form_id after its file, so convert from a
    # file that has the uploaded name (made safe), not from bare bytes.
    stem, ext = filename.rsplit("/", 1)[-1].rsplit(".", 1)
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", stem).strip("._") or "form"
    try:
        with tempfile.TemporaryDirectory(prefix="xlsform-") as tmp, warnings.catch_warnings():
            # openpyxl warns about Excel extensions it drops (data validation, etc.):
            # nothing the author must act on.
            warnings.simplefilter("ignore", UserWarning)
            path = Path(tmp) / f"{stem}.{ext.lower()}"
            path.write_bytes(data)
            result = convert(xlsform=str(path), warnings=notes)
    except PyXFormError as exc:
        raise XLSFormError(f"XLSForm 有错误：{locate(str(exc), data)}") from exc
    except Exception as exc:  # noqa: BLE001 - pyxform/openpyxl raise many kinds on junk
        raise XLSFormError(f"无法读取该 XLSForm：{type(exc).__name__}: {exc}") from exc
    xform = result.xform
    try:
        schema = extract_schema(xform)
    except (XFormSchemaError, etree.XMLSyntaxError) as exc:
        raise XLSFormError(f"转换结果无法解析：{exc}") from exc
    _check_identity(schema)
    if not [q for q in data_questions(schema) if q["type"] not in NON_QUESTION_TYPES]:
        raise XLSFormError("XLSForm 的 survey 表中没有任何题目")
    if not schema["version"]:
        xform, schema = _stamp_version(xform, datetime.now().strftime("%Y%m%d%H%M%S"))
        notes.append(f"settings 表没有 version，已自动设为 {schema['version']}")
    schema["identifiers"] = identifier_marks(data, filename)
    schema["media"] = referenced_media(xform)
    schema["entities"] = entity_spec(xform)
    return xform, schema, notes


def _stamp_version(xform: str, version: str) -> tuple[str, dict]:
    """Set ``version`` on the primary instance root (KoboToolbox does the same)."""
    doc = etree.fromstring(xform.encode("utf-8"))
    ns = {"xf": "http://www.w3.org/2002/xforms", "h": "http://www.w3.org/1999/xhtml"}
    inst = next(i for i in doc.iterfind("h:head/xf:model/xf:instance", ns) if not i.get("id"))
    next(c for c in inst if isinstance(c.tag, str)).set("version", version)
    out = etree.tostring(doc, xml_declaration=True, encoding="utf-8").decode("utf-8")
    return out, extract_schema(out)


def import_xlsform(
    data: bytes,
    filename: str,
    area: Area | None,
    user: User | None = None,
    media: list[tuple[str, bytes]] | None = None,
    max_bytes: int = 10 * 1024 * 1024,
    draft: bool = False,
    via: str | None = None,
) -> ImportResult:
    """Publish an XLSForm as a new form version (flushed, not committed).

    ``area`` is where the form is published: a new form goes there (the root area when
    ``None``); for a form already published, another area moves it there, ``None``
    keeps it. ``user`` ``None`` is the server's operator (CLI, demo). ``draft`` makes a
    new form a draft (tested through its test link, published later: see
    ``fieldapp.surveys.lifecycle``); a new version keeps the form's state (one of an open
    form reaches the field at once).

    The same file, or the same ``settings.version`` with the same XForm, is stored once
    (``created=False``); ``media`` given with it are stored on that version all the
    same. Refused with ``XLSFormError``, changing nothing: the same version with other
    content, a form the importer may not manage or an area outside their scope,
    ``draft`` for a form already published, an unusable media file (name over 255
    characters, a slash, empty). Media the form names but nobody gave are listed in
    ``missing_media`` and warned about, not refused.
    """
    media = media or []
    try:
        check_media(media)
    except MediaError as exc:
        raise XLSFormError(str(exc)) from exc
    via = via or ("web" if user is not None else "cli")
    xform, schema, notes = convert_xlsform(data, filename, max_bytes)
    form_id, version = schema["form_id"], schema["version"]
    form = db.session.scalar(select(Form).where(Form.form_id == form_id))
    if form is not None:
        if user is not None and not may_manage_form(user, form):
            raise XLSFormError(f"问卷 {form_id} 已由其他区划发布，您无权更新")
        if draft and form.state != DRAFT:
            raise XLSFormError(
                _(
                    "问卷 %(id)s 已发布（%(state)s），不能再存为草稿：新版本会直接沿用问卷的"
                    "状态。若要先测试，请换一个 form_id 作为新问卷上传。",
                    id=form_id,
                    state=STATE_LABELS[form.state],
                )
            )
        if area is not None and area.id != form.area_id:
            if user is not None and not area_in_scope(user, area):
                raise XLSFormError(f"您无权把问卷发布到 {area.name}")
            notes.append(f"发布区划已由 {form.area.name} 改为 {area.name}")
            # Who may fill it in and who sees its data change with the area: audited.
            record(
                user.id if user else None,
                "form_move",
                f"form:{form_id}",
                **{"from": form.area.code, "to": area.code},
                **({"via": via} if via else {}),
            )
            form.area = area
        same = next((v for v in form.versions if v.xlsform == data), None)
        same = same or next(
            (v for v in form.versions if v.version == version and v.xform == xform), None
        )
        if same is None and any(v.version == version for v in form.versions):
            raise XLSFormError(
                f"问卷 {form_id} 的版本 {version} 已发布且内容不同。请在 settings 表中修改 "
                f"version（例如改为更大的日期编号）后再上传。"
            )
        if same is not None:  # the same file covers files whose version we stamped
            if same.schema.get("identifiers") != schema["identifiers"]:
                # Only fieldapp's own marks changed (or were lost: forms without a
                # settings.version used to drop them): the XForm, and so every phone's
                # copy, stays the same version.
                same.schema = {**same.schema, "identifiers": schema["identifiers"]}
                same.xlsform = data
                notes.append("已更新身份信息标记（fieldapp::identifier）")
            _media_on_existing(same, media, user, via, notes)
            return ImportResult(same, False, notes, missing_media(same))
        notes.extend(_state_notes(form))
    else:
        if area is None:
            area = db.session.scalar(select(Area).where(Area.parent_id.is_(None)).order_by(Area.id))
        if area is None:
            raise XLSFormError("还没有任何区划：请先运行 fieldapp demo 或创建区划")
        if user is not None and not area_in_scope(user, area):
            raise XLSFormError(f"您无权把问卷发布到 {area.name}")
        form = Form(form_id=form_id, title=schema["title"] or form_id, area=area)
        if draft:
            form.state, form.draft_token = DRAFT, new_draft_token()
        db.session.add(form)
    form.title = schema["title"] or form_id
    fv = FormVersion(
        form=form,
        version=version,
        title=form.title,
        xform=xform,
        md5=hashlib.md5(xform.encode("utf-8")).hexdigest(),
        schema=schema,
        xlsform=data,
        xlsform_filename=filename,
        created_by_id=user.id if user else None,
    )
    store_media(fv, media)
    db.session.add(fv)
    if schema.get("entities"):
        # Central makes the dataset when a form that creates or updates it is published.
        spec = schema["entities"]
        dataset_named(spec["dataset"], list(dict.fromkeys(spec["saveto"].values())))
    db.session.flush()
    missing = missing_media(fv)
    record(
        user.id if user else None,
        "form_publish",
        f"form:{form_id}",
        version=version,
        draft=form.state == DRAFT,
        state=form.state,
        media=[m.filename for m in fv.media],
        missing_media=missing,
        via=via,
    )
    return ImportResult(fv, True, notes, missing)


def _media_on_existing(
    fv: FormVersion, media: list[tuple[str, bytes]], user: User | None, via: str, notes: list
) -> None:
    """Store media given with an unchanged form on that version (audited)."""
    added, replaced = store_media(fv, media)
    if not (added or replaced):
        return
    db.session.flush()
    record(
        user.id if user else None,
        "form_media_add",
        f"form:{fv.form.form_id}",
        version=fv.version,
        added=added,
        replaced=replaced,
        via=via,
    )
    notes.append(
        _(
            "问卷未变，附件已存入版本 %(v)s：%(names)s",
            v=fv.version,
            names="、".join(added + replaced),
        )
    )


def _state_notes(form: Form) -> list[str]:
    """What a new version of ``form`` means for the field, by the form's state."""
    if form.state == DRAFT:
        return [_("问卷仍是草稿：测试后在问卷页面点“发布”")]
    if form.state == CLOSED:
        return [_("问卷已关闭：新版本不会提供给填写，重新开放后才会")]
    if form.state == ARCHIVED:
        return [_("问卷已归档：新版本不会提供给填写")]
    return []


def missing_media_warning(missing: list[str]) -> str:
    """The warning for a publish with media the form names but nobody gave."""
    return _(
        "缺少 %(n)s 个附件：%(names)s。手机上用到它们的图片、选项或数据将无法显示；"
        "请在问卷页面补传（不必提高版本）。",
        n=len(missing),
        names="、".join(missing),
    )


def get_form(form_id: str) -> Form | None:
    """The form with XForm id ``form_id``, or ``None``."""
    return db.session.scalar(select(Form).where(Form.form_id == form_id))
