"""Write each questionnaire's XLSForm as text beside it, for diffs and review.

The questionnaires live in ``questionnaires/`` at the top of the checkout. A researcher edits
``<form_id>.xlsx`` in Excel (the source); this script writes ``<form_id>.md`` beside it in
pyxform's own markdown notation for XLSForms (the one pyxform's test-suite uses; pyxform
converts it too), so that a change shows as changed lines in a diff:

    .venv/bin/python scripts/questionnaires.py            # rewrite every .md from its .xlsx
    .venv/bin/python scripts/questionnaires.py --check    # exit 1 naming the .md that differ
    .venv/bin/python scripts/questionnaires.py questionnaires/family_screening.xlsx

Arguments are .xlsx files or folders (default: ``questionnaires/``). The text holds what
pyxform reads from the workbook: the XLSForm sheets, cells as pyxform reads them (trimmed,
numbers as pyxform writes them), columns without a value in a sheet left out, empty rows
left out. Cells are not padded to line up, so that changing one cell changes one line.
A line break inside a cell cannot be written in this notation: such a workbook is refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pyxform.errors import PyXFormError
from pyxform.xls2json_backends import xlsx_to_dict

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "questionnaires"


def _mark(xlsx_name: str) -> str:
    """The words that open every written .md (and tell it from a README)."""
    return f"`{xlsx_name}` as text, written by scripts/questionnaires.py"


class Unwritable(Exception):
    """The workbook holds something pyxform's markdown notation cannot carry."""


def sources(folder: Path) -> list[Path]:
    """The XLSForms in ``folder``, leaving out Excel's lock files (``~$name.xlsx``)."""
    return sorted(p for p in folder.glob("*.xlsx") if not p.name.startswith(("~$", ".")))


def _cell(value: str, where: str) -> str:
    if "\n" in value or "\r" in value:
        raise Unwritable(f"{where}: a line break in a cell cannot be written in the text")
    return value.replace("|", "\\|")


def _line(cells: list[str]) -> str:
    return "| |" + "".join(f" {c} |" if c else " |" for c in cells)


def _table(sheet: str, header: list[str], rows: list[dict[str, str]], path: Path) -> list[str]:
    """One sheet: its name, a separator (so that a forge shows a table), header, rows."""
    used = [h for h in header if any(h in r for r in rows)] or header
    lines = [f"| {sheet} |" + " |" * len(used), "|" + "---|" * (len(used) + 1)]
    lines.append(_line([_cell(h, f"{path.name}, sheet {sheet}") for h in used]))
    for n, row in enumerate(rows, start=2):  # row 1 is the header
        if row:
            where = f"{path.name}, sheet {sheet}, row {n}"
            lines.append(_line([_cell(row.get(h, ""), f"{where}, column {h}") for h in used]))
    return lines


def render(path: Path) -> str:
    """The text of the XLSForm at ``path`` (what pyxform reads of it)."""
    book = xlsx_to_dict(str(path))
    sheets = [k for k in book if k != "sheet_names" and not k.endswith("_header")]
    ignored = [s for s in book["sheet_names"] if s.lower() not in sheets]
    out = [
        f"# {path.stem}",
        "",
        f"{_mark(path.name)}: edit the .xlsx, then run",
        "`.venv/bin/python scripts/questionnaires.py`. This is pyxform's markdown notation for",
        "XLSForms (pyxform converts it too); columns without a value are left out.",
    ]
    if ignored and len(book["sheet_names"]) > 1:  # a lone sheet is read as the survey
        out.append(f"Sheets pyxform does not read (not shown): {', '.join(ignored)}.")
    for sheet in sheets:
        out += ["", *_table(sheet, list(book[f"{sheet}_header"][0]), book[sheet], path)]
    return "\n".join(out) + "\n"


def _shown(path: Path | str) -> str:
    """``path`` relative to the working folder where it lies below it."""
    path = Path(path).resolve()
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def run(targets: list[Path], check: bool) -> int:
    differ, orphans, errors = [], [], []
    for target in targets:
        paths = sources(target) if target.is_dir() else [target]
        if target.is_dir():
            orphans += [
                md
                for md in sorted(target.glob("*.md"))
                if not md.with_suffix(".xlsx").exists()
                and _mark(f"{md.stem}.xlsx") in md.read_text("utf-8")
            ]
        for path in paths:
            md = path.with_suffix(".md")
            try:
                text = render(path)
            except Unwritable as exc:
                errors.append(str(exc))
                continue
            except PyXFormError as exc:  # not a workbook pyxform can read
                errors.append(f"{_shown(path)}: {exc}")
                continue
            if md.exists() and md.read_text("utf-8") == text:
                continue
            differ.append(md)
            if not check:
                md.write_text(text, "utf-8")
    for message in errors:
        print(f"error: {message}", file=sys.stderr)
    if check:
        for md in differ:
            state = "differs from" if md.exists() else "is missing for"
            print(f"{_shown(md)} {state} {md.with_suffix('.xlsx').name}: run {_shown(__file__)}")
        for md in orphans:
            print(f"{_shown(md)}: its .xlsx is gone")
        return 1 if differ or orphans or errors else 0
    for md in differ:
        print(f"wrote {_shown(md)}")
    for md in orphans:
        md.unlink()
        print(f"removed {_shown(md)} (its .xlsx is gone)")
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help=".xlsx files or folders")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    return run(args.paths or [FOLDER], args.check)


if __name__ == "__main__":
    sys.exit(main())
