"""Form media: the files a form names, which of them are present, and adding them.

A form names its media in the XForm that pyxform writes from the XLSForm:

- ``jr://images/…``, ``jr://audio/…``, ``jr://video/…`` in itext and defaults (XLSForm
  spec, "Media": the ``image``/``audio``/``video``/``big-image`` columns of survey and
  choices);
- ``<instance id="x" src="jr://file-csv/x.csv">`` or ``jr://file/x.xml|x.geojson`` for
  ``select_one_from_file``/``select_multiple_from_file``, ``csv-external``/
  ``xml-external`` and ``pulldata('x', …)`` (XLSForm spec, "External selects",
  "How to pull data from CSV");
- the ``search('x')`` appearance, which reads ``x.csv`` (ODK Collect docs, "Selects from
  a CSV file": pyxform adds no instance for it);
- ``pulldata('x', …)`` once more, for forms written before pyxform added its instance.

Files are kept per form version (``FormMedia``); phones fetch them through the OpenRosa
manifest (ODK Collect compares each file's MD5 with its own copy, so a file added or
replaced later is fetched without a new form version) and through ``/api/v1/me``.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from lxml import etree

from fieldapp.surveys.models import FormMedia, FormVersion

_JR = re.compile(r"jr://(?:images|audio|video|file|file-csv)/([^\s\"'<>()]+)")
_SEARCH = re.compile(r"\bsearch\(\s*['\"]([^'\"]+)['\"]")
_PULLDATA = re.compile(r"\bpulldata\(\s*['\"]([^'\"]+)['\"]")
_UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f]")


class MediaError(ValueError):
    """A media file cannot be stored; ``str()`` says which and why."""


def referenced_media(xform: str) -> list[str]:
    """The file names ``xform`` refers to (see the module docstring), sorted, unique."""
    doc = etree.fromstring(xform.encode("utf-8"))
    names: set[str] = set()
    for el in doc.iter():
        if not isinstance(el.tag, str):  # comments, processing instructions
            continue
        texts = [*el.attrib.values(), el.text or ""]
        for text in texts:
            if "jr://" in text:
                names.update(_JR.findall(text))
            if "search(" in text:
                names.update(f"{n}.csv" for n in _SEARCH.findall(text))
            if "pulldata(" in text:
                names.update(f"{n}.csv" for n in _PULLDATA.findall(text))
    return sorted(names)


def referenced(fv: FormVersion) -> list[str]:
    """The media ``fv`` names: kept in its schema at publish, read from the XForm for
    versions published before that."""
    names = fv.schema.get("media")
    return list(names) if names is not None else referenced_media(fv.xform)


@dataclass(frozen=True)
class MediaEntry:
    """One row of a version's media list."""

    filename: str
    referenced: bool  # the XForm names it
    present: bool  # a file is stored
    size: int | None = None
    md5: str | None = None


def media_entries(fv: FormVersion) -> list[MediaEntry]:
    """Every file ``fv`` names (present or missing) and every file stored for it that it
    does not name, by file name."""
    named = set(referenced(fv))
    stored = {m.filename: m for m in fv.media}
    return [
        MediaEntry(
            name,
            name in named,
            name in stored,
            len(stored[name].data) if name in stored else None,
            stored[name].md5 if name in stored else None,
        )
        for name in sorted(named | set(stored))
    ]


def missing_media(fv: FormVersion) -> list[str]:
    """The files ``fv`` names that are not stored and no dataset serves
    (``fieldapp.cases.lists``: ``households.csv`` is the ``households`` entity list)."""
    from fieldapp.cases.lists import dataset_files

    stored = {m.filename for m in fv.media}
    names = [n for n in referenced(fv) if n not in stored]
    served = dataset_files(names)
    return [n for n in names if n not in served]


def check_media_name(name: str) -> None:
    """Refuse a file name that cannot be a manifest entry or a URL part."""
    if not name or len(name) > 255 or _UNSAFE_NAME.search(name) or name in (".", ".."):
        raise MediaError(_("附件文件名不可用：%(name)s", name=name[:100]))


def check_media(files: list[tuple[str, bytes]]) -> None:
    """Refuse the whole list when one name is unusable, a file is empty or a name
    appears twice (nothing is stored)."""
    seen: set[str] = set()
    for name, content in files:
        check_media_name(name)
        if not content:
            raise MediaError(_("附件 %(name)s 是空文件", name=name))
        if name in seen:
            raise MediaError(_("附件 %(name)s 选了两次", name=name))
        seen.add(name)


def store_media(fv: FormVersion, files: list[tuple[str, bytes]]) -> tuple[list[str], list[str]]:
    """Add ``files`` (name, bytes) to ``fv``, replacing a stored file of the same name;
    return (added, replaced) names. Unchanged files count as neither. Checks first with
    ``check_media`` (``MediaError``)."""
    check_media(files)
    stored = {m.filename: m for m in fv.media}
    added, replaced = [], []
    for name, content in files:
        md5 = hashlib.md5(content).hexdigest()
        item = stored.get(name)
        if item is None:
            fv.media.append(
                FormMedia(
                    filename=name,
                    data=content,
                    content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
                    md5=md5,
                )
            )
            added.append(name)
        elif item.md5 != md5:
            item.data, item.md5 = content, md5
            replaced.append(name)
    return added, replaced
