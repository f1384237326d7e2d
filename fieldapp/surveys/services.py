"""Publishing questionnaires: XLSForm in, XForm versions out (who may use which form:
``fieldapp.scope``)."""

from __future__ import annotations

import hashlib
import io
import mimetypes
import re
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from lxml import etree
from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert
from sqlalchemy import select

from fieldapp.areas.models import Area
from fieldapp.auth.models import User
from fieldapp.extensions import db
from fieldapp.scope import area_in_scope
from fieldapp.surveys.identifiers import identifier_marks
from fieldapp.surveys.models import Form, FormMedia, FormVersion
from fieldapp.surveys.xform_schema import XFormSchemaError, data_questions, extract_schema

MAX_UNZIPPED_BYTES = 100 * 1024 * 1024  # an .xlsx is a zip: refuse zip bombs before parsing
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
    """What ``import_xlsform`` did: the version, whether it is new, and pyxform warnings."""

    form_version: FormVersion
    created: bool
    warnings: list[str]


def _locate(message: str, data: bytes) -> str:
    """Add the survey-sheet row to a pyxform message that names a value but no row."""
    if "row" in message.lower():
        return message
    m = re.search(r"'([^']+)'", message)
    if not m:
        return message
    try:
        import openpyxl

        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        sheet = next((wb[n] for n in wb.sheetnames if n.lower() == "survey"), None)
        for i, row in enumerate(sheet.iter_rows(values_only=True) if sheet else [], start=1):
            if any(str(c).strip() == m.group(1) for c in row if c is not None):
                return f"[row : {i}] On the 'survey' sheet: {message}"
    except Exception:  # noqa: BLE001 - locating is best effort; the message stands alone
        return message
    return message


def _check_container(data: bytes, filename: str, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise XLSFormError(
            f"文件过大（{len(data) // 1024} KB），问卷文件不能超过 {max_bytes // 1024 // 1024} MB"
        )
    if not filename.lower().endswith((".xlsx", ".xls")):
        raise XLSFormError("请上传 Excel 格式的 XLSForm 问卷（.xlsx 或 .xls）")
    if filename.lower().endswith(".xlsx"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                if sum(i.file_size for i in zf.infolist()) > MAX_UNZIPPED_BYTES:
                    raise XLSFormError("文件解压后过大，不像是一份问卷")
        except zipfile.BadZipFile as exc:
            raise XLSFormError("文件不是有效的 .xlsx 表格（可能已损坏，或只是改了扩展名）") from exc


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
        raise XLSFormError(f"XLSForm 有错误：{_locate(str(exc), data)}") from exc
    except Exception as exc:  # noqa: BLE001 - pyxform/openpyxl raise many kinds on junk
        raise XLSFormError(f"无法读取该 XLSForm：{type(exc).__name__}: {exc}") from exc
    xform = result.xform
    try:
        schema = extract_schema(xform)
    except (XFormSchemaError, etree.XMLSyntaxError) as exc:
        raise XLSFormError(f"转换结果无法解析：{exc}") from exc
    _check_identity(schema)
    schema["identifiers"] = identifier_marks(data, filename)
    if not [q for q in data_questions(schema) if q["type"] not in NON_QUESTION_TYPES]:
        raise XLSFormError("XLSForm 的 survey 表中没有任何题目")
    if not schema["version"]:
        xform, schema = _stamp_version(xform, datetime.now().strftime("%Y%m%d%H%M%S"))
        notes.append(f"settings 表没有 version，已自动设为 {schema['version']}")
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
) -> ImportResult:
    """Publish an XLSForm as a new form version (flushed, not committed).

    ``area`` is where the form is published: a new form goes there (the root area when
    ``None``); for a form already published, another area moves it there, ``None``
    keeps it. The same ``settings.version`` with the same XForm is a no-op
    (``created=False``); the same version with other content, a form id published to an
    area the importer cannot manage, or a media file name over 255 characters or with a
    slash raises ``XLSFormError`` and changes nothing.
    """
    for name, _ in media or []:
        if not name or len(name) > 255 or "/" in name or "\\" in name:
            raise XLSFormError(f"附件文件名不可用：{name[:100]}")
    xform, schema, notes = convert_xlsform(data, filename, max_bytes)
    form_id, version = schema["form_id"], schema["version"]
    form = db.session.scalar(select(Form).where(Form.form_id == form_id))
    if form is not None:
        if user is not None and not area_in_scope(user, form.area):
            raise XLSFormError(f"问卷 {form_id} 已由其他区划发布，您无权更新")
        if area is not None and area.id != form.area_id:
            if user is not None and not area_in_scope(user, area):
                raise XLSFormError(f"您无权把问卷发布到 {area.name}")
            notes.append(f"发布区划已由 {form.area.name} 改为 {area.name}")
            form.area = area
        same_file = next((v for v in form.versions if v.xlsform == data), None)
        if same_file is not None:  # also covers files whose version we stamped
            return ImportResult(same_file, False, notes)
        existing = next((v for v in form.versions if v.version == version), None)
        if existing is not None:
            if existing.xform == xform:
                if existing.schema.get("identifiers") != schema["identifiers"]:
                    # Only fieldapp's own marks changed: the XForm, and so every phone's
                    # copy, stays the same version.
                    existing.schema = {**existing.schema, "identifiers": schema["identifiers"]}
                    existing.xlsform = data
                    notes.append("已更新身份信息标记（fieldapp::identifier）")
                return ImportResult(existing, False, notes)
            raise XLSFormError(
                f"问卷 {form_id} 的版本 {version} 已发布且内容不同。请在 settings 表中修改 "
                f"version（例如改为更大的日期编号）后再上传。"
            )
    else:
        if area is None:
            area = db.session.scalar(select(Area).where(Area.parent_id.is_(None)).order_by(Area.id))
        if area is None:
            raise XLSFormError("还没有任何区划：请先运行 fieldapp demo 或创建区划")
        form = Form(form_id=form_id, title=schema["title"] or form_id, area=area)
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
    for name, content in media or []:
        fv.media.append(
            FormMedia(
                filename=name,
                data=content,
                content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
                md5=hashlib.md5(content).hexdigest(),
            )
        )
    db.session.add(fv)
    db.session.flush()
    return ImportResult(fv, True, notes)


def get_form(form_id: str) -> Form | None:
    """The form with XForm id ``form_id``, or ``None``."""
    return db.session.scalar(select(Form).where(Form.form_id == form_id))
