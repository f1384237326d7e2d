"""Variable names that SPSS and Stata accept, unique after shortening.

SPSS (IBM SPSS Statistics, "Variable names"): at most 64 bytes; starts with a letter
(Unicode letters too) or ``@ # $``; then letters, digits, ``. _ @ # $``; must not end
with ``.`` or ``_``; not a reserved word (ALL AND BY EQ GE GT LE LT NE NOT OR TO WITH);
unique ignoring case. Stata (``help varname``): at most 32 characters (we use 28, see
``stata_names``); letters (Unicode too, Stata 14+), digits and ``_``; starts with a
letter; not a reserved word. We keep both unique ignoring case so that the same data
opens the same way in both.

Names are built from the export name (``household/household_members/member_age``) with
``/`` turned into ``_``. When that is too long, the question's own name is tried, then a
shortened name with a short hash of the full name, so two different columns never end
up with the same name.
"""

from __future__ import annotations

import hashlib
import re

SPSS_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
STATA_RESERVED = {
    "_all",
    "_b",
    "byte",
    "_coef",
    "_cons",
    "double",
    "float",
    "if",
    "in",
    "int",
    "long",
    "_n",
    "_N",
    "_pi",
    "_pred",
    "_rc",
    "_se",
    "_skip",
    "str",
    "strL",
    "using",
    "with",
}


def _bytes(name: str) -> int:
    return len(name.encode())


def _fit(base: str, full: str, limit: int, taken: set[str], size) -> str:
    """``base`` if it fits and is free, else a shortened form with a hash of ``full``."""
    if size(base) <= limit and base.lower() not in taken:
        return base
    digest = hashlib.sha1(full.encode()).hexdigest()
    for n in range(4, 12):
        suffix = "_" + digest[:n]
        cut = base
        while cut and size(cut) > limit - len(suffix):
            cut = cut[:-1]
        candidate = cut.rstrip("_.") + suffix
        if candidate.lower() not in taken:
            return candidate
    raise ValueError(f"cannot make a unique name for {full}")  # pragma: no cover


def _legal(
    names: list[str], short: dict[str, str], clean, limit: int, reserved, size=_bytes
) -> dict[str, str]:
    out: dict[str, str] = {}
    taken: set[str] = set()
    for full in names:
        base = clean(full)
        if size(base) > limit and full in short:
            alt = clean(short[full])
            if (
                alt.lower() not in taken
                and size(alt) <= limit
                and alt not in reserved
                and alt.upper() not in SPSS_RESERVED
            ):
                base = alt
        if base in reserved or base.upper() in reserved:
            base = base + "_v"
        name = _fit(base, full, limit, taken, size)
        taken.add(name.lower())
        out[full] = name
    return out


def _spss_clean(name: str) -> str:
    # Unicode letters are fine in SPSS's Unicode mode (the default since version 21).
    name = re.sub(r"[^\w.@#$]", "_", name.replace("[", "_").replace("]", ""))
    if not re.match(r"[^\W\d_]|[@#$]", name):
        name = "v" + name
    return name.rstrip("._") or "v"


def _stata_clean(name: str) -> str:
    # Stata 14 and later take Unicode letters in names.
    name = re.sub(r"[^\w]", "_", name.replace("[", "_").replace("]", ""))
    if not re.match(r"[^\W\d]", name):
        name = "v" + name
    return name


def spss_names(names: list[str], short: dict[str, str] | None = None) -> dict[str, str]:
    """Export name → legal, unique SPSS name (64 bytes). ``short`` offers a shorter
    alternative per name (the question's own name)."""
    return _legal(names, short or {}, _spss_clean, 64, SPSS_RESERVED)


def stata_names(names: list[str], short: dict[str, str] | None = None) -> dict[str, str]:
    """Export name → legal, unique Stata name of at most 28 characters: Stata allows 32,
    but pyreadstat names each value-label set after its variable plus a running number
    (``name12``), which must fit in 32 too."""
    return _legal(names, short or {}, _stata_clean, 28, STATA_RESERVED, size=len)
