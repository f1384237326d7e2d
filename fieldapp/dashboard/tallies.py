"""Per-question tallies: the answers at a question's path (one per repeat instance) and
the counts of each choice of a select question."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from fieldapp.dataset.wide import Question, label_of
from fieldapp.surveys.models import Form
from fieldapp.surveys.xform_schema import data_questions

MAX_EXTRA_CODES = 50  # answers outside the choice list (choices from a file…) kept apart
OTHER_CODES = "…"  # where answers past that many extra codes are counted


def answers(node, parts: list[str]) -> Iterator[str]:
    """The non-blank answers at ``parts`` below ``node``, one per repeat instance."""
    if isinstance(node, list):
        for item in node:
            yield from answers(item, parts)
    elif not parts:
        if isinstance(node, str) and node.strip():
            yield node.strip()
    elif isinstance(node, dict):
        yield from answers(node.get(parts[0]), parts[1:])


def choice_lists(form: Form) -> dict[str, list[dict]]:
    """Each select question's choices over all versions: the newest list, then choices
    only older versions had."""
    merged: dict[str, dict[str, dict]] = {}
    for version in reversed(form.versions):
        root = "/" + version.schema["root"] + "/"
        for q in data_questions(version.schema):
            if q.get("choices") and q["path"].startswith(root):
                have = merged.setdefault(q["path"][len(root) :], {})
                for choice in q["choices"]:
                    have.setdefault(choice["name"], choice)
    return {name: list(choices.values()) for name, choices in merged.items()}


class ChoiceTally:
    """Counts of each choice of one select question (select_multiple: each choice)."""

    def __init__(self, question: Question, choices: list[dict]):
        self.question = question
        self.choices = choices
        self.answered = 0
        self.counts: Counter[str] = Counter()
        self.known = {c["name"] for c in choices}
        self.extra = 0

    def add(self, value: str) -> None:
        """Count one answer (a code, or space-separated codes)."""
        codes = value.split() if self.question.q["type"] == "select_multiple" else [value]
        self.add_counts(dict.fromkeys(codes, 1), 1)

    def add_counts(self, counts: dict[str, int], answered: int) -> None:
        """Count ``answered`` answers holding each code ``counts[code]`` times (a code
        at most once per answer), codes in the order they first appeared."""
        self.answered += answered
        for code, n in counts.items():
            if code not in self.known and code not in self.counts:
                if self.extra >= MAX_EXTRA_CODES:
                    code = OTHER_CODES
                else:
                    self.extra += 1
            self.counts[code] += n

    def result(self, language: str | None) -> dict:
        """Choices in list order, then codes outside the list by count."""
        rows = [
            {
                "code": c["name"],
                "label": label_of(c["labels"], language) or c["name"],
                "count": self.counts[c["name"]],
            }
            for c in self.choices
        ]
        extra = sorted((k for k in self.counts if k not in self.known), key=self.counts.get)
        rows += [{"code": k, "label": k, "count": self.counts[k]} for k in reversed(extra)]
        return {**describe(self.question, language), "answered": self.answered, "choices": rows}


def describe(q: Question, language: str | None) -> dict:
    return {
        "name": q.name,
        "label": label_of(q.q.get("labels") or {}, language) or q.parts[-1],
        "type": q.q["type"],
        "in_repeat": bool(q.repeats),
    }
