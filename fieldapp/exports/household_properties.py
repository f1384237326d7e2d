"""The properties of an entity list as export columns (issue 10): each typed, labelled and
de-identified as the question that saves it (``save_to``), read from every form version
that declares the dataset; the newest version's question wins, choices united as for a
form's versions (``dataset.wide.merge_types``).

De-identification (``Properties.deidentifier``): the label names a person, so it becomes
a pseudonym: the keyed hash of the label text, as names are (stable across exports; not
the head's pseudonym of the screening export, since a label is built from more than the
name: ``household_id`` is the join key). A property takes the identifier mark of the
question that saves it (any form's; ``remove`` wins; a calculation from a marked answer
is removed), so a pseudonymised name property equals the form export's pseudonym of the
same answer; location properties are coarsened as in the forms' exports. Usernames are
staff, not households: kept.
"""

from __future__ import annotations

from flask_babel import force_locale

from fieldapp.cases import households
from fieldapp.cases.spec import spec_of
from fieldapp.dataset.identify import Deidentifier, with_derived
from fieldapp.dataset.wide import merge_types
from fieldapp.surveys.identifiers import PSEUDONYM, REMOVE

# Properties whose codes are the household vocabulary's, in every table and whatever
# question saved them (a screening's calculate, a visit's select_one): one numbering
# for SPSS and Stata.
VOCABULARY = {households.RISK: households.RISK_LEVELS, households.STATUS: households.STATUSES}


def choices(names: dict) -> list[dict]:
    """Choices (schema shape) of a vocabulary dict (code → lazy Chinese label)."""
    with force_locale("zh"):  # value labels in Chinese, as the vocabulary's message ids
        return [{"name": k, "labels": {"": str(v)}} for k, v in names.items()]


class Properties:
    """A dataset's properties as export columns: for each, the question that saves it
    (renamed to the property), its identifier mark, and the forms' label languages.

    ``forms`` is ``cases.export_rows.dataset_forms``' list for dataset ``name``;
    ``order`` the dataset's property names."""

    def __init__(self, name: str, order: list[str], forms: list[tuple[str, list]]):
        found: list[tuple[int, dict, str | None]] = []  # (version id, question, mark)
        self.languages: list[str] = []
        self.default_language: str | None = None  # the newest declaring version's
        newest = 0
        for _form_id, versions in forms:
            marks: dict[str, str] = {}
            for v in versions:
                marks.update(v.schema.get("identifiers") or {})
            marks = with_derived(marks, [q for v in versions for q in v.schema["questions"]])
            for v in versions:
                spec = spec_of(v) or {}
                if spec.get("dataset") != name:
                    continue
                by_path = {q["path"]: q for q in v.schema["questions"]}
                for path, prop in (spec.get("saveto") or {}).items():
                    if path in by_path:
                        q = {**by_path[path], "name": prop, "relevant": None, "constraint": None}
                        found.append((v.id, q, marks.get(by_path[path]["name"])))
                for lang in v.schema.get("languages") or []:
                    if lang not in self.languages:
                        self.languages.append(lang)
                if v.id > newest:
                    newest, self.default_language = v.id, v.schema.get("default_language")
        self.questions: dict[str, dict] = {}
        self.marks: dict[str, str] = {}
        for _, q, mark in sorted(found, key=lambda f: -f[0]):  # newest version first
            prop = q["name"]
            self.questions[prop] = merge_types(self.questions.get(prop, q), q)
            if mark and self.marks.get(prop) != REMOVE:
                self.marks[prop] = mark
        self.order = list(order)

    def question(self, prop: str) -> dict:
        """The question ``prop``'s values are typed and de-identified by (risk and
        status: a select_one of the household vocabulary, then any other choice the
        forms have)."""
        q = self.questions.get(prop) or {
            "name": prop,
            "type": "text",
            "data_type": "string",
            "labels": {},
        }
        if prop in VOCABULARY:
            vocab = choices(VOCABULARY[prop])
            known = {c["name"] for c in vocab}
            extra = [c for c in q.get("choices") or [] if c["name"] not in known]
            q = {**q, "type": "select_one", "choices": vocab + extra, "choices_static": True}
        return q

    def deidentifier(self, identifying: bool, key: bytes) -> Deidentifier:
        """Nothing changes when ``identifying``; else the label is a pseudonym and each
        property follows its question's mark."""
        if identifying:
            return Deidentifier(None)
        return Deidentifier({**self.marks, "label": PSEUDONYM}, key)
