"""What a form declares about entities: read from the XForm pyxform writes.

An XLSForm's ``entities`` sheet and ``save_to`` column (XLSForm spec, "Entities"; ODK
Entities spec, getodk.github.io/xforms-spec/entities) become, in the XForm:

- ``entities:entities-version`` on ``<model>`` (2022.1 … 2025.1);
- ``<meta><entity dataset="households" id="" create="1" update="1" baseVersion=""
  trunkVersion="" branchId=""><label/></entity></meta>`` in the primary instance
  (``create``/``update`` present when the form may create/update; their binds'
  ``calculate`` hold ``create_if``/``update_if``);
- ``entities:saveto="property"`` on the bind of each question whose value is saved.
"""

from __future__ import annotations

from lxml import etree

XF = "http://www.w3.org/2002/xforms"
H = "http://www.w3.org/1999/xhtml"
ENTITIES = "http://www.opendatakit.org/xforms/entities"
NS = {"xf": XF, "h": H}


def entity_spec(xform: str | bytes) -> dict | None:
    """The entity declarations of ``xform``, or ``None`` when it declares none::

        {"dataset": "households", "spec_version": "2024.1.0",
         "create": True, "update": False,
         "saveto": {"/data/risk_level": "risk_level", ...},   # instance path -> property
         "blocks": [{"container": "/data", "dataset": "households", "create": True,
                     "update": False, "saveto": {...}}, ...]}

    Each block is one ``meta/entity`` element: the form's own (container ``/data``) and,
    since entities spec 2025.1, one per repeat (container ``/data/members``: each repeat
    instance makes its own entity). A ``save_to`` belongs to the innermost container
    holding its question. The top-level keys repeat the first block (the form's own
    when it has one) for readers that know one entity per form. ``create``/``update``
    say whether the form may create/update (the attribute is in the instance); whether
    one submission does is its value (``create_if``)."""
    if isinstance(xform, str):
        xform = xform.encode("utf-8")
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    doc = etree.fromstring(xform, parser)
    model = doc.find("h:head/xf:model", NS)
    if model is None:
        return None
    primary = next((i for i in model.iterfind("xf:instance", NS) if not i.get("id")), None)
    root = (
        next((c for c in primary if isinstance(c.tag, str)), None) if primary is not None else None
    )
    if root is None:
        return None
    root_path = "/" + etree.QName(root).localname
    blocks: dict[str, dict] = {}
    for entity in root.iter(f"{{{XF}}}entity"):
        meta = entity.getparent()
        if meta is None or etree.QName(meta).localname != "meta" or not entity.get("dataset"):
            continue
        container = meta.getparent()
        parts = []
        el = container
        while el is not None and el is not root:
            parts.append(etree.QName(el).localname)
            el = el.getparent()
        path = "/".join([root_path, *reversed(parts)])
        if path in blocks:
            continue  # a repeat's template and its first instance: one declaration
        blocks[path] = {
            "container": path,
            "dataset": entity.get("dataset"),
            "create": "create" in entity.attrib,
            "update": "update" in entity.attrib,
            "saveto": {},
        }
    if not blocks:
        return None
    for bind in model.iterfind("xf:bind", NS):
        prop = bind.get(f"{{{ENTITIES}}}saveto")
        nodeset = bind.get("nodeset") or ""
        if not prop or not nodeset.startswith(root_path + "/"):
            continue
        holders = [c for c in blocks if nodeset.startswith(c + "/")]
        if holders:
            blocks[max(holders, key=len)]["saveto"][nodeset] = prop
    ordered = sorted(blocks.values(), key=lambda b: (b["container"].count("/"), b["container"]))
    first = ordered[0]
    return {
        "dataset": first["dataset"],
        "spec_version": model.get(f"{{{ENTITIES}}}entities-version") or "",
        "create": first["create"],
        "update": first["update"],
        "saveto": first["saveto"],
        "blocks": ordered,
    }


def spec_of(fv) -> dict | None:
    """The entity declaration of form version ``fv``: kept in its schema at publish
    (``schema["entities"]``), read from the XForm for versions published before."""
    if "entities" in fv.schema:
        return fv.schema["entities"]
    return entity_spec(fv.xform)
