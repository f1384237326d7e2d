"""Area codes: which codes we accept, and what a statistical division code says.

China's statistical division codes (统计用区划代码) have 12 digits in five groups:
province 2, city 2, county 2, town 3, village 3 (``33 01 02 001 001``); a higher area
fills the groups below it with zeros (town ``330102001000``). We store every such code
in its short form, the 12 digits with the trailing zero groups trimmed
(``330102001000`` → ``330102001``), which is how the demo's and the first installs'
codes were written (``3399``, ``339901``, ``339901001``, ``339901001001``). So the two
forms name the same area wherever a code is typed or imported.

A numeric code of 4, 6, 9 or 12 digits is read as such a code: its length gives its
level (city, district/county, town, village; ``LEVELS``) and trimming its last group
gives its parent. Other codes (letters, other lengths) are free: their level follows
from the parent they are given.
"""

from __future__ import annotations

import re
import unicodedata

from flask_babel import gettext as _

from fieldapp.areas.models import LEVELS

CODE = re.compile(r"[A-Za-z0-9-]{1,32}")  # no "/" (path separator), no LIKE wildcards
GROUPS = (2, 2, 2, 3, 3)  # province, city, county, town, village
SHORT_LEVELS = {4: "city", 6: "district", 9: "town", 12: "village"}
assert set(SHORT_LEVELS.values()) == set(LEVELS)


class CodeError(ValueError):
    """A code that cannot name an area (the message says why, in the UI language)."""


def _trimmed(digits: str) -> str:
    """The 12 digits with trailing all-zero groups removed (``""`` for all zeros)."""
    ends, end = [], 0
    for width in GROUPS:
        end += width
        ends.append(end)
    keep = 0
    for start, stop in zip([0, *ends[:-1]], ends, strict=True):
        if digits[start:stop].strip("0"):
            keep = stop
    return digits[:keep]


def normalise(raw: str) -> str:
    """The stored form of a typed or imported code: NFKC (full-width ``３３`` → ``33``),
    stripped; a 12-digit statistical
    code trimmed to its short form. Raises ``CodeError`` for an empty code, a code of
    other characters than letters, digits and ``-``, a province code (areas start at
    the city), a statistical code with a zero group above a non-zero one, and a short
    statistical code whose last group is zero (``339900`` is the city ``3399``)."""
    code = unicodedata.normalize("NFKC", raw or "").strip()  # full-width digits → ASCII
    if not code:
        raise CodeError(_("代码为空"))
    if not CODE.fullmatch(code):
        raise CodeError(
            _(
                "代码 %(code)s 只能由字母、数字和连字符组成，最多 32 个字符",
                code=code[:40],
            )
        )
    if not (code.isdigit() and len(code) in SHORT_LEVELS):
        return code
    long = code.ljust(12, "0")
    short = _trimmed(long)
    if not short or not _groups_are_nested(long):
        raise CodeError(
            _(
                "代码 %(code)s 不是有效的统计用区划代码（上一级的位段为 0，下一级却不为 0）",
                code=code,
            )
        )
    if len(short) == 2:
        raise CodeError(_("%(code)s 是省级代码；本系统的区划从市开始，请删去省级这一行", code=long))
    if len(code) < 12 and short != code:
        raise CodeError(
            _(
                "代码 %(code)s 末段全为 0，即 %(short)s；请写作 %(short)s 或 12 位的 %(long)s",
                code=code,
                short=short,
                long=long,
            )
        )
    return short


def _groups_are_nested(digits: str) -> bool:
    """No zero group above a non-zero one (``330100001000`` has no county but a town)."""
    seen_zero, start = False, 0
    for width in GROUPS:
        group = digits[start : start + width]
        start += width
        if not group.strip("0"):
            seen_zero = True
        elif seen_zero:
            return False
    return True


def implied_level(code: str) -> str | None:
    """The level a stored statistical code names by its length, else ``None``."""
    return SHORT_LEVELS.get(len(code)) if code.isdigit() else None


def implied_parent(code: str) -> str | None:
    """The parent a stored statistical code names (its last group trimmed); ``None``
    for a city code or a code that is not statistical."""
    level = implied_level(code)
    if level is None or level == "city":
        return None
    widths = {"district": 2, "town": 3, "village": 3}
    return code[: -widths[level]]


def parent_problem(code: str, parent: str | None) -> str | None:
    """Why stored code ``code`` cannot stand under the area ``parent`` (a code; ``None``
    for the top): a statistical code names its parent (``implied_parent``), and it must
    be the one given. ``None`` when it may, or when ``parent`` is a statistical code of
    another level (``services.child_level`` explains that better)."""
    implied = implied_parent(code)
    if implied is None or parent is None or implied == parent:
        return None
    if implied_level(parent) not in (None, implied_level(implied)):
        return None  # a parent of another level: the level check says why
    return _(
        "代码 %(code)s 是 %(implied)s 下的统计用区划代码，不能放在 %(parent)s 之下",
        code=code,
        implied=implied,
        parent=parent,
    )
