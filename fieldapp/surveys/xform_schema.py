"""Extract a form version's question list from its XForm XML (the canonical form).

The schema is a plain JSON-able dict, stored with each form version and used to check
submissions and to lay out exports::

    {
      "form_id": "family_screening", "version": "2026112901", "title": "...",
      "root": "data",                        # primary instance root element
      "languages": ["中文 (zh)", "English (en)"], "default_language": "中文 (zh)",
      "repeats": ["/data/members"],           # repeat paths
      "questions": [                          # document order, groups and repeats included
        {"path": "/data/grp/age", "name": "age", "type": "integer",
         "data_type": "int", "group_path": ["grp"], "repeat": null,
         "labels": {"中文 (zh)": "年龄", ...}, "hints": {...},
         "relevant": "...", "constraint": "...", "constraint_message": {...},
         "required": true, "calculate": null, "readonly": false,
         "choices": [{"name": "yes", "labels": {...}}] or null,
         "choices_static": true, "choice_filter": null, "mediatype": null},
        ...
      ]
    }

Rules follow the ODK XForms specification (getodk.github.io/xforms-spec): bind ``type``
values (string, int, decimal, date, time, dateTime, geopoint, geotrace, geoshape,
binary, barcode, boolean), body controls (input, select1, select, upload, trigger,
range, odk:rank, group, repeat) and itext translations.
"""

from __future__ import annotations

import re

from lxml import etree

XF = "http://www.w3.org/2002/xforms"
H = "http://www.w3.org/1999/xhtml"
JR = "http://openrosa.org/javarosa"
NS = {"xf": XF, "h": H, "jr": JR}

_ITEXT_REF = re.compile(r"""jr:itext\(\s*['"](?P<id>[^'"]+)['"]\s*\)""")
_ITEMSET_INSTANCE = re.compile(r"""instance\(\s*['"](?P<id>[^'"]+)['"]\s*\)(?P<rest>[^\[]*)""")

CONTROL_TYPES = {
    "select1": "select_one",
    "select": "select_multiple",
    "trigger": "acknowledge",
    "range": "range",
    "rank": "rank",
}
INPUT_TYPES = {
    "int": "integer",
    "integer": "integer",
    "decimal": "decimal",
    "date": "date",
    "time": "time",
    "dateTime": "datetime",
    "geopoint": "geopoint",
    "geotrace": "geotrace",
    "geoshape": "geoshape",
    "barcode": "barcode",
    "string": "text",
    "boolean": "boolean",
}
PRELOAD_TYPES = {
    "start": "start",
    "end": "end",
    "today": "today",
    "deviceid": "deviceid",
    "uid": "instance_id",
    "username": "username",
    "phonenumber": "phonenumber",
}


class XFormSchemaError(ValueError):
    """The XForm XML lacks a part the schema needs (no primary instance, etc.)."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _translations(model) -> tuple[list[str], str | None, dict[str, dict[str, str]]]:
    """Return (languages, default language, {itext id: {lang: text}})."""
    languages: list[str] = []
    default = None
    texts: dict[str, dict[str, str]] = {}
    for tr in model.iterfind("xf:itext/xf:translation", NS):
        lang = tr.get("lang", "default")
        languages.append(lang)
        if tr.get("default") is not None:
            default = lang
        for text in tr.iterfind("xf:text", NS):
            values = text.findall("xf:value", NS)
            plain = [v for v in values if v.get("form") is None] or []
            if plain:
                texts.setdefault(text.get("id"), {})[lang] = _text_of(plain[0])
    return languages, default or (languages[0] if languages else None), texts


def _text_of(el) -> str:
    """Text of a label/value element with ``<output value="${x}"/>`` shown as ``${x}``."""
    parts = [el.text or ""]
    for child in el:
        if _local(child.tag) == "output":
            ref = child.get("value", "")
            parts.append("${" + ref.rsplit("/", 1)[-1].strip() + "}")
        parts.append(child.tail or "")
    return "".join(parts).strip()


def _label(el, texts, tag="label") -> dict[str, str]:
    """Labels per language of control ``el`` (``{}`` when it has none)."""
    lab = el.find(f"xf:{tag}", NS)
    if lab is None:
        return {}
    ref = lab.get("ref")
    if ref:
        m = _ITEXT_REF.search(ref)
        return dict(texts.get(m.group("id"), {})) if m else {}
    text = _text_of(lab)
    return {"default": text} if text else {}


def _instance_paths(root) -> tuple[list[str], set[str]]:
    """Element paths of the primary instance in document order, and the repeat paths."""
    paths: list[str] = []
    repeats: set[str] = set()

    def walk(el, prefix):
        seen = set()
        for child in el:
            if not isinstance(child.tag, str):
                continue
            name = _local(child.tag)
            path = f"{prefix}/{name}"
            if child.get(f"{{{JR}}}template") is not None or name in seen:
                repeats.add(path)
            if name in seen:
                continue
            seen.add(name)
            paths.append(path)
            walk(child, path)

    walk(root, "/" + _local(root.tag))
    return paths, repeats


def _secondary_instances(model) -> dict[str, list]:
    out = {}
    for inst in model.iterfind("xf:instance", NS):
        if inst.get("id"):
            out[inst.get("id")] = inst
    return out


def _choices_from_itemset(itemset, instances, texts):
    """Choices of an itemset pointing to a secondary instance; (choices, static, filter)."""
    nodeset = itemset.get("nodeset", "")
    m = _ITEMSET_INSTANCE.search(nodeset)
    if not m:
        return None, False, nodeset
    choice_filter = None
    if "[" in nodeset:
        choice_filter = nodeset[nodeset.index("[") + 1 : nodeset.rindex("]")].strip()
    inst = instances.get(m.group("id"))
    if inst is None or inst.get("src"):
        return None, False, choice_filter  # external CSV / XML attachment
    value_ref = (
        itemset.find("xf:value", NS).get("ref")
        if itemset.find("xf:value", NS) is not None
        else "name"
    )
    label_ref = itemset.find("xf:label", NS).get("ref", "label")
    choices = []
    seen = set()
    root = next((c for c in inst if isinstance(c.tag, str)), None)
    for item in root if root is not None else []:
        if not isinstance(item.tag, str):
            continue
        fields = {_local(c.tag): (c.text or "") for c in item if isinstance(c.tag, str)}
        name = fields.get(value_ref, "")
        if label_ref.startswith("jr:itext"):
            labels = dict(texts.get(fields.get("itextId", ""), {}))
        else:
            labels = {"default": fields.get(label_ref, "")}
        if name not in seen:
            seen.add(name)
            choices.append({"name": name, "labels": labels})
    return choices, True, choice_filter


def _static_choices(control, texts):
    choices = []
    for item in control.iterfind("xf:item", NS):
        value = item.find("xf:value", NS)
        choices.append(
            {"name": (value.text or "") if value is not None else "", "labels": _label(item, texts)}
        )
    return choices


def extract_schema(xform_xml: str | bytes) -> dict:
    """Parse pyxform's XForm XML into the schema dict described in the module docstring.

    Raises ``XFormSchemaError`` when the XML has no model or primary instance.
    """
    if isinstance(xform_xml, str):
        xform_xml = xform_xml.encode("utf-8")
    doc = etree.fromstring(xform_xml, _parser())
    model = doc.find("h:head/xf:model", NS)
    if model is None:
        raise XFormSchemaError("XForm has no <model>")
    primary = next((i for i in model.iterfind("xf:instance", NS) if not i.get("id")), None)
    root = (
        next((c for c in primary if isinstance(c.tag, str)), None) if primary is not None else None
    )
    if root is None:
        raise XFormSchemaError("XForm has no primary instance")
    languages, default_language, texts = _translations(model)
    instances = _secondary_instances(model)
    paths, repeats = _instance_paths(root)
    binds = {b.get("nodeset"): b for b in model.iterfind("xf:bind", NS)}

    controls: dict[str, object] = {}
    body = doc.find("h:body", NS)
    for el in body.iter() if body is not None else []:
        if not isinstance(el.tag, str):
            continue
        ref = el.get("ref") or el.get("nodeset")
        if ref and _local(el.tag) in {
            "input",
            "select1",
            "select",
            "upload",
            "trigger",
            "range",
            "rank",
            "group",
            "repeat",
            "odk:rank",
        }:
            if _local(el.tag) == "repeat":
                repeats.add(ref)
            if ref not in controls or _local(el.tag) == "repeat":
                controls[ref] = el

    root_path = "/" + _local(root.tag)
    parents = {p.rsplit("/", 1)[0] for p in paths}
    questions = [
        _question(
            path, root_path, binds.get(path), controls.get(path), repeats, parents, texts, instances
        )
        for path in paths
    ]
    return {
        "form_id": root.get("id"),
        "version": root.get("version"),
        "title": (doc.findtext("h:head/h:title", namespaces=NS) or "").strip(),
        "root": _local(root.tag),
        "languages": languages,
        "default_language": default_language,
        "repeats": sorted(repeats),
        "questions": questions,
    }


def _question(path, root_path, bind, control, repeats, parents, texts, instances) -> dict:
    parts = path[len(root_path) + 1 :].split("/")
    enclosing = [root_path + "/" + "/".join(parts[: i + 1]) for i in range(len(parts) - 1)]
    repeat = next((p for p in reversed(enclosing) if p in repeats), None)
    data_type = bind.get("type", "string") if bind is not None else None
    tag = _local(control.tag) if control is not None else None
    q = {
        "path": path,
        "name": parts[-1],
        "group_path": parts[:-1],
        "repeat": repeat,
        "data_type": data_type,
        "labels": {},
        "hints": {},
        "relevant": None,
        "constraint": None,
        "constraint_message": {},
        "required": False,
        "calculate": None,
        "readonly": False,
        "choices": None,
        "choices_static": False,
        "choice_filter": None,
        "mediatype": None,
    }
    if bind is not None:
        q["relevant"] = bind.get("relevant")
        q["constraint"] = bind.get("constraint")
        q["required"] = bind.get("required", "false()").strip() == "true()"
        q["calculate"] = bind.get("calculate")
        q["readonly"] = bind.get("readonly", "false()").strip() == "true()"
        msg = bind.get(f"{{{JR}}}constraintMsg")
        if msg:
            m = _ITEXT_REF.search(msg)
            q["constraint_message"] = dict(texts.get(m.group("id"), {})) if m else {"default": msg}
    if path in repeats:
        q["type"] = "repeat"
    elif tag == "group":
        q["type"] = "group"
    elif control is None:
        if bind is not None and bind.get(f"{{{JR}}}preload"):
            param = bind.get(f"{{{JR}}}preloadParams") or bind.get(f"{{{JR}}}preload")
            q["type"] = PRELOAD_TYPES.get(
                param, PRELOAD_TYPES.get(bind.get(f"{{{JR}}}preload"), "metadata")
            )
        elif bind is not None and bind.get("calculate") is not None:
            q["type"] = "calculate"
        else:
            q["type"] = "group" if path in parents else "hidden"
    elif tag in ("select1", "select"):
        q["type"] = CONTROL_TYPES[tag]
        itemset = control.find("xf:itemset", NS)
        if itemset is not None:
            q["choices"], q["choices_static"], q["choice_filter"] = _choices_from_itemset(
                itemset, instances, texts
            )
        else:
            q["choices"], q["choices_static"] = _static_choices(control, texts), True
    elif tag == "upload":
        q["mediatype"] = control.get("mediatype", "")
        q["type"] = q["mediatype"].split("/")[0] or "file"
    elif tag in CONTROL_TYPES:
        q["type"] = CONTROL_TYPES[tag]
    elif q["readonly"] and data_type == "string" and q["calculate"] is None:
        q["type"] = "note"
    else:
        q["type"] = INPUT_TYPES.get(data_type or "string", "text")
    if control is not None:
        q["labels"] = _label(control, texts)
        q["hints"] = _label(control, texts, "hint")
    return q


def data_questions(schema: dict) -> list[dict]:
    """Questions that carry a value in a submission: not groups, repeats or notes."""
    return [q for q in schema["questions"] if q["type"] not in ("group", "repeat", "note")]
