"""Tokenizer and recursive-descent parser of the filter language.

Grammar::

    expr     := and_expr ("or" and_expr)*
    and_expr := unary ("and" unary)*
    unary    := "not" unary | "(" expr ")" | test
    test     := operand OP operand
              | operand ["not"] "in" (list | field)
    OP       := "==" | "=" | "!=" | "<" | "<=" | ">" | ">=" | "~" | "!~"
    operand  := field | literal
    field    := NAME ("." NAME | "." STRING | "[" STRING "]")*
    literal  := NUMBER | STRING | "true" | "false" | "null"
    list     := "[" [literal ("," literal)*] "]"

Names may hold letters, digits, ``_``, ``/`` and ``-`` (not first), so
``summary.train/loss`` works; quote anything else: ``config."my key"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import FilterError

TOP_FIELDS = {
    "id", "name", "state", "tags", "group", "job_type", "notes", "created_at", "updated_at",
    "finished_at", "heartbeat_at", "duration", "project", "sweep", "sweep_id", "favorite", "host",
    "exit_code", "step", "owner", "reproduced_from",
}
NESTED_ROOTS = {"config", "summary"}
COMPARE_OPS = {"==", "!=", "<", "<=", ">", ">=", "~", "!~"}


@dataclass(frozen=True)
class Field:
    """A run attribute: ``("state",)`` or ``("config", "optimizer", "name")``."""

    path: tuple[str, ...]
    pos: int = 0

    @property
    def root(self) -> str:
        return self.path[0]


@dataclass(frozen=True)
class Cmp:
    """``left op right``; op is one of COMPARE_OPS, ``in`` or ``not in``."""

    op: str
    left: Any  # Field or literal
    right: Any  # Field, literal or list of literals
    pos: int = 0


@dataclass(frozen=True)
class Logic:
    op: str  # "and" | "or"
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Cmp | Logic | Not

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_]))
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>==|!=|<=|>=|!~|[<>=~])
  | (?P<punct>[()\[\],.])
  | (?P<name>[A-Za-z_][A-Za-z0-9_/\-]*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null", "none"}


@dataclass
class _Tok:
    kind: str
    value: Any
    pos: int


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            if text[pos] in "\"'":
                raise FilterError("unterminated string", text, pos)
            raise FilterError(f"unexpected character {text[pos]!r}", text, pos)
        kind = m.lastgroup or ""
        raw = m.group()
        if kind == "num":
            value: Any = float(raw) if any(c in raw for c in ".eE") else int(raw)
            toks.append(_Tok("lit", value, pos))
        elif kind == "str":
            toks.append(_Tok("str", _unquote(raw), pos))
        elif kind == "name":
            low = raw.lower()
            if low in ("true", "false"):
                toks.append(_Tok("lit", low == "true", pos))
            elif low in ("null", "none"):
                toks.append(_Tok("lit", None, pos))
            elif low in _KEYWORDS:
                toks.append(_Tok("kw", low, pos))
            else:
                toks.append(_Tok("name", raw, pos))
        elif kind in ("op", "punct"):
            toks.append(_Tok(kind, "==" if raw == "=" else raw, pos))
        pos = m.end()
    toks.append(_Tok("end", None, len(text)))
    return toks


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: _Tok | None = None) -> FilterError:
        tok = tok or self.peek()
        return FilterError(message, self.text, tok.pos)

    def accept(self, kind: str, value: Any = None) -> _Tok | None:
        tok = self.peek()
        if tok.kind == kind and (value is None or tok.value == value):
            self.i += 1
            return tok
        return None

    def expect(self, kind: str, value: Any, what: str) -> _Tok:
        tok = self.accept(kind, value)
        if tok is None:
            raise self.error(f"expected {what}, found {self.describe(self.peek())}")
        return tok

    @staticmethod
    def describe(tok: _Tok) -> str:
        if tok.kind == "end":
            return "end of expression"
        if tok.kind == "str":
            return f'"{tok.value}"'
        return repr(tok.value) if tok.kind == "lit" else f"'{tok.value}'"

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("empty filter expression")
        node = self.expr()
        if self.peek().kind != "end":
            raise self.error(
                f"unexpected {self.describe(self.peek())}; join conditions with 'and' or 'or'"
            )
        return node

    def expr(self) -> Node:
        items = [self.and_expr()]
        while self.accept("kw", "or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Logic("or", tuple(items))

    def and_expr(self) -> Node:
        items = [self.unary()]
        while self.accept("kw", "and"):
            items.append(self.unary())
        return items[0] if len(items) == 1 else Logic("and", tuple(items))

    def unary(self) -> Node:
        if self.accept("kw", "not"):
            return Not(self.unary())
        if self.accept("punct", "("):
            node = self.expr()
            self.expect("punct", ")", "')'")
            return node
        return self.test()

    def test(self) -> Cmp:
        start = self.peek()
        left = self.operand()
        tok = self.peek()
        if tok.kind == "op":
            self.take()
            right: Any = self.operand()
            if not isinstance(left, Field) and not isinstance(right, Field):
                raise self.error("a comparison needs a field such as config.lr or state", start)
            return Cmp(tok.value, left, right, start.pos)
        negate = False
        if tok.kind == "kw" and tok.value == "not":
            self.take()
            negate = True
            tok = self.peek()
        if tok.kind == "kw" and tok.value == "in":
            self.take()
            if self.peek().kind == "punct" and self.peek().value == "[":
                right = self.literal_list()
            else:
                right = self.operand()
            if not isinstance(left, Field) and not isinstance(right, Field):
                raise self.error("'in' needs a field on one side", start)
            return Cmp("not in" if negate else "in", left, right, start.pos)
        raise self.error(
            f"expected a comparison operator (==, !=, <, <=, >, >=, ~, in) after the operand, "
            f"found {self.describe(tok)}"
        )

    def operand(self) -> Any:
        tok = self.peek()
        if tok.kind == "name":
            return self.field()
        if tok.kind in ("lit", "str"):
            self.take()
            return tok.value
        raise self.error(f"expected a field or a value, found {self.describe(tok)}")

    def literal_list(self) -> list[Any]:
        self.expect("punct", "[", "'['")
        values: list[Any] = []
        if self.accept("punct", "]"):
            return values
        while True:
            tok = self.take()
            if tok.kind not in ("lit", "str"):
                raise self.error(f"expected a value in the list, found {self.describe(tok)}", tok)
            values.append(tok.value)
            if self.accept("punct", "]"):
                return values
            self.expect("punct", ",", "',' or ']'")

    def field(self) -> Field:
        tok = self.take()
        path = [tok.value]
        while True:
            if self.accept("punct", "."):
                part = self.take()
                if part.kind not in ("name", "str", "lit") or part.value is None:
                    raise self.error("expected a key after '.'", part)
                path.append(str(part.value) if part.kind != "lit" else _num_key(part.value))
            elif self.peek().kind == "punct" and self.peek().value == "[" and \
                    self.toks[self.i + 1].kind == "str":
                self.take()
                path.append(self.take().value)
                self.expect("punct", "]", "']'")
            else:
                break
        root = path[0]
        if root in NESTED_ROOTS:
            if len(path) == 1:
                raise self.error(f"name a key of {root}, e.g. {root}.lr", tok)
        elif root not in TOP_FIELDS:
            known = ", ".join(sorted(TOP_FIELDS | {"config.<key>", "summary.<key>"}))
            raise self.error(f"unknown field '{root}'; known fields: {known}", tok)
        elif len(path) > 1:
            raise self.error(f"'{root}' has no sub-keys", tok)
        return Field(tuple(path), tok.pos)


def _num_key(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def parse(text: str) -> Node:
    """Parse a filter expression; raises FilterError with the position on bad input."""
    if not isinstance(text, str):
        raise FilterError(f"a filter must be a string, not {type(text).__name__}")
    return _Parser(text).parse()
