"""Compile filter trees (:mod:`labtrack.filters`) and sort keys to SQL.

The only place where JSON access differs between SQLite and PostgreSQL; both
get a typed extraction guarded by the JSON type, so ``config.lr < 0.1`` never
compares a string with a number and NaN (stored as the string "NaN") never
matches a numeric comparison, as in IEEE arithmetic.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
)

from ..errors import FilterError
from ..filters import Cmp, Field, Logic, Node, Not, parse
from . import schema

runs = schema.runs
projects = schema.projects

TIME_FIELDS = {"created_at", "updated_at", "finished_at", "heartbeat_at"}


def effective_state(now: float, heartbeat_timeout: float) -> ColumnElement[Any]:
    """``state`` with stale running runs shown as ``crashed``."""
    return case(
        (
            and_(runs.c.state == "running", runs.c.heartbeat_at < now - heartbeat_timeout),
            literal("crashed"),
        ),
        else_=runs.c.state,
    )


def duration_expr(now: float) -> ColumnElement[Any]:
    end = func.coalesce(runs.c.finished_at, case((runs.c.state == "running", now),
                                                 else_=runs.c.heartbeat_at))
    return end - runs.c.created_at


class Compiler:
    """Turns a filter tree into a WHERE clause for ``runs`` joined to ``projects``."""

    def __init__(self, dialect: str, now: float, heartbeat_timeout: float, text: str = "") -> None:
        self.dialect = dialect
        self.now = now
        self.heartbeat_timeout = heartbeat_timeout
        self.text = text

    # -- JSON access -------------------------------------------------------------
    def _json_col(self, field: Field) -> tuple[Any, tuple[str, ...]]:
        col = runs.c.config if field.root == "config" else runs.c.summary
        path = field.path[1:]
        if field.root == "summary" and len(path) > 1:
            # summaries are flat ("train/loss"); a dotted path means a dotted key
            path = (".".join(path),)
        return col, path

    def _sqlite_path(self, path: tuple[str, ...]) -> str:
        return "$" + "".join('."' + p.replace('"', '""') + '"' for p in path)

    def json_type(self, field: Field) -> ColumnElement[Any]:
        col, path = self._json_col(field)
        if self.dialect == "sqlite":
            return func.json_type(col, self._sqlite_path(path))
        return func.jsonb_typeof(col[path])

    def json_number(self, field: Field) -> ColumnElement[Any]:
        col, path = self._json_col(field)
        if self.dialect == "sqlite":
            return case(
                (self.json_type(field).in_(["integer", "real"]),
                 func.json_extract(col, self._sqlite_path(path))),
                else_=null(),
            )
        return case((self.json_type(field) == "number", col[path].as_float()), else_=null())

    def json_string(self, field: Field) -> ColumnElement[Any]:
        col, path = self._json_col(field)
        if self.dialect == "sqlite":
            return case(
                (self.json_type(field) == "text", func.json_extract(col, self._sqlite_path(path))),
                else_=null(),
            )
        return case((self.json_type(field) == "string", col[path].as_string()), else_=null())

    def json_bool(self, field: Field, value: bool) -> ColumnElement[Any]:
        if self.dialect == "sqlite":
            return self.json_type(field) == ("true" if value else "false")
        col, path = self._json_col(field)
        return and_(self.json_type(field) == "boolean", col[path].as_string() == str(value).lower())

    def json_contains(self, field: Field, value: Any) -> ColumnElement[Any]:
        col, path = self._json_col(field)
        if self.dialect == "sqlite":
            each = func.json_each(col, self._sqlite_path(path)).table_valued("value")
            return exists(select(literal(1)).select_from(each).where(each.c.value == value))
        from sqlalchemy.dialects.postgresql import JSONB  # PostgreSQL only: loaded here

        return col[path].op("@>")(literal([value], JSONB()))

    # -- plain columns -----------------------------------------------------------
    def column(self, field: Field) -> ColumnElement[Any]:
        name = field.root
        if name == "state":
            return effective_state(self.now, self.heartbeat_timeout)
        if name == "duration":
            return duration_expr(self.now)
        if name == "project":
            return projects.c.name
        if name in ("sweep", "sweep_id"):
            return runs.c.sweep_id
        if name == "group":
            return runs.c.group_name
        return runs.c[name]

    # -- compile -----------------------------------------------------------------
    def compile(self, node: Node) -> ColumnElement[Any]:
        if isinstance(node, Logic):
            parts = [self.compile(item) for item in node.items]
            return and_(*parts) if node.op == "and" else or_(*parts)
        if isinstance(node, Not):
            inner = self.compile(node.item)
            return not_(func.coalesce(inner, false()))
        return self.compare(node)

    def fail(self, message: str, pos: int) -> FilterError:
        return FilterError(message, self.text, pos)

    def compare(self, node: Cmp) -> ColumnElement[Any]:
        op, left, right = node.op, node.left, node.right
        if op in ("in", "not in"):
            clause = self.membership(left, right, node.pos)
            return not_(func.coalesce(clause, false())) if op == "not in" else clause
        if not isinstance(left, Field):  # 0.1 > config.lr  ->  config.lr < 0.1
            left, right = right, left
            op = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
        if isinstance(right, Field):
            raise self.fail("compare a field with a value, not with another field", node.pos)
        if left.root in ("config", "summary"):
            return self.compare_json(left, op, right, node.pos)
        return self.compare_column(left, op, right, node.pos)

    def compare_json(self, field: Field, op: str, value: Any, pos: int) -> ColumnElement[Any]:
        clause: ColumnElement[Any]
        if op in ("~", "!~"):
            if not isinstance(value, str):
                raise self.fail("'~' matches a text pattern such as \"resnet*\"", pos)
            clause = self.json_string(field).ilike(glob_to_like(value), escape="\\")
            return not_(func.coalesce(clause, false())) if op == "!~" else clause
        if value is None:
            if op not in ("==", "!="):
                raise self.fail("null can only be compared with == or !=", pos)
            is_null = or_(self.json_type(field).is_(None), self.json_type(field) == "null")
            return is_null if op == "==" else not_(is_null)
        if isinstance(value, bool):
            if op not in ("==", "!="):
                raise self.fail("true/false can only be compared with == or !=", pos)
            clause = self.json_bool(field, value)
            return clause if op == "==" else not_(clause)
        if isinstance(value, (int, float)):
            expr = self.json_number(field)
        else:
            expr = self.json_string(field)
        clause = _apply_op(expr, op, value)
        return func.coalesce(clause, false()) if op == "!=" else clause

    def compare_column(self, field: Field, op: str, value: Any, pos: int) -> ColumnElement[Any]:
        name = field.root
        if name == "tags":
            raise self.fail('use "name" in tags to test tags', pos)
        col = self.column(field)
        clause: ColumnElement[Any]
        if name in TIME_FIELDS and isinstance(value, str):
            value = parse_time(value, self, pos)
        if op in ("~", "!~"):
            if not isinstance(value, str):
                raise self.fail("'~' matches a text pattern such as \"resnet*\"", pos)
            clause = col.ilike(glob_to_like(value), escape="\\")
            return not_(func.coalesce(clause, false())) if op == "!~" else clause
        if value is None:
            if op not in ("==", "!="):
                raise self.fail("null can only be compared with == or !=", pos)
            return col.is_(None) if op == "==" else col.is_not(None)
        clause = _apply_op(col, op, value)
        return func.coalesce(clause, false()) if op == "!=" else clause

    def membership(self, left: Any, right: Any, pos: int) -> ColumnElement[Any]:
        if isinstance(right, Field):  # "x" in tags / 64 in config.layers
            if isinstance(left, Field):
                raise self.fail("'in' needs a value on the left of a field", pos)
            if right.root == "tags":
                if not isinstance(left, str):
                    raise self.fail("tags are text; quote the tag", pos)
                return runs.c.tags_text.like("%|" + _escape_like(left) + "|%", escape="\\")
            if right.root in ("config", "summary"):
                return self.json_contains(right, left)
            raise self.fail(f"'in' over '{right.root}' is not supported; use ==", pos)
        if not isinstance(left, Field):
            raise self.fail("'in [...]' needs a field on the left", pos)
        if not isinstance(right, list):
            raise self.fail("'in' needs a list such as [\"a\", \"b\"] or a field", pos)
        if not right:
            return false()
        return or_(*[self.compare(Cmp("==", left, v, pos)) for v in right])


def _apply_op(expr: Any, op: str, value: Any) -> ColumnElement[Any]:
    if op == "==":
        return expr == value
    if op == "!=":
        return expr != value
    if op == "<":
        return expr < value
    if op == "<=":
        return expr <= value
    if op == ">":
        return expr > value
    return expr >= value


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def glob_to_like(pattern: str) -> str:
    """``resnet*`` -> ``resnet%``; ``?`` is one character; no wildcard means 'contains'."""
    if "*" not in pattern and "?" not in pattern:
        return "%" + _escape_like(pattern) + "%"
    out = []
    for ch in pattern:
        if ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        else:
            out.append(_escape_like(ch))
    return "".join(out)


def parse_time(value: str, compiler: Compiler, pos: int) -> float:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise compiler.fail(f"'{value}' is not a date such as \"2026-11-01\"", pos) from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()
    return parsed.timestamp()


def compile_filter(
    text: str | None, dialect: str, now: float, heartbeat_timeout: float
) -> ColumnElement[Any]:
    """Parse and compile ``text``; an empty filter matches every run."""
    if text is None or not str(text).strip():
        return true()
    return Compiler(dialect, now, heartbeat_timeout, text).compile(parse(text))


_SORT = re.compile(r"^\s*([+-]?)\s*(.+?)\s*$")


def order_by(
    spec: str | None, dialect: str, now: float, heartbeat_timeout: float
) -> list[Any]:
    """Sort clauses for ``spec`` such as ``-summary.acc,name`` (``-`` = descending).

    Runs missing the key sort last either way.
    """
    if not spec:
        return [runs.c.created_at.desc(), runs.c.id]
    clauses: list[Any] = []
    compiler = Compiler(dialect, now, heartbeat_timeout, spec)
    for part in spec.split(","):
        m = _SORT.match(part)
        if not m or not m.group(2):
            raise FilterError("empty sort key", spec, 0)
        desc = m.group(1) == "-"
        tree = parse(f"{m.group(2)} == null")
        assert isinstance(tree, Cmp) and isinstance(tree.left, Field)
        field = tree.left
        if field.root in ("config", "summary"):
            exprs: list[ColumnElement[Any]] = [compiler.json_number(field),
                                               compiler.json_string(field)]
        elif field.root == "tags":
            exprs = [runs.c.tags_text]
        else:
            exprs = [compiler.column(field)]
        for expr in exprs:
            clauses.append(expr.desc().nulls_last() if desc else expr.asc().nulls_last())
    clauses.append(runs.c.id)
    return clauses


__all__ = ["compile_filter", "effective_state", "glob_to_like", "order_by"]
