"""The condition language of figure definitions: small, declarative, never ``eval``.

A condition picks the rows a figure counts. Grammar (keywords in any case)::

    expr     := term ("or" term)*
    term     := factor ("and" factor)*
    factor   := "not" factor | "(" expr ")" | test
    test     := NAME ("=" | "!=" | ">" | ">=" | "<" | "<=") LITERAL
              | NAME ["not"] "in" "(" LITERAL ("," LITERAL)* ")"
              | "selected" "(" NAME "," STRING ")"
    LITERAL  := 'text' | "text" | number          ('' inside quotes: one quote)

``NAME`` is a question name (the last path segment) or, for households, a property or
column (``risk_level``, ``case_status``, …). The values of a name are strings, one per
repeat instance (none when unanswered); a test holds when it holds for one of them, and
an unanswered name reads as ``''``:

- ``name = 'v'`` / ``name in ('a', 'b')``: equal text; with a number literal, equal
  numbers (``'3.0' = 3``); ``name != 'v'`` and ``not in`` are their exact opposites;
- ``selected(name, 'v')``: ``v`` is one of the space-separated codes (select_multiple);
- ``>``, ``>=``, ``<``, ``<=``: with a number, a numeric comparison (text that is no
  number never holds); with text, the text order (ISO dates: ``visit_date >= '2026-03-01'``).

The full-width ``（）‘’“”，＝！＞＜`` a Chinese input method types read as their ASCII forms.
An empty condition holds for every row. ``parse`` raises ``ConditionError`` with the
1-based character position of the mistake and a message in Chinese.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _

# Character for character, so that positions stay those of the text as typed.
_FULL_WIDTH = str.maketrans("（）‘’“”，＝！＞＜　", "()''\"\",=!>< ")
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
      | (?P<name>[^\W\d][\w.\-]*)
      | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
      | (?P<op>!=|<>|>=|<=|==|=|>|<)
      | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
KEYWORDS = {"and", "or", "not", "in"}
Values = Sequence[str]  # a name's answers: one per repeat instance, none when unanswered
Test = Callable[[Callable[[str], Values]], bool]


class ConditionError(ValueError):
    """A condition that does not parse: ``message`` (Chinese) at ``position`` (1-based)."""

    def __init__(self, message: str, position: int):
        super().__init__(_("第 %(pos)s 个字符处：%(msg)s", pos=position, msg=message))
        self.message = message
        self.position = position


@dataclass(frozen=True)
class Token:
    kind: str  # number, name, string, op, punct, end
    text: str
    value: object
    position: int  # 1-based


def tokens(text: str) -> list[Token]:
    """The tokens of ``text``; ``ConditionError`` at a character that starts none."""
    text = text.translate(_FULL_WIDTH)
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.lastgroup is None:
            at = pos + len(text[pos:]) - len(text[pos:].lstrip())
            if text[at] in "'\"":
                raise ConditionError(_("引号没有配对"), at + 1)
            raise ConditionError(_("无法识别的字符“%(c)s”", c=text[at]), at + 1)
        kind, raw = m.lastgroup, m.group(m.lastgroup)
        start = m.start(kind) + 1
        value: object = raw
        if kind == "number":
            value = float(raw)
        elif kind == "string":
            value = raw[1:-1].replace(raw[0] * 2, raw[0])
        elif kind == "name" and raw.lower() in KEYWORDS | {"selected"}:
            value = raw.lower()
        elif kind == "op":
            value = {"==": "=", "<>": "!="}.get(raw, raw)
        out.append(Token(kind, raw, value, start))
        pos = m.end()
    out.append(Token("end", "", None, len(text) + 1))
    return out


@dataclass
class Condition:
    """A parsed condition: the ``names`` it reads and its ``test`` of one row (given a
    function from a name to its values)."""

    text: str
    names: list[str]
    test: Test

    def holds(self, values: Callable[[str], Values]) -> bool:
        """True when the row whose answers ``values(name)`` gives satisfies it."""
        return self.test(values)


def parse(text: str | None) -> Condition:
    """Parse ``text`` (blank: always true); ``ConditionError`` names the position."""
    text = (text or "").strip()
    if not text:
        return Condition("", [], lambda _values: True)
    parser = _Parser(tokens(text))
    test = parser.expr()
    tok = parser.peek()
    if tok.kind != "end":
        raise ConditionError(_("多余的“%(t)s”（是否缺少 and / or？）", t=tok.text), tok.position)
    return Condition(text, parser.names, test)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _equal(literal) -> Callable[[str], bool]:
    if isinstance(literal, float):
        return lambda v: _number(v) == literal
    return lambda v: v == literal


_ORDER = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _ordered(op: str, literal) -> Callable[[str], bool]:
    cmp = _ORDER[op]
    if isinstance(literal, float):

        def numeric(v: str) -> bool:
            n = _number(v)
            return n is not None and cmp(n, literal)

        return numeric
    return lambda v: cmp(v, literal)


def _any(name: str, check: Callable[[str], bool]) -> Test:
    def test(values: Callable[[str], Values]) -> bool:
        found = values(name)
        return any(check(v) for v in found) if found else check("")

    return test


class _Parser:
    def __init__(self, toks: list[Token]):
        self.toks = toks
        self.i = 0
        self.names: list[str] = []

    def peek(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok.kind == "name" and tok.value == word:
            self.i += 1
            return True
        return False

    def expect(self, text: str, what: str) -> Token:
        tok = self.take()
        if tok.text != text:
            raise ConditionError(_("这里应为%(what)s", what=what) + self._found(tok), tok.position)
        return tok

    @staticmethod
    def _found(tok: Token) -> str:
        return _("，却是结尾") if tok.kind == "end" else _("，却是“%(t)s”", t=tok.text)

    def expr(self) -> Test:
        parts = [self.term()]
        while self.keyword("or"):
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda v: any(p(v) for p in parts))

    def term(self) -> Test:
        parts = [self.factor()]
        while self.keyword("and"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else (lambda v: all(p(v) for p in parts))

    def factor(self) -> Test:
        if self.keyword("not"):
            inner = self.factor()
            return lambda v: not inner(v)
        tok = self.peek()
        if tok.text == "(":
            self.take()
            inner = self.expr()
            self.expect(")", _("右括号“)”"))
            return inner
        if tok.kind == "name" and tok.value == "selected":
            return self.selected()
        return self.test()

    def name(self) -> str:
        tok = self.take()
        if tok.kind != "name" or tok.value in KEYWORDS or tok.value == "selected":
            raise ConditionError(_("这里应为题目名称") + self._found(tok), tok.position)
        if tok.text not in self.names:
            self.names.append(tok.text)
        return tok.text

    def literal(self) -> object:
        tok = self.take()
        if tok.kind not in ("string", "number"):
            raise ConditionError(
                _("这里应为带引号的文字（如 'yes'）或数字") + self._found(tok), tok.position
            )
        return tok.value

    def selected(self) -> Test:
        self.take()
        self.expect("(", _("左括号“(”"))
        name = self.name()
        self.expect(",", _("逗号“,”"))
        tok = self.peek()
        code = self.literal()
        if not isinstance(code, str):
            raise ConditionError(_("selected() 的第二项应为带引号的选项代码"), tok.position)
        self.expect(")", _("右括号“)”"))
        return _any(name, lambda v: code in v.split())

    def test(self) -> Test:
        name = self.name()
        negate = self.keyword("not")
        if self.keyword("in"):
            self.expect("(", _("左括号“(”"))
            checks = [_equal(self.literal())]
            while self.peek().text == ",":
                self.take()
                checks.append(_equal(self.literal()))
            self.expect(")", _("右括号“)”"))
            found = _any(name, lambda v: any(c(v) for c in checks))
            return (lambda v: not found(v)) if negate else found
        if negate:
            tok = self.peek()
            raise ConditionError(_("not 之后这里应为 in") + self._found(tok), tok.position)
        tok = self.take()
        if tok.kind != "op":
            raise ConditionError(
                _("这里应为比较符号（= != > >= < <=）或 in") + self._found(tok), tok.position
            )
        literal = self.literal()
        if tok.value == "=":
            return _any(name, _equal(literal))
        if tok.value == "!=":
            same = _any(name, _equal(literal))
            return lambda v: not same(v)
        return _any(name, _ordered(tok.value, literal))
