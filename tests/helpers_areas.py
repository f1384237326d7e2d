"""A generated city for tests, the e2e story and ``bench/areas.py``: 临江市 (fictional,
code 3397), 11 districts and counties, their towns and about 2,000 villages, with
12-digit statistical division codes and plausible Chinese names.

    from tests.helpers_areas import city_rows, write_city
    write_city(tmp_path / "city.xlsx")            # 代码,名称,上级代码 (parents filled)
    write_city(tmp_path / "city.csv", parents=False, headers="en")

Or from the shell: ``.venv/bin/python -m tests.helpers_areas city.xlsx [--villages N]``.
Codes follow the national scheme: urban districts 01–06 with subdistricts (街道,
001–0xx) and communities (社区, 001–1xx); counties 21–24 and a county-level city 81 with
towns (镇, 101–), a township (乡, 201–) and villages (村, 201–).
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

CITY_CODE, CITY_NAME = "3397", "临江市"
DISTRICTS = [
    ("01", "江城区"),
    ("02", "北湖区"),
    ("03", "南岭区"),
    ("04", "西塘区"),
    ("05", "东港区"),
    ("06", "青山区"),
    ("21", "临溪县"),
    ("22", "白沙县"),
    ("23", "云门县"),
    ("24", "安平县"),
    ("81", "清源市"),
]
FIRST = "安宁和平兴隆福寿长乐青山绿水新华光明丰金石桥河溪湖云松柏桃李梅竹兰龙凤阳春泉塘岭坪湾庄岗"
SECOND = "安宁和平兴隆福寿乐山水华明丰石桥河溪湖云松柏桃李梅竹兰龙凤阳春泉塘岭坪湾庄岗口园林家峰"
Row = tuple[str, str, str]  # (12-digit code, name, 12-digit parent code or "")


def _names(rng: random.Random, n: int, suffix: str, taken: set[str]) -> list[str]:
    """``n`` two-character names + ``suffix``, none in ``taken`` (which grows)."""
    out = []
    while len(out) < n:
        name = rng.choice(FIRST) + rng.choice(SECOND) + suffix
        if name[0] != name[1] and name not in taken:
            taken.add(name)
            out.append(name)
    return out


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """``total`` split into ``parts`` near-equal whole numbers, shuffled."""
    base, extra = divmod(total, parts)
    sizes = [base + (1 if i < extra else 0) for i in range(parts)]
    rng.shuffle(sizes)
    return sizes


def city_rows(villages: int = 2000, seed: int = 9) -> list[Row]:
    """The city, its 11 districts, 12–16 towns each, and ``villages`` villages spread
    over the towns, parents before children."""
    rng = random.Random(seed)
    city12 = CITY_CODE.ljust(12, "0")
    rows: list[Row] = [(city12, CITY_NAME, "")]
    towns: list[tuple[str, bool]] = []  # (town code 12, urban)
    town_names: set[str] = set()
    for group, name in DISTRICTS:
        district = CITY_CODE + group
        rows.append((district.ljust(12, "0"), name, city12))
        urban = name.endswith("区")
        count = rng.randint(12, 16)
        if urban:
            numbers = list(range(1, count + 1))
            names = _names(rng, count, "街道", town_names)
        else:
            numbers = [101 + i for i in range(count - 1)] + [201]
            names = _names(rng, count - 1, "镇", town_names) + _names(rng, 1, "乡", town_names)
        for number, town_name in zip(numbers, names, strict=True):
            town = f"{district}{number:03d}"
            rows.append((town.ljust(12, "0"), town_name, district.ljust(12, "0")))
            towns.append((town, urban))
    for (town, urban), size in zip(towns, _split(villages, len(towns), rng), strict=True):
        taken: set[str] = set()
        if urban:
            numbers, names = range(1, size + 1), _names(rng, size, "社区", taken)
        else:
            seat = min(2, size)  # the town seat's communities, then villages
            numbers = [*range(1, seat + 1), *range(201, 201 + size - seat)]
            names = _names(rng, seat, "社区", taken) + _names(rng, size - seat, "村", taken)
        for number, village_name in zip(numbers, names, strict=True):
            rows.append((f"{town}{number:03d}", village_name, town.ljust(12, "0")))
    return rows


def write_city(
    path: Path,
    rows: list[Row] | None = None,
    parents: bool = True,
    headers: str = "zh",
) -> Path:
    """Write ``rows`` (default: ``city_rows()``) to ``path`` (.xlsx or .csv, by suffix);
    ``parents=False`` leaves the parent column out (12-digit codes need none);
    ``headers`` ``zh`` (代码,名称,上级代码) or ``en`` (code,name,parent)."""
    rows = city_rows() if rows is None else rows
    head = ["代码", "名称", "上级代码"] if headers == "zh" else ["code", "name", "parent"]
    table = [head] + [list(r) for r in rows]
    if not parents:
        table = [r[:2] for r in table]
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "区划"
        for r in table:
            ws.append(r)
        for column in "AC":  # codes as text, as people keep them (no 3.397E+11)
            for cell in ws[column][1:]:
                cell.number_format = "@"
        wb.save(path)
    else:
        with path.open("w", newline="", encoding="utf-8-sig") as fh:
            csv.writer(fh).writerows(table)
    return path


def main() -> None:
    """Write a generated city file (``python -m tests.helpers_areas city.xlsx``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--villages", type=int, default=2000)
    parser.add_argument("--no-parents", action="store_true")
    args = parser.parse_args()
    rows = city_rows(args.villages)
    write_city(args.path, rows, parents=not args.no_parents)
    print(f"{args.path}: {len(rows)} 行（{args.villages} 个村/社区）")


if __name__ == "__main__":
    main()
