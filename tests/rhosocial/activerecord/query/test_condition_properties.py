"""Random condition trees select the same rows on every backend as a Python reference filter.

Hypothesis draws trees of comparisons, ``&``/``|``/``~``, ``in_``/``not_in``,
``between``, null checks, string matching and functions of the portable
library. Each tree exists twice: as a query expression (``PropRow.c.n > 2``)
and as a Python evaluator of SQL's three-valued logic (``None`` is UNKNOWN; a
row is selected only when its condition is TRUE). The rows are a fixed,
seeded data set inserted once per backend; the trees are random.

What is left out, and why:

- ordering (``<``, ``>``, ``between``) of strings, and ``greatest``/``least``
  of strings: PostgreSQL orders text by the database's collation, which need
  not be byte order. Strings are compared with ``==``/``!=``/``in_`` and matched;
  ordering is tested on integers.
- ``like``: its case sensitivity follows the database (documented), so it is
  drawn only with patterns that hold no letters; ``ilike`` takes any pattern.
- letters outside ASCII: SQLite's ``LOWER``/``UPPER`` (and so ``ilike`` there)
  fold the case of ASCII only (docs/backends/index.md).
- backslashes: in a ``like``/``ilike`` pattern ``\\`` escapes the next character
  on PostgreSQL and MariaDB (their default LIKE escape) and is a plain
  character on SQLite, so ``ilike("a\\b")`` matches ``a\\b`` on SQLite and
  ``ab`` on the others (a disagreement reported, not tested here).
- spaces (PAD SPACE collations elsewhere than these test databases).
- ``/``: integer division is exact on MySQL, truncating elsewhere.

Equality of strings is exact on every backend here: MySQL/MariaDB tables get
a binary collation (see docs/backends/index.md).
"""
from __future__ import annotations

import functools
import operator
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rhosocial.activerecord import ActiveRecord, Field, configure, func

#: Examples per backend: enough to cover every branch many times, small enough for CI.
EXAMPLES = 300

#: The characters of every string, in the data and in the constants: both cases of two letters,
#: LIKE's wildcards, the ``!`` that contains()/startswith()/endswith() escape them with, SQLite
#: GLOB's ``*``/``[`` and a digit.
ALPHABET = "aAbB_%!*[1"
NO_LETTERS = "_%!*[1"


class PropRow(ActiveRecord):
    __tablename__ = "prop_rows"

    n: int | None = None
    m: int | None = None
    s: str | None = Field(None, max_length=20)
    b: bool | None = None


def _rows() -> list[dict[str, Any]]:
    """A fixed data set: NULLs in every column, values repeated across rows, tricky strings."""
    rng = random.Random(20240611)

    def maybe(value: Any, null: float = 0.2) -> Any:
        return None if rng.random() < null else value

    def text() -> str:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 4)))

    rows: list[dict[str, Any]] = [
        {"n": None, "m": None, "s": None, "b": None},
        {"n": 0, "m": 0, "s": "", "b": False},
        {"n": 1, "m": -1, "s": "a", "b": True},
        {"n": -2, "m": 2, "s": "A", "b": False},
        {"n": 3, "m": 3, "s": "aB_%", "b": True},
        {"n": 2, "m": None, "s": "ab!", "b": None},
        {"n": None, "m": 1, "s": "%", "b": True},
        {"n": -1, "m": 0, "s": "_", "b": False},
        {"n": 0, "m": None, "s": "!a", "b": True},
        {"n": 1, "m": 1, "s": "[a*", "b": None},
    ]
    for _ in range(26):
        rows.append({"n": maybe(rng.randint(-3, 3)), "m": maybe(rng.randint(-3, 3)),
                     "s": maybe(text()), "b": maybe(rng.random() < 0.5)})
    return rows


ROWS = _rows()


@pytest.fixture
def data(backend):
    """Create ``prop_rows`` holding :data:`ROWS`; return the rows as read back, with their ids."""
    configure(backend)
    PropRow.create_table()
    PropRow.insert_many(ROWS)
    stored = Rows(PropRow.query().order_by("id").dicts())
    assert [{k: r[k] for k in ("n", "m", "s", "b")} for r in stored] == ROWS  # values round-trip
    return stored


class Rows(list):
    """The stored rows, shown briefly in Hypothesis' report of a failing example."""

    def __repr__(self) -> str:
        return f"<{len(self)} rows of prop_rows>"


# -- three-valued logic ------------------------------------------------------------------------

def _and(values: list[bool | None]) -> bool | None:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _or(values: list[bool | None]) -> bool | None:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _not(value: bool | None) -> bool | None:
    return None if value is None else not value


def _like(value: str, pattern: str) -> bool:
    """SQL LIKE without an escape character: ``%`` any run of characters, ``_`` one."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


# -- the tree: each node is both a query expression and a Python evaluator ----------------------

class Node:
    """A condition or a term: ``expr()`` builds it with the public API, ``py(row)`` evaluates it."""

    def expr(self) -> Any:
        raise NotImplementedError

    def py(self, row: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # Hypothesis reports a tree as the Python that builds it


@dataclass(frozen=True)
class Col(Node):
    name: str

    def expr(self) -> Any:
        return getattr(PropRow.c, self.name)

    def py(self, row: dict[str, Any]) -> Any:
        return row[self.name]

    def __repr__(self) -> str:
        return f"c.{self.name}"


@dataclass(frozen=True)
class Const(Node):
    value: Any

    def expr(self) -> Any:
        return self.value

    def py(self, row: dict[str, Any]) -> Any:
        return self.value

    def __repr__(self) -> str:
        return repr(self.value)


def _concat(*args: str | None) -> str:
    return "".join(a for a in args if a is not None)


def _non_null(fn: Callable[..., Any]) -> Callable[..., Any]:
    return lambda *args: None if any(a is None for a in args) else fn(*args)


def _ignoring_nulls(fn: Callable[..., Any]) -> Callable[..., Any]:
    def apply(*args: Any) -> Any:
        present = [a for a in args if a is not None]
        return fn(present) if present else None
    return apply


def _nullif(a: Any, b: Any) -> Any:
    return None if a is not None and b is not None and a == b else a


#: Python meanings of the portable functions drawn (docs: concat counts NULL as '',
#: greatest/least ignore NULLs).
PY_FUNCS: dict[str, Callable[..., Any]] = {
    "lower": _non_null(str.lower), "upper": _non_null(str.upper), "length": _non_null(len),
    "abs": _non_null(abs), "coalesce": lambda *a: next((v for v in a if v is not None), None),
    "concat": _concat, "greatest": _ignoring_nulls(max), "least": _ignoring_nulls(min),
    "nullif": _nullif,
}


@dataclass(frozen=True)
class Fn(Node):
    name: str
    args: tuple[Node, ...]

    def expr(self) -> Any:
        return getattr(func, self.name)(*(a.expr() for a in self.args))

    def py(self, row: dict[str, Any]) -> Any:
        return PY_FUNCS[self.name](*(a.py(row) for a in self.args))

    def __repr__(self) -> str:
        return f"func.{self.name}({', '.join(map(repr, self.args))})"


@dataclass(frozen=True)
class Arith(Node):
    op: str
    left: Node
    right: Node

    def expr(self) -> Any:
        return ARITH[self.op](self.left.expr(), self.right.expr())

    def py(self, row: dict[str, Any]) -> Any:
        a, b = self.left.py(row), self.right.py(row)
        return None if a is None or b is None else ARITH[self.op](a, b)

    def __repr__(self) -> str:
        return f"({self.left!r} {self.op} {self.right!r})"


ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul,
}
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}


@dataclass(frozen=True)
class Cmp(Node):
    op: str
    left: Node
    right: Node

    def expr(self) -> Any:
        return OPS[self.op](self.left.expr(), self.right.expr())

    def py(self, row: dict[str, Any]) -> bool | None:
        a, b = self.left.py(row), self.right.py(row)
        if isinstance(self.right, Const) and b is None and self.op in ("==", "!="):
            return (a is None) == (self.op == "==")  # == None is IS NULL, != None IS NOT NULL
        if a is None or b is None:
            return None
        return OPS[self.op](a, b)

    def __repr__(self) -> str:
        return f"({self.left!r} {self.op} {self.right!r})"


@dataclass(frozen=True)
class InList(Node):
    operand: Node
    values: tuple[Any, ...]
    negated: bool

    def expr(self) -> Any:
        e = self.operand.expr()
        return e.not_in(list(self.values)) if self.negated else e.in_(list(self.values))

    def py(self, row: dict[str, Any]) -> bool | None:
        if not self.values:  # the compiler: an empty list matches nothing (NOT IN: everything)
            return self.negated
        x = self.operand.py(row)
        if x is None:
            found: bool | None = None
        elif any(v is not None and v == x for v in self.values):
            found = True
        else:
            found = None if any(v is None for v in self.values) else False
        return _not(found) if self.negated else found

    def __repr__(self) -> str:
        return f"{self.operand!r}.{'not_in' if self.negated else 'in_'}({list(self.values)!r})"


@dataclass(frozen=True)
class Between(Node):
    operand: Node
    low: Any
    high: Any

    def expr(self) -> Any:
        return self.operand.expr().between(self.low, self.high)

    def py(self, row: dict[str, Any]) -> bool | None:
        x = self.operand.py(row)
        lo = None if x is None or self.low is None else self.low <= x
        hi = None if x is None or self.high is None else x <= self.high
        return _and([lo, hi])

    def __repr__(self) -> str:
        return f"{self.operand!r}.between({self.low!r}, {self.high!r})"


@dataclass(frozen=True)
class NullCheck(Node):
    operand: Node
    negated: bool

    def expr(self) -> Any:
        e = self.operand.expr()
        return e.is_not_null() if self.negated else e.is_null()

    def py(self, row: dict[str, Any]) -> bool:
        return (self.operand.py(row) is None) != self.negated

    def __repr__(self) -> str:
        return f"{self.operand!r}.{'is_not_null' if self.negated else 'is_null'}()"


def _match(method: str, value: str, text: str) -> bool:
    if method in ("icontains", "istartswith", "iendswith", "ilike"):
        value, text, method = value.lower(), text.lower(), method[1:]
    if method == "contains":
        return text in value
    if method == "startswith":
        return value.startswith(text)
    if method == "endswith":
        return value.endswith(text)
    if method == "like":
        return _like(value, text)
    assert method == "not_like", method
    return not _like(value, text)


@dataclass(frozen=True)
class Match(Node):
    operand: Node
    method: str
    text: str

    def expr(self) -> Any:
        return getattr(self.operand.expr(), self.method)(self.text)

    def py(self, row: dict[str, Any]) -> bool | None:
        value = self.operand.py(row)
        return None if value is None else _match(self.method, value, self.text)

    def __repr__(self) -> str:
        return f"{self.operand!r}.{self.method}({self.text!r})"


@dataclass(frozen=True)
class Logic(Node):
    op: str  # "&" or "|"
    items: tuple[Node, ...]

    def expr(self) -> Any:
        result = self.items[0].expr()
        for item in self.items[1:]:
            result = (result & item.expr()) if self.op == "&" else (result | item.expr())
        return result

    def py(self, row: dict[str, Any]) -> bool | None:
        values = [i.py(row) for i in self.items]
        return _and(values) if self.op == "&" else _or(values)

    def __repr__(self) -> str:
        return "(" + f" {self.op} ".join(map(repr, self.items)) + ")"


@dataclass(frozen=True)
class Negation(Node):
    operand: Node

    def expr(self) -> Any:
        return ~self.operand.expr()

    def py(self, row: dict[str, Any]) -> bool | None:
        return _not(self.operand.py(row))

    def __repr__(self) -> str:
        return f"~{self.operand!r}"


# -- strategies --------------------------------------------------------------------------------

ints = st.integers(-4, 4)
texts = st.text(ALPHABET, max_size=3)
int_cols = st.sampled_from([Col("n"), Col("m")])
str_col = st.just(Col("s"))
bool_col = st.just(Col("b"))
#: IN lists. An empty one is drawn too: see the explicit examples of the test (a compiler bug).
int_lists = st.lists(st.one_of(ints, st.just(None)), max_size=4).map(tuple)
text_lists = st.lists(st.one_of(texts, st.just(None)), max_size=4).map(tuple)


def _fn(name: str, *args: Node) -> Fn:
    return Fn(name, args)


@functools.cache
def int_terms(depth: int = 2) -> st.SearchStrategy[Node]:
    """Integer-valued terms: columns, functions and arithmetic of terms and constants (nested)."""
    if depth == 0:
        return int_cols
    inner, text = int_terms(depth - 1), str_terms(depth - 1)
    arg = st.one_of(inner, ints.map(Const))
    return st.one_of(
        int_cols,
        st.builds(_fn, st.just("abs"), inner),
        st.builds(_fn, st.just("length"), text),
        st.builds(_fn, st.sampled_from(["coalesce", "greatest", "least", "nullif"]), inner, arg),
        st.builds(_fn, st.sampled_from(["coalesce", "greatest", "least"]), inner, arg, arg),
        st.builds(Arith, st.sampled_from(["+", "-", "*"]), inner, arg),
    )


@functools.cache
def str_terms(depth: int = 2) -> st.SearchStrategy[Node]:
    """String-valued terms: the column and functions of terms and constants (nested)."""
    if depth == 0:
        return str_col
    inner = str_terms(depth - 1)
    arg = st.one_of(inner, texts.map(Const))
    return st.one_of(
        str_col,
        st.builds(_fn, st.sampled_from(["lower", "upper"]), inner),
        st.builds(_fn, st.sampled_from(["coalesce", "nullif", "concat"]), inner, arg),
        st.builds(_fn, st.sampled_from(["coalesce", "concat"]), inner, arg, arg),
        st.builds(_fn, st.just("concat"), texts.map(Const), inner),
    )


def _int_leaves() -> st.SearchStrategy[Node]:
    ops = st.sampled_from(list(OPS))
    maybe_ints = st.one_of(ints, st.just(None))
    return st.one_of(
        st.builds(Cmp, ops, int_terms(), ints.map(Const)),
        st.builds(Cmp, ops, int_terms(), int_terms()),  # column against column
        st.builds(Cmp, st.sampled_from(["==", "!=", "<", ">"]), int_terms(), st.just(Const(None))),
        st.builds(InList, int_terms(), int_lists, st.booleans()),  # empty lists: a bug, see below
        st.builds(Between, int_terms(), maybe_ints, maybe_ints),
        st.builds(NullCheck, int_terms(), st.booleans()),
    )


def _str_leaves() -> st.SearchStrategy[Node]:
    eq = st.sampled_from(["==", "!="])  # no ordering of strings: collations differ
    return st.one_of(
        st.builds(Cmp, eq, str_terms(), st.one_of(texts.map(Const), st.just(Const(None)))),
        st.builds(Cmp, eq, str_terms(), str_terms()),
        st.builds(InList, str_terms(), text_lists, st.booleans()),  # empty lists: a bug, see below
        st.builds(NullCheck, str_terms(), st.booleans()),
        st.builds(Match, str_terms(),
                  st.sampled_from(["contains", "startswith", "endswith", "icontains", "istartswith",
                                   "iendswith", "ilike"]), texts),
        st.builds(Match, str_terms(), st.sampled_from(["like", "not_like"]),
                  st.text(NO_LETTERS, max_size=3)),
    )


def _bool_leaves() -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(Cmp, st.sampled_from(["==", "!="]), bool_col,
                  st.sampled_from([True, False, None]).map(Const)),
        st.builds(InList, bool_col, st.lists(st.booleans(), min_size=1, max_size=2).map(tuple),
                  st.booleans()),
        st.builds(NullCheck, bool_col, st.booleans()),
    )


leaves = st.one_of(_int_leaves(), _str_leaves(), _bool_leaves())

conditions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(Logic, st.sampled_from(["&", "|"]),
                  st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(Negation, inner),
    ),
    max_leaves=8,
)


# -- the property ------------------------------------------------------------------------------

@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # the rows: once per backend
@given(tree=conditions)
# An empty IN list whose operand binds a parameter: the operand's value stays bound though its SQL
# ("1 = 0" / "1 = 1") is dropped, so the statement has more parameters than placeholders
# (SQLCompiler.visit_in compiles the operand before the empty-list check). Found by this test;
# random trees seldom hit it (the operand must bind a value), so these examples pin it.
@example(tree=InList(Fn("coalesce", (Col("s"), Const(""))), (), True))
@example(tree=Logic("|", (InList(Arith("+", Col("n"), Const(1)), (), False),
                          Cmp("==", Col("n"), Const(3)))))
def test_conditions_select_what_three_valued_logic_selects(data, tree):
    expected = {row["id"] for row in data if tree.py(row) is True}
    query = PropRow.query().where(tree.expr())
    found = query.pluck("id")
    assert len(found) == len(set(found))
    assert set(found) == expected, (
        f"{tree!r}\nSQL: {query.to_sql()}\n"
        f"only in the database: {sorted(set(found) - expected)}\n"
        f"only in the reference: {sorted(expected - set(found))}\n"
        f"rows: {[r for r in data if r['id'] in set(found) ^ expected]}"
    )
