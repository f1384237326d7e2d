"""Generate the bench questionnaire: 400 questions in 20 groups, a repeat, `relevant` and
`calculate` on most questions, and a 1,000-item list filtered by `choice_filter`. As in
real forms, most questions are hidden at start: 15 of each group's 20 show only once its
first question has a number above 0 (100 of the 400 show on a blank form).

Usage: python bench/make_form.py OUT.xlsx
"""

from __future__ import annotations

import sys
from pathlib import Path

import openpyxl

GROUPS = 20
PER_GROUP = 20  # 20 × 20 = 400 questions
TOWNS = 10
VILLAGES_PER_TOWN = 100  # 1,000 items in the filtered list


def survey_rows() -> list[list]:
    """Rows of the survey sheet (type, name, label, relevant, calculation, choice_filter)."""
    rows = [
        ["select_one town", "town", "镇/街道", "", "", ""],
        ["select_one village", "village", "村/社区", "", "", "town=${town}"],
    ]
    for g in range(1, GROUPS + 1):
        rows.append(["begin_group", f"g{g}", f"第 {g} 部分", "", "", ""])
        gate = f"g{g}_q1"
        for q in range(1, PER_GROUP + 1):
            name = f"g{g}_q{q}"
            if q == 1:
                rows.append(["integer", name, f"问题 {g}.{q}（数字）", "", "", ""])
                continue
            kind = ("integer", "text", "select_one yesno", "decimal")[q % 4]
            # Hidden while the group's first question is blank (blank > 0 is false), as
            # real forms hide most questions at start: 100 of the 400 show at first.
            relevant = f"${{{gate}}} > 0" if q % 5 else ""
            rows.append([kind, name, f"问题 {g}.{q}", relevant, "", ""])
            if q % 2 == 0 and kind in ("integer", "decimal"):
                rows.append(
                    [
                        "calculate",
                        f"{name}_calc",
                        "",
                        "",
                        f"if(${{{name}}} > 10, ${{{name}}} * 2, 0)",
                        "",
                    ]
                )
        rows.append(
            [
                "calculate",
                f"g{g}_total",
                "",
                "",
                " + ".join(f"number(${{g{g}_q{q}}})" for q in (1, 4, 8, 12, 16, 20)),
                "",
            ]
        )
        rows.append(["end_group", "", "", "", "", ""])
    rows += [
        ["begin_repeat", "members", "家庭成员", "", "", ""],
        ["text", "m_name", "姓名", "", "", ""],
        ["integer", "m_age", "年龄", "", "", ""],
        ["calculate", "m_minor", "", "", "if(${m_age} < 18, 1, 0)", ""],
        ["end_repeat", "", "", "", "", ""],
        ["calculate", "minors", "", "", "sum(${m_minor})", ""],
    ]
    return rows


def build(path: Path) -> Path:
    """Write the bench XLSForm to ``path``."""
    wb = openpyxl.Workbook()
    survey = wb.active
    survey.title = "survey"
    survey.append(["type", "name", "label", "relevant", "calculation", "choice_filter"])
    for row in survey_rows():
        survey.append(row)
    choices = wb.create_sheet("choices")
    choices.append(["list_name", "name", "label", "town"])
    choices.append(["yesno", "yes", "是", ""])
    choices.append(["yesno", "no", "否", ""])
    for t in range(1, TOWNS + 1):
        choices.append(["town", f"t{t}", f"第{t}镇", ""])
        for v in range(1, VILLAGES_PER_TOWN + 1):
            choices.append(["village", f"t{t}v{v}", f"第{t}镇第{v}村", f"t{t}"])
    settings = wb.create_sheet("settings")
    settings.append(["form_id", "version", "form_title"])
    settings.append(["bench400", "1", "四百题测试问卷"])
    wb.save(path)
    return path


if __name__ == "__main__":
    build(Path(sys.argv[1] if len(sys.argv) > 1 else "bench400.xlsx"))
