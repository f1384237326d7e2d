"""Entity lists as form attachments: ``<dataset>.csv``, per person, with an ETag.

As ODK Central serves a dataset linked to a form (central-backend
lib/resources/forms.js, lib/formats/entity.js): a form that names ``households.csv``
(``select_one_from_file households.csv``, ``csv-external``, ``pulldata``) while a
dataset ``households`` exists gets the list of entities, columns ``name`` (the entity
id), ``label``, ``__version``, ``__trunkVersion``, ``__branchId`` (the offline entities
columns pyxform's update forms read; the server's list starts no branch, so its trunk
version is the version and its branch is blank) and then each property in the order
forms declared them. Unlike Central, the list is cut to the caller's scope
(``scope.entities_in_scope``: a mediator's own households) and leaves out closed
cases, so a closed case does not stay on phones. Its hash (manifest ``md5:…``, HTTP
``ETag``) is the MD5 of the CSV itself, so it changes whenever a row of that person's
list does and ODK Collect and our phone app download it only then; the manifest marks
it ``type="entityList"`` as Central does, so ODK Collect keeps it as an entity list
(its offline entities: local creates and updates show in the list at once).
"""

from __future__ import annotations

import csv
import hashlib
import io
import threading
from collections import OrderedDict

from flask_babel import gettext as _
from sqlalchemy import func, select

from fieldapp.audit.services import record
from fieldapp.cases.households import CLOSED, PROPERTY_LABELS
from fieldapp.cases.models import Dataset, Entity
from fieldapp.extensions import db
from fieldapp.scope import entities_in_scope, identifiable_entities

FIXED_COLUMNS = ["name", "label", "__version", "__trunkVersion", "__branchId"]


def dataset_for_file(filename: str) -> Dataset | None:
    """The dataset a form attachment ``filename`` names (``households.csv`` →
    ``households``), or None."""
    if not filename.endswith(".csv"):
        return None
    return db.session.scalar(select(Dataset).where(Dataset.name == filename[:-4]))


def dataset_files(names: list[str]) -> dict[str, Dataset]:
    """Of the attachment ``names`` a form version refers to, those served from a
    dataset: file name → dataset (one query)."""
    stems = {n[:-4]: n for n in names if n.endswith(".csv")}
    if not stems:
        return {}
    found = db.session.scalars(select(Dataset).where(Dataset.name.in_(stems))).all()
    return {stems[d.name]: d for d in found}


def _rows(person, ds: Dataset):
    return entities_in_scope(person, ds.id).where(Entity.status != CLOSED)


_HASHES: OrderedDict[str, str] = OrderedDict()  # state key -> MD5 of that list's CSV
_HASHES_MAX = 4096
_HASHES_LOCK = threading.Lock()


def _state_key(person, ds: Dataset) -> str:
    """What ``person``'s list of ``ds`` is made of, in one aggregate query: who asks
    (their scope), the dataset's properties, and the count, newest and sum of the rows'
    version stamps (a row entering, leaving or changing moves one of them)."""
    stmt = _rows(person, ds).with_only_columns(
        func.count(Entity.id), func.max(Entity.stamp), func.sum(Entity.stamp)
    )
    count, newest, total = db.session.execute(stmt).one()
    who = f"{getattr(person, 'id', None)}:{getattr(person, 'role', '')}"
    area = getattr(getattr(person, "area", None), "path", "")
    return f"{who}|{area}|{ds.id}|{','.join(ds.properties or [])}|{count}|{newest}|{total}"


def forget_hashes() -> None:
    """Forget every remembered hash: for a database emptied or restored under a running
    process (the test suite's cleanup), where version stamps may be given out again."""
    with _HASHES_LOCK:
        _HASHES.clear()


def list_hash(person, ds: Dataset) -> str:
    """The MD5 (hex) of ``person``'s list of ``ds`` as ``list_csv`` writes it: the
    manifest hash and ETag. Any client can check a download against it (ODK Collect
    compares media files by MD5). Remembered per list state (``_state_key``), so an
    unchanged list costs one aggregate query, not a CSV."""
    key = _state_key(person, ds)
    with _HASHES_LOCK:
        if key in _HASHES:
            _HASHES.move_to_end(key)
            return _HASHES[key]
    md5 = hashlib.md5(list_csv(person, ds)).hexdigest()
    with _HASHES_LOCK:
        _HASHES[key] = md5
        while len(_HASHES) > _HASHES_MAX:
            _HASHES.popitem(last=False)
    return md5


def list_csv(person, ds: Dataset) -> bytes:
    """``person``'s list of ``ds`` as UTF-8 CSV (see the module docstring), by label.
    A household ``person`` may not identify (``scope.identifiable_entities``: a
    researcher filling a visit form) is listed as ``家庭 <id>`` with only the household
    vocabulary's properties (``households.PROPERTY_LABELS``): the label and free
    properties name people."""
    props = list(ds.properties or [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIXED_COLUMNS + props)
    stmt = _rows(person, ds).with_only_columns(
        Entity.uuid,
        Entity.label,
        Entity.version,
        Entity.data,
        identifiable_entities(person).label("identifiable"),
    )
    anonymous = _("家庭 %(id)s", id="{}")
    rows = db.session.execute(stmt.order_by(Entity.label, Entity.id))
    for uuid, label, version, data, identifiable in rows:
        data = data or {}
        if not identifiable:
            label = anonymous.format(uuid[:8])
            data = {k: v for k, v in data.items() if k in PROPERTY_LABELS}
        writer.writerow([uuid, label, version, version, ""] + [data.get(p, "") for p in props])
    return out.getvalue().encode("utf-8")


def served_lists(person, fv) -> list[tuple[str, Dataset, str]]:
    """The entity lists form version ``fv`` names and has no uploaded file for, as
    (file name, dataset, MD5 of ``person``'s list), by file name. An uploaded file of
    the same name wins (an admin replaced the list with a fixed CSV, as Central allows)."""
    from fieldapp.surveys.media import referenced

    stored = {m.filename for m in fv.media}
    files = dataset_files([n for n in referenced(fv) if n not in stored])
    return [(name, ds, list_hash(person, ds)) for name, ds in sorted(files.items())]


def entity_list_response(person, ds: Dataset, md5: str | None = None):
    """The HTTP response for ``person``'s list of ``ds``: the CSV with ``ETag`` (its
    hash) and ``Cache-Control: no-cache`` (always ask again, cheaply), or 304 when the
    request's ``If-None-Match`` already names that hash."""
    from flask import Response, request

    md5 = md5 or list_hash(person, ds)
    etag = f'"{md5}"'
    asked = [
        t.strip().removeprefix("W/") for t in request.headers.get("If-None-Match", "").split(",")
    ]
    if etag in asked:  # a proxy that compresses turns our ETag into a weak one: still ours
        resp = Response(status=304)
    else:
        record(
            getattr(person, "id", None), "download_entity_list", f"dataset:{ds.name}"
        )  # names of households leave the server: on the audit log
        db.session.commit()
        body = list_csv(person, ds)
        etag = f'"{hashlib.md5(body).hexdigest()}"'  # changed since the hash was asked
        resp = Response(body, content_type="text/csv; charset=utf-8")
    resp.headers["ETag"] = etag
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp
