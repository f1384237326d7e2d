"""Generate the bench questionnaire: 400 questions in 20 groups, a repeat, `relevant` and
`calculate` on most questions, and a 1,000-item list filtered by `choice_filter`. As in
real forms, most questions are hidden at start: 15 of each group's 20 show only once its
first question has a number above 0 (100 of the 400 show on a blank form).

``build_household`` writes ``bench200``, the size of issue 12's field survey: 200 questions
(120 in 10 sections of 12, 80 in 4 repeats of 20) besides town and village, 460 choices
(a 400-village cascade, its 10 towns and six short lists), relevance and calculations in
the same style; a blank form shows 50 of the 202 (each section's first question, a
number, gates 8 of its 11 others; each repeat instance's name and age gate its other 18).

Usage: python bench/make_form.py OUT.xlsx [bench400|bench200]
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


H_SECTIONS = 10
H_PER_SECTION = 12  # 10 × 12 = 120 questions outside the repeats
H_REPEATS = ("members", "plots", "animals", "migrants")
H_PER_REPEAT = 20  # 4 × 20 = 80 questions in repeats
H_TOWNS = 10
H_VILLAGES_PER_TOWN = 40  # 400 villages
H_LISTS = {  # the short lists: 50 choices with yesno
    "yesno": ["是", "否"],
    "sex": ["男", "女"],
    "edu": ["未上学", "小学", "初中", "高中", "中专", "大专", "本科", "研究生"],
    "rel": [
        "户主",
        "配偶",
        "子女",
        "父母",
        "兄弟姐妹",
        "孙子女",
        "儿媳女婿",
        "祖父母",
        "其他亲属",
        "非亲属",
    ],
    "job": [f"职业{n}" for n in range(1, 19)],
    "crop": ["水稻", "玉米", "小麦", "大豆", "蔬菜", "果树", "茶叶", "其他", "撂荒", "无"],
}
H_KINDS = ("integer", "text", "select_one yesno", "decimal", "select_one edu", "select_one job")


def household_rows() -> list[list]:
    """Rows of bench200's survey sheet (type, name, label, relevant, calculation,
    choice_filter)."""
    rows = [
        ["select_one town", "town", "镇/街道", "", "", ""],
        ["select_one village", "village", "村/社区", "", "", "town=${town}"],
    ]
    for s in range(1, H_SECTIONS + 1):
        rows.append(["begin_group", f"s{s}", f"第 {s} 部分", "", "", ""])
        gate = f"s{s}_q1"
        for q in range(1, H_PER_SECTION + 1):
            name = f"s{s}_q{q}"
            if q == 1:
                rows.append(["integer", name, f"问题 {s}.{q}（数字）", "", "", ""])
                continue
            kind = H_KINDS[q % len(H_KINDS)]
            # 8 of the 11 others hidden while the gate is blank, as in bench400
            relevant = f"${{{gate}}} > 0" if q % 4 else ""
            rows.append([kind, name, f"问题 {s}.{q}", relevant, "", ""])
            if kind in ("integer", "decimal"):
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
                f"s{s}_total",
                "",
                "",
                " + ".join(f"number(${{s{s}_q{q}}})" for q in (1, 6, 9, 12)),
                "",
            ]
        )
        rows.append(["end_group", "", "", "", "", ""])
    for r, rep in enumerate(H_REPEATS, start=1):
        rows.append(["begin_repeat", rep, f"名单 {r}", "", "", ""])
        first, second = f"r{r}_q1", f"r{r}_q2"
        rows.append(["text", first, f"名单 {r} 姓名", "", "", ""])
        rows.append(["integer", second, f"名单 {r} 年龄（数字）", "", "", ""])
        rows.append(["calculate", f"r{r}_minor", "", "", f"if(${{{second}}} < 18, 1, 0)", ""])
        for q in range(3, H_PER_REPEAT + 1):
            kind = ("select_one sex", "select_one rel", "integer", "select_one crop", "text")[q % 5]
            relevant = f"${{{second}}} >= 16" if q % 2 else f"${{{first}}} != ''"
            rows.append([kind, f"r{r}_q{q}", f"名单 {r} 问题 {q}", relevant, "", ""])
        rows.append(["end_repeat", "", "", "", "", ""])
        rows.append(["calculate", f"r{r}_count", "", "", f"count(${{{first}}})", ""])
        rows.append(["calculate", f"r{r}_minors", "", "", f"sum(${{r{r}_minor}})", ""])
    return rows


def build_household(path: Path) -> Path:
    """Write bench200 (see the module docstring) to ``path``."""
    wb = openpyxl.Workbook()
    survey = wb.active
    survey.title = "survey"
    survey.append(["type", "name", "label", "relevant", "calculation", "choice_filter"])
    for row in household_rows():
        survey.append(row)
    choices = wb.create_sheet("choices")
    choices.append(["list_name", "name", "label", "town"])
    for list_name, labels in H_LISTS.items():
        for n, label in enumerate(labels, start=1):
            choices.append([list_name, f"{list_name}{n}", label, ""])
    for t in range(1, H_TOWNS + 1):
        choices.append(["town", f"t{t}", f"第{t}镇", ""])
        for v in range(1, H_VILLAGES_PER_TOWN + 1):
            choices.append(["village", f"t{t}v{v}", f"第{t}镇第{v}村", f"t{t}"])
    settings = wb.create_sheet("settings")
    settings.append(["form_id", "version", "form_title"])
    settings.append(["bench200", "1", "二百题住户调查（测试）"])
    wb.save(path)
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bench400.xlsx")
    (build_household if sys.argv[2:] == ["bench200"] else build)(out)
