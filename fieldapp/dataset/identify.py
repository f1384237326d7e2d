"""De-identification of research exports.

A form marks its direct identifiers in a survey-sheet column ``fieldapp::identifier``
(pyxform ignores it; we read it from the stored XLSForm):

- ``pseudonym`` (also ``name``): the value is replaced by a stable pseudonym, an
  HMAC-SHA256 of the value under a key kept on the server (``instance/pseudonym_key`` or
  ``FIELDAPP_PSEUDONYM_KEY``), so the same person gets the same pseudonym in every export
  without the name ever leaving the server;
- ``remove`` (also ``yes``, ``true``, ``1``): the column is left out.

A calculation that uses a marked answer (the record name ``meta/instanceName`` built from
a name, say) is removed as well, and so is one that reads a ``label`` from an attached
list (``instance('households')/root/item[…]/label``): an entity list's label names the
household (issue 10). Location answers (geopoint, geotrace, geoshape) are
coarsened to 2 decimal places (about 1 km) in every de-identified export. Who may see
identifying data is ``fieldapp.scope.may_identify``; the marks themselves are read when
a form is published (``fieldapp.surveys.identifiers``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from fieldapp.surveys.identifiers import PSEUDONYM, REMOVE

GEO_TYPES = {"geopoint", "geotrace", "geoshape"}


_LIST_LABEL = re.compile(r"""instance\(\s*['"][^'"]+['"]\s*\)[^,;]*?/label\b""")


def with_derived(marks: dict[str, str], questions: list[dict]) -> dict[str, str]:
    """``marks`` plus ``remove`` for every calculation that uses a marked answer, directly
    or through another such calculation (e.g. ``meta/instanceName`` built from a name),
    or that reads a label from an attached list (an entity list's label names a person)."""
    marks = dict(marks)
    calcs = [(q["name"], q["calculate"]) for q in questions if q.get("calculate")]
    for name, expr in calcs:
        if name not in marks and _LIST_LABEL.search(expr):
            marks[name] = REMOVE
    changed = True
    while changed:
        changed = False
        for name, expr in calcs:
            if name in marks:
                continue
            if any(re.search(rf"/{re.escape(m)}(?![\w.-])", expr) for m in marks):
                marks[name] = REMOVE
                changed = True
    return marks


def pseudonym_key(instance_path: str | Path) -> bytes:
    """The server's pseudonym key: ``FIELDAPP_PSEUDONYM_KEY`` or a file generated once."""
    env = os.environ.get("FIELDAPP_PSEUDONYM_KEY")
    if env:
        return env.encode()
    path = Path(instance_path) / "pseudonym_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first
            return path.read_bytes().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_bytes().strip()


class Deidentifier:
    """Applies a form's identifier marks to values; ``None`` marks mean identifying data
    is allowed (nothing changes)."""

    def __init__(self, marks: dict[str, str] | None, key: bytes = b""):
        self.marks = marks
        self.key = key

    @property
    def active(self) -> bool:
        return self.marks is not None

    def removes(self, q: dict) -> bool:
        """True when question ``q``'s column is left out."""
        return self.active and self.marks.get(q["name"]) == REMOVE

    def changes(self, q: dict) -> bool:
        """True when ``value`` may change question ``q``'s answers (pseudonym, removal,
        coarse GPS)."""
        if not self.active:
            return False
        geo = q.get("data_type") in GEO_TYPES or q.get("type") in GEO_TYPES
        return geo or self.marks.get(q["name"]) in (PSEUDONYM, REMOVE)

    def value(self, q: dict, value: str | None) -> str | None:
        """The value as exported: pseudonymised or coarsened when de-identifying."""
        if not self.active or not value:
            return value
        kind = self.marks.get(q["name"])
        if kind == PSEUDONYM:
            digest = hmac.new(self.key, value.strip().encode(), hashlib.sha256).hexdigest()
            return f"P-{digest[:10]}"
        if kind == REMOVE:
            return None
        if q.get("data_type") in GEO_TYPES or q.get("type") in GEO_TYPES:
            return coarsen_geo(value)
        return value

    def scrub(self, data, questions: dict[str, dict]):
        """A copy of a submission's nested ``data`` with identifiers removed or replaced;
        ``questions`` maps question name (unique within a form, XLSForm) to question."""
        if not self.active:
            return data
        if isinstance(data, list):
            return [self.scrub(item, questions) for item in data]
        if not isinstance(data, dict):
            return data
        out = {}
        for name, value in data.items():
            q = questions.get(name)
            if isinstance(value, (dict, list)):
                out[name] = self.scrub(value, questions)
            elif q is None:
                out[name] = value
            elif not self.removes(q):
                out[name] = self.value(q, value)
        return out


def coarsen_geo(value: str, places: int = 2) -> str:
    """Round every coordinate pair to ``places`` decimals; drop altitude and accuracy."""
    out = []
    for point in value.split(";"):
        parts = point.split()
        if len(parts) < 2:
            continue
        try:
            out.append(f"{float(parts[0]):.{places}f} {float(parts[1]):.{places}f}")
        except ValueError:
            continue
    return ";".join(out)


def form_marks(form) -> dict[str, str]:
    """Question name → ``pseudonym``/``remove`` over all of ``form``'s versions (a
    ``surveys.models.Form``), with the calculations derived from marked answers
    (``with_derived``)."""
    marks: dict[str, str] = {}
    for v in form.versions:
        marks.update(v.schema.get("identifiers") or {})
    return with_derived(marks, [q for v in form.versions for q in v.schema["questions"]])


def deidentifier(form, identifying: bool, instance_path: str | Path) -> Deidentifier:
    """Nothing changes when ``identifying``; else every version's identifier marks apply,
    pseudonyms keyed with the key kept in ``instance_path``."""
    if identifying:
        return Deidentifier(None)
    return Deidentifier(form_marks(form), pseudonym_key(instance_path))
