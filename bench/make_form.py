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


def gated_section(
    prefix: str, n: int, per: int, kind_of, shown, total_from: tuple[int, ...], calc_if
) -> list[list]:
    """One group ``<prefix><n>`` of ``per`` questions as real forms write them: the first a
    number that gates the others (question ``q`` is hidden while it is blank unless
    ``shown(q)``), ``kind_of(q)`` the type of question ``q``, a calculation beside each
    number question ``q`` with ``calc_if(q)``, and a total of ``total_from``."""
    rows = [["begin_group", f"{prefix}{n}", f"第 {n} 部分", "", "", ""]]
    gate = f"{prefix}{n}_q1"
    for q in range(1, per + 1):
        name = f"{prefix}{n}_q{q}"
        if q == 1:
            rows.append(["integer", name, f"问题 {n}.{q}（数字）", "", "", ""])
            continue
        kind = kind_of(q)
        # Hidden while the group's first question is blank (blank > 0 is false).
        relevant = "" if shown(q) else f"${{{gate}}} > 0"
        rows.append([kind, name, f"问题 {n}.{q}", relevant, "", ""])
        if calc_if(q) and kind in ("integer", "decimal"):
            calc = f"if(${{{name}}} > 10, ${{{name}}} * 2, 0)"
            rows.append(["calculate", f"{name}_calc", "", "", calc, ""])
    total = " + ".join(f"number(${{{prefix}{n}_q{q}}})" for q in total_from)
    rows.append(["calculate", f"{prefix}{n}_total", "", "", total, ""])
    rows.append(["end_group", "", "", "", "", ""])
    return rows


def write_form(path: Path, rows: list[list], choices: list[list], settings: list) -> Path:
    """Write an XLSForm: the survey ``rows`` (type, name, label, relevant, calculation,
    choice_filter), the ``choices`` rows (list_name, name, label, town) and one settings
    row (form_id, version, form_title)."""
    wb = openpyxl.Workbook()
    survey = wb.active
    survey.title = "survey"
    survey.append(["type", "name", "label", "relevant", "calculation", "choice_filter"])
    for row in rows:
        survey.append(row)
    sheet = wb.create_sheet("choices")
    sheet.append(["list_name", "name", "label", "town"])
    for row in choices:
        sheet.append(row)
    sheet = wb.create_sheet("settings")
    sheet.append(["form_id", "version", "form_title"])
    sheet.append(settings)
    wb.save(path)
    return path


def cascade(towns: int, villages_per_town: int) -> list[list]:
    """Choice rows of towns and their villages (``village`` filtered by ``town``)."""
    rows = []
    for t in range(1, towns + 1):
        rows.append(["town", f"t{t}", f"第{t}镇", ""])
        for v in range(1, villages_per_town + 1):
            rows.append(["village", f"t{t}v{v}", f"第{t}镇第{v}村", f"t{t}"])
    return rows


def survey_rows() -> list[list]:
    """Rows of the survey sheet (type, name, label, relevant, calculation, choice_filter)."""
    rows = [
        ["select_one town", "town", "镇/街道", "", "", ""],
        ["select_one village", "village", "村/社区", "", "", "town=${town}"],
    ]
    for g in range(1, GROUPS + 1):
        # As real forms hide most questions at start: 100 of the 400 show at first.
        rows += gated_section(
            "g",
            g,
            PER_GROUP,
            kind_of=lambda q: ("integer", "text", "select_one yesno", "decimal")[q % 4],
            shown=lambda q: q % 5 == 0,
            total_from=(1, 4, 8, 12, 16, 20),
            calc_if=lambda q: q % 2 == 0,
        )
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
    choices = [["yesno", "yes", "是", ""], ["yesno", "no", "否", ""]]
    choices += cascade(TOWNS, VILLAGES_PER_TOWN)
    return write_form(path, survey_rows(), choices, ["bench400", "1", "四百题测试问卷"])


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
    for n in range(1, H_SECTIONS + 1):
        # 8 of the 11 others hidden while the gate is blank, as in bench400
        rows += gated_section(
            "s",
            n,
            H_PER_SECTION,
            kind_of=lambda q: H_KINDS[q % len(H_KINDS)],
            shown=lambda q: q % 4 == 0,
            total_from=(1, 6, 9, 12),
            calc_if=lambda q: True,
        )
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
    choices = [
        [list_name, f"{list_name}{n}", label, ""]
        for list_name, labels in H_LISTS.items()
        for n, label in enumerate(labels, start=1)
    ]
    choices += cascade(H_TOWNS, H_VILLAGES_PER_TOWN)
    return write_form(path, household_rows(), choices, ["bench200", "1", "二百题住户调查（测试）"])


def bilingual(path: Path) -> Path:
    """Make the XLSForm at ``path`` a two-language form, in place: each ``label`` column of
    its survey and choices sheets becomes ``label::中文 (zh)``, and a ``label::English (en)``
    column beside it says the same with ``EN`` before it (for the language switch's bench;
    a real form's English labels are about as long)."""
    wb = openpyxl.load_workbook(path)
    for name in ("survey", "choices"):
        sheet = wb[name]
        header = [c.value for c in sheet[1]]
        col = header.index("label") + 1
        sheet.cell(row=1, column=col, value="label::中文 (zh)")
        english = sheet.max_column + 1
        sheet.cell(row=1, column=english, value="label::English (en)")
        for row in range(2, sheet.max_row + 1):
            text = sheet.cell(row=row, column=col).value
            if text:
                sheet.cell(row=row, column=english, value=f"EN {text}")
    wb.save(path)
    return path


def build_household_bilingual(path: Path) -> Path:
    """bench200 in Chinese and English (``bench200x2``)."""
    return bilingual(build_household(path))


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bench400.xlsx")
    (build_household if sys.argv[2:] == ["bench200"] else build)(out)
