"""Every SQL statement in the code base is parameterised: no f-string, ``%`` formatting, ``str.format`` or string
concatenation builds the text handed to ``execute`` and friends. Identifiers from code are composed with
``psycopg2.sql`` (``sql.SQL(...).format(sql.Identifier(...))``), which quotes them.

The check walks the syntax tree of every module of the shipped packages (and ``bench``): for each call of
``execute``, ``executemany``, ``execute_values``, ``copy_expert``, ``mogrify`` or Alembic's ``op.execute``, the
statement argument must be a string literal, a ``psycopg2.sql`` composition, or a name bound only to those.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("casetrack", "events", "projections", "producers", "consumers", "ops", "bench", "reports")
SQL_CALLS = {"execute", "executemany", "execute_values", "copy_expert", "mogrify", "copy_from", "copy_to"}

# Statements that build SQL text from code-only identifiers without psycopg2.sql, reported to their owners.
# Each entry is "path:function"; remove it once fixed.
KNOWN: dict[str, str] = {}


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if ".venv" not in p.parts)


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]


def _bindings(nodes: Iterable[ast.AST]) -> dict[str, list[ast.expr]]:
    """Name -> every value assigned to it (plain and annotated assignments) among ``nodes``."""
    out: dict[str, list[ast.expr]] = {}
    for node in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            out.setdefault(node.target.id, []).append(node.value)
    return out


class Unit:
    """One module: its constants and functions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = ast.parse(path.read_text(), str(path))
        self.consts = _bindings(self.tree.body)
        # Fields declared ``sql.Composed`` on a class of the module (e.g. a statement plan): reading such a
        # field yields a composition, which the type checker holds to that type.
        self.composed_fields = {
            n.target.id
            for cls in ast.walk(self.tree)
            if isinstance(cls, ast.ClassDef)
            for n in cls.body
            if isinstance(n, ast.AnnAssign)
            and isinstance(n.target, ast.Name)
            and ast.unparse(n.annotation) in ("sql.Composed", "Composed")
        }

    def functions(self) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        return [n for n in ast.walk(self.tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


class Scope:
    """Decides whether an expression inside one function is safe SQL text."""

    def __init__(self, unit: Unit, fn: ast.FunctionDef | ast.AsyncFunctionDef | None) -> None:
        self.unit = unit
        self.fn = fn
        self.locals = _bindings(_own_nodes(fn) if fn is not None else [])

    def parameter(self, node: ast.expr) -> str | None:
        """The parameter name if ``node`` is a parameter of the function (not rebound), else None."""
        if self.fn is not None and isinstance(node, ast.Name) and node.id in _params(self.fn):
            return None if node.id in self.locals else node.id
        return None

    def safe(self, node: ast.expr, depth: int = 0) -> bool:
        if depth > 4:
            return False
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # literals, or compositions, joined
            return self.safe(node.left, depth + 1) and self.safe(node.right, depth + 1)
        if isinstance(node, ast.JoinedStr):  # an f-string of constants only is a constant
            return all(
                isinstance(v, ast.Constant)
                or (isinstance(v, ast.FormattedValue) and self.constant(v.value, depth))
                for v in node.values
            )
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attr = node.func.attr
            if attr in {"SQL", "Composed", "Identifier", "Literal", "Placeholder"}:
                return True
            if attr in {"format", "join", "as_string"}:
                # sql.SQL(...).format(...) and Composed.join are compositions; str.format is not
                base = node.func.value
                return not isinstance(base, ast.Constant) and self.composition(base, depth + 1)
        if isinstance(node, ast.Name):
            values = self.locals.get(node.id) or self.unit.consts.get(node.id) or []
            return bool(values) and all(self.safe(v, depth + 1) for v in values)
        if isinstance(node, ast.Attribute):
            return node.attr in self.unit.composed_fields
        return False

    def composition(self, node: ast.expr, depth: int) -> bool:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in {"SQL", "Composed", "Identifier", "Literal", "Placeholder"}:
                return True
            if node.func.attr in {"format", "join"}:
                return self.composition(node.func.value, depth + 1)
        if isinstance(node, ast.Name) and depth < 5:
            values = self.locals.get(node.id) or self.unit.consts.get(node.id) or []
            return bool(values) and all(self.composition(v, depth + 1) for v in values)
        return False

    def constant(self, node: ast.expr, depth: int) -> bool:
        """A module or local name bound only to string literals (an f-string of such names is a constant)."""
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.Name):
            values = self.locals.get(node.id) or self.unit.consts.get(node.id) or []
            return bool(values) and all(isinstance(v, ast.Constant) or (isinstance(v, ast.JoinedStr) and
                                                                        self.safe(v, depth + 1)) for v in values)  # fmt: skip
        return False


def _own_nodes(root: ast.AST) -> list[ast.AST]:
    """The nodes of a function (or module) without those of the functions defined inside it."""
    out: list[ast.AST] = []
    stack = list(ast.iter_child_nodes(root))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def problems(units: list[Unit] | None = None) -> list[str]:
    """``path:function (line n): expression`` for every unsafe statement argument."""
    units = units if units is not None else [Unit(p) for p in _modules()]
    # A plan class may live in another module than its user (consumers/pg_copy.py's StagingPlan, read in
    # pg_store.py): a field declared ``sql.Composed`` anywhere counts everywhere.
    composed = set().union(*(u.composed_fields for u in units))
    for unit in units:
        unit.composed_fields = composed
    # sinks: call name -> positional index of the statement (helpers that take SQL as a parameter join in)
    sinks: dict[str, int] = {name: 0 for name in SQL_CALLS}
    sinks["execute_values"] = 1
    out: dict[str, str] = {}
    for _ in range(4):  # helpers of helpers
        added = False
        for unit in units:
            for fn in [None, *unit.functions()]:
                scope = Scope(unit, fn)
                for node in _own_nodes(fn if fn is not None else unit.tree):
                    if not isinstance(node, ast.Call) or _call_name(node) not in sinks:
                        continue
                    index = sinks[_call_name(node)]
                    if len(node.args) <= index:
                        continue
                    arg = node.args[index]
                    param = scope.parameter(arg)
                    if param is not None and fn is not None:
                        position = _params(fn).index(param) - (
                            1 if _params(fn)[:1] in (["self"], ["cls"]) else 0
                        )
                        if sinks.get(fn.name) != position:
                            sinks[fn.name] = position
                            added = True
                    elif not scope.safe(arg):
                        where = f"{unit.path.relative_to(ROOT)}:{fn.name if fn else '<module>'}"
                        out[f"{where} (line {node.lineno})"] = ast.unparse(arg)[:120]
        if not added:
            break
    return [f"{k}: {v}" for k, v in sorted(out.items())]


def test_every_sql_statement_is_parameterised() -> None:
    found = [p for p in problems() if p.split(" (line")[0] not in KNOWN]
    assert not found, (
        "SQL built from strings (use parameters, or psycopg2.sql for identifiers):\n" + "\n".join(found)
    )


def _probe(source: str, tmp_path: Path) -> list[str]:
    path = ROOT / "casetrack" / "_probe.py"  # a name for messages only; the tree comes from ``source``
    unit = Unit.__new__(Unit)
    unit.path, unit.tree = path, ast.parse(source)
    unit.consts = {t.id: [n.value] for n in unit.tree.body if isinstance(n, ast.Assign)
                   for t in n.targets if isinstance(t, ast.Name)}  # fmt: skip
    unit.composed_fields = set()
    return problems([unit])


@pytest.mark.parametrize(
    "snippet",
    [
        'cur.execute(f"SELECT * FROM t WHERE id = {x}")',
        'cur.execute("SELECT * FROM t WHERE id = %s" % x)',
        'cur.execute("SELECT * FROM t WHERE id = {}".format(x))',
        'cur.execute("SELECT * FROM t WHERE id = " + x)',
        'q = f"DELETE FROM {t}"\n    cur.execute(q)',
        'execute_values(cur, "INSERT INTO t VALUES " + x, rows)',
        'run(cur, f"SELECT {x}")\ndef run(cur, statement):\n    cur.execute(statement)',
    ],
)
def test_the_check_catches_string_built_sql(snippet: str, tmp_path: Path) -> None:
    assert _probe("def f(cur, x, t, rows):\n    " + snippet, tmp_path)


def test_the_check_accepts_parameters_and_compositions(tmp_path: Path) -> None:
    source = (
        "Q = 'SELECT 1 FROM t WHERE a = %s'\n"
        "COLS = 'a, b'\n"
        "def f(cur, x, sql):\n"
        "    cur.execute('SELECT * FROM t WHERE id = %s', (x,))\n"
        "    cur.execute(Q, (x,))\n"
        "    cur.execute(f'SELECT {COLS} FROM t')\n"
        "    cur.execute(sql.SQL('SELECT {} FROM t').format(sql.Identifier(x)))\n"
        "    stmt = sql.SQL('COPY {} FROM STDIN').format(sql.Identifier(x))\n"
        "    cur.copy_expert(stmt.as_string(cur), x)\n"
        "    cur.execute('SELECT 1'\n                ' FROM t')\n"
        "    run(cur, 'SELECT 2')\n"
        "def run(cur, statement):\n"
        "    cur.execute(statement)\n"
    )
    assert _probe(source, tmp_path) == []
