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
    """The entity declaration of ``xform`` or ``None`` when it declares none::

        {"dataset": "households", "spec_version": "2024.1.0",
         "create": True, "update": False,
         "saveto": {"/data/risk_level": "risk_level", ...}}   # instance path -> property

    ``create``/``update`` say whether the form may create/update (the attribute is in
    the instance); whether one submission does is its value (``create_if``)."""
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
    entity = root.find("xf:meta/xf:entity", NS)
    if entity is None or not entity.get("dataset"):
        return None
    root_path = "/" + etree.QName(root).localname
    saveto = {}
    for bind in model.iterfind("xf:bind", NS):
        prop = bind.get(f"{{{ENTITIES}}}saveto")
        nodeset = bind.get("nodeset") or ""
        if prop and nodeset.startswith(root_path + "/"):
            saveto[nodeset] = prop
    return {
        "dataset": entity.get("dataset"),
        "spec_version": model.get(f"{{{ENTITIES}}}entities-version") or "",
        "create": "create" in entity.attrib,
        "update": "update" in entity.attrib,
        "saveto": saveto,
    }


def spec_of(fv) -> dict | None:
    """The entity declaration of form version ``fv``: kept in its schema at publish
    (``schema["entities"]``), read from the XForm for versions published before."""
    if "entities" in fv.schema:
        return fv.schema["entities"]
    return entity_spec(fv.xform)
