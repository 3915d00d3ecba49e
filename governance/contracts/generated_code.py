"""The check that a generated contract module only declares: before ``mesh contract import`` runs
the module it wrote (to see that pandera accepts the class), :func:`declarations_only` proves
that it holds nothing but the three imports, the model classes and literal values.

The module is built from a document someone else wrote. Its texts are escaped where they are
written (:mod:`governance.contracts.odcs_import`); this check is the second wall, so that a
mistake in the escaping is refused, not run.
"""

from __future__ import annotations

import ast
from types import CodeType

from governance.contracts.odcs_types import OdcsError

#: The imports the module begins with, as ``(module, alias)``.
_IMPORTS = frozenset({("datetime", "dt"), ("pandera.polars", "pa"), ("polars", "pl")})
#: The calls a declaration may make: a Field, a bound's date or time, a sized type, a non-finite float.
_CALLS = frozenset({"pa.Field", "dt.date", "dt.datetime.fromisoformat", "dt.time.fromisoformat", "pl.Datetime",
                    "pl.Decimal", "float"})
#: Names read anywhere: the three modules, the builtin types of annotations and ``float(...)``.
_NAMES = frozenset({"dt", "pa", "pl", "int", "float", "str", "bool"})
#: Syntax a declaration is made of; anything else (a function, a loop, an f-string, a lambda,
#: a subscript, an operator but a sign) is refused.
_NODES = (ast.Module, ast.Expr, ast.Import, ast.alias, ast.ClassDef, ast.AnnAssign, ast.Assign, ast.Constant,
          ast.List, ast.Tuple, ast.Dict, ast.Name, ast.Attribute, ast.Call, ast.keyword, ast.Load, ast.Store,
          ast.UnaryOp, ast.USub, ast.UAdd)


class GeneratedCodeError(OdcsError):
    """A generated module holds more than declarations (a bug in the generator, never run)."""


def declarations_only(source: str, *, where: str) -> CodeType:
    """``source`` compiled, once it is proved to hold only declarations; else a
    :class:`GeneratedCodeError` naming ``where`` (the document it was made from)."""
    try:
        tree = ast.parse(source, filename=where)
    except (SyntaxError, ValueError) as exc:
        raise _refused(where, f"it does not parse ({exc})") from None
    for node in ast.walk(tree):
        _check(node, where)
    return compile(tree, where, "exec")


def _check(node: ast.AST, where: str) -> None:
    if not isinstance(node, _NODES):
        raise _refused(where, f"it holds {type(node).__name__} syntax at line {getattr(node, 'lineno', '?')}")
    if isinstance(node, ast.Import) and any((a.name, a.asname) not in _IMPORTS for a in node.names):
        raise _refused(where, f"it imports {', '.join(a.name for a in node.names)}")
    if isinstance(node, ast.Call) and _dotted(node.func) not in _CALLS:
        raise _refused(where, f"it calls {_dotted(node.func) or 'an expression'} at line {node.lineno}")
    if isinstance(node, ast.Name) and node.id not in _NAMES and not isinstance(node.ctx, ast.Store):
        raise _refused(where, f"it reads the name {node.id!r} at line {node.lineno}")
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        raise _refused(where, f"it reads the attribute {node.attr!r} at line {node.lineno}")
    if isinstance(node, ast.Constant) and not isinstance(node.value, str | int | float | bool | type(None)):
        raise _refused(where, f"it holds a constant of type {type(node.value).__name__} at line {node.lineno}")


def _dotted(node: ast.expr) -> str:
    """``a.b.c`` of a name or attribute chain; ``""`` for any other expression."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and (base := _dotted(node.value)):
        return f"{base}.{node.attr}"
    return ""


def _refused(where: str, what: str) -> GeneratedCodeError:
    return GeneratedCodeError(f"the contract module made from it is not only declarations: {what}; nothing was run",
                              where=where, fix="report this document with the mesh's version: the generator "
                                               "must escape what the document says")
