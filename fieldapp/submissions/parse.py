"""Read a submission's XML and check it against its form version's schema.

The checks are those of the OpenRosa submission API and the ODK XForms data types
(getodk.github.io/xforms-spec/#data-types): the XML must be well-formed with no DTD,
its root must name a known form id and version, every element must exist in the form,
every value must parse as its type, and a select's value must be in a static choice list.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

INT32 = (-(2**31), 2**31 - 1)
MAX_REPEAT_INSTANCES = 500  # per repeat and parent; a real household has far fewer
MAX_VALUE_CHARS = 100_000  # one answer; a long free-text note is a few thousand
# Whole-value patterns (fullmatch: "5\n" is not an integer).
_INT = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_TIME = re.compile(r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
# meta/instanceID (and deprecatedID): OpenRosa and ODK Collect send "uuid:" and a UUID;
# other clients letters, digits and ": - _ ." (no "..": IDs end up in file and URL
# paths), at most 100 characters. No slashes, blanks, or invisible and right-to-left marks.
_INSTANCE_ID = re.compile(r"(?!\.)(?!.*\.\.)[A-Za-z0-9:_.-]{1,100}")
# The XML declaration's encoding (XML 1.0 §4.3.3), read from the ASCII bytes it is made of.
_DECLARED = re.compile(rb"""<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']""")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class SubmissionError(ValueError):
    """A submission is refused; ``status`` is the HTTP status, ``str()`` the message."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class Envelope:
    """What identifies a submission before its form is known."""

    root: Element
    form_id: str
    version: str
    instance_id: str
    deprecated_id: str | None
    xml: bytes  # the submission as UTF-8 (as received when it was UTF-8)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def as_utf8(xml: bytes) -> bytes:
    """``xml`` in UTF-8: as it is when it is UTF-8; else decoded in the encoding its byte
    order mark or XML declaration names (GBK and GB18030 from older phones, for example)
    and written again as UTF-8 with the declaration saying so.

    Raises ``SubmissionError`` (400) for an encoding we do not know, or bytes that are
    not in the encoding declared: never a silent mis-decoding."""
    bom = next((name for mark, name in _BOMS if xml.startswith(mark)), None)
    found = _DECLARED.match(xml.lstrip()) if bom is None else None
    declared = found.group(1).decode("ascii") if found else None
    encoding = bom or declared or "utf-8"
    try:
        name = codecs.lookup(encoding).name
        text = xml.decode(encoding)
    except LookupError as exc:
        raise SubmissionError(f"提交的 XML 声明的编码 {declared} 不受支持，请使用 UTF-8") from exc
    except UnicodeDecodeError as exc:
        raise SubmissionError(
            f"提交的 XML 不是它声明的 {declared or encoding} 编码（第 {exc.start + 1} 字节），"
            "无法读取；请使用 UTF-8"
        ) from exc
    if name == "utf-8" and bom is None:
        return xml
    text = text.lstrip("\ufeff")
    if declared or text.startswith("<?xml"):
        text = re.sub(
            r"""^(\s*<\?xml[^>]*?\s)encoding\s*=\s*["'][^"']*["']""", r'\1encoding="UTF-8"', text
        )
    return text.encode("utf-8")


def read_envelope(xml: bytes) -> Envelope:
    """Parse submission XML safely (in its declared encoding: ``as_utf8``) and read form
    id, version and instance ID.

    Raises ``SubmissionError`` (400) for XML that is not well-formed, has a DTD or
    entities, or lacks ``id`` on its root or ``meta/instanceID``, for an instance ID
    (or deprecatedID) outside the safe pattern, and for an encoding we cannot read.
    """
    xml = as_utf8(xml)
    try:
        root = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise SubmissionError("提交的 XML 含有 DTD 或实体声明，出于安全原因不予接收") from exc
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise SubmissionError(f"提交的 XML 格式不正确（第 {line} 行第 {column} 列）") from exc
    except ValueError as exc:
        raise SubmissionError("提交的 XML 格式不正确") from exc
    form_id = root.get("id")
    if not form_id:
        raise SubmissionError("提交的 XML 根元素缺少 id 属性（问卷编号）")
    meta = next((c for c in root if _local(c.tag) == "meta"), None)
    instance_id = deprecated = None
    for child in meta if meta is not None else []:
        if _local(child.tag) == "instanceID":
            instance_id = (child.text or "").strip()
        elif _local(child.tag) == "deprecatedID":
            deprecated = (child.text or "").strip() or None
    if not instance_id:
        raise SubmissionError("提交缺少 meta/instanceID")
    for tag, value in (("instanceID", instance_id), ("deprecatedID", deprecated)):
        if value is not None and not _INSTANCE_ID.fullmatch(value):
            raise SubmissionError(
                f"meta/{tag} 格式不正确：只能由字母、数字和 : - _ . 组成（不含 ..），"
                "最长 100 个字符，例如 uuid:加上 UUID"
            )
    return Envelope(root, form_id, root.get("version") or "", instance_id, deprecated, xml)


def check_value(value: str, q: dict) -> str | None:
    """Return an error message when ``value`` does not parse as question ``q``'s type."""
    if value == "":
        return None
    kind = q["type"]
    dt = q.get("data_type")
    try:
        if kind == "integer" or dt == "int":
            if not _INT.fullmatch(value) or not INT32[0] <= int(value) <= INT32[1]:
                return "不是整数"
        elif kind == "decimal" or dt == "decimal":
            if not _DECIMAL.fullmatch(value):
                return "不是数字"
        elif dt == "date":
            date.fromisoformat(value)
        elif dt == "dateTime":
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif dt == "time":
            if not _TIME.fullmatch(value):
                return "不是时间"
            time.fromisoformat(value[:8])
        elif dt in ("geopoint", "geotrace", "geoshape"):
            return _check_geo(value, dt)
        elif dt == "boolean":
            if value not in ("true", "false", "1", "0"):
                return "不是是/否值"
        elif kind in ("select_one", "select_multiple") and q.get("choices_static"):
            names = {c["name"] for c in q["choices"] or []}
            chosen = value.split() if kind == "select_multiple" else [value]
            bad = [c for c in chosen if c not in names]
            if bad:
                return "不在选项列表中" if len(chosen) == 1 else f"中的 {bad[0]} 不在选项列表中"
        elif dt == "binary":
            if "/" in value or "\\" in value or value.startswith("."):
                return "附件文件名不正确"
    except ValueError:
        return "格式不正确"
    return None


def _check_geo(value: str, dt: str) -> str | None:
    points = [p.strip() for p in value.split(";") if p.strip()] if dt != "geopoint" else [value]
    for p in points:
        parts = p.split()
        if not 2 <= len(parts) <= 4 or not all(_DECIMAL.fullmatch(x) for x in parts):
            return "不是坐标"
        if not (-90 <= float(parts[0]) <= 90 and -180 <= float(parts[1]) <= 180):
            return "坐标超出范围"
    return None


def project(envelope: Envelope, schema: dict) -> tuple[dict, list[str]]:
    """Check every element against ``schema``; return (JSON projection, attachment names).

    The projection mirrors the instance without its root: groups are dicts, repeats
    lists of dicts, values strings as sent. Raises ``SubmissionError`` (400) naming the
    first element that the form does not have, that repeats where it may not, or whose
    value does not parse.
    """
    root = envelope.root
    if _local(root.tag) != schema["root"]:
        raise SubmissionError(f"根元素 {_local(root.tag)} 与问卷不符（应为 {schema['root']}）")
    by_path = {q["path"]: q for q in schema["questions"]}
    # An edit names the instance it replaces (OpenRosa): pyxform's instance has no such
    # element, but every form accepts it.
    meta = f"/{schema['root']}/meta"
    by_path.setdefault(f"{meta}/deprecatedID", {"type": "text", "data_type": "string"})
    attachments: list[str] = []

    def walk(el: Element, path: str) -> dict:
        out: dict = {}
        for child in el:
            name = _local(child.tag)
            cpath = f"{path}/{name}"
            q = by_path.get(cpath)
            if q is None:
                raise SubmissionError(f"问卷中没有 {cpath} 这一项")
            if q["type"] == "repeat":
                items = out.setdefault(name, [])
                if len(items) >= MAX_REPEAT_INSTANCES:
                    raise SubmissionError(
                        f"{cpath} 超过 {MAX_REPEAT_INSTANCES} 项，不像是真实的问卷"
                    )
                items.append(walk(child, cpath))
                continue
            if name in out:
                raise SubmissionError(f"{cpath} 出现了多次，但它不是重复组")
            if q["type"] == "group" or (len(child) and q.get("data_type") is None):
                out[name] = walk(child, cpath)  # groups, and entity blocks with children
                continue
            if len(child):
                raise SubmissionError(f"{cpath} 是题目，不应包含子元素")
            value = child.text or ""
            if len(value) > MAX_VALUE_CHARS:
                raise SubmissionError(f"{cpath} 的内容过长（超过 {MAX_VALUE_CHARS} 字）")
            err = check_value(value, q)
            if err:
                raise SubmissionError(f"{cpath} 的值“{value[:50]}”{err}")
            if q.get("data_type") == "binary" and value:
                attachments.append(value)
            out[name] = value
        return out

    return walk(root, "/" + schema["root"]), attachments


def repeat_counts(data: dict, path: str = "", into: dict[str, int] | None = None) -> dict[str, int]:
    """Largest number of instances of each repeat in ``data`` (a ``project`` result),
    keyed by its path below the root: ``{"members": 3, "trees/stems": 5}``. Stored with
    each submission so that an export knows how wide to make repeat columns without
    reading every answer first."""
    counts = {} if into is None else into
    for name, child in data.items():
        p = f"{path}/{name}" if path else name
        if isinstance(child, list):
            counts[p] = max(counts.get(p, 0), len(child))
            for item in child:
                if isinstance(item, dict):
                    repeat_counts(item, p, counts)
        elif isinstance(child, dict):
            repeat_counts(child, p, counts)
    return counts
