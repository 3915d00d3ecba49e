"""How a setting's expected type reads in an error: "an int or a float", not "a int or float"."""

from __future__ import annotations

#: TOML's names for Python's types, as a mesh.toml author writes them.
_NAMES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "dict": "table", "list": "array"}


def a_kind(*kinds: type) -> str:
    """``kinds`` as a phrase with articles: ``a_kind(int, float)`` is ``"an integer or a number"``."""
    names = [_NAMES.get(k.__name__, k.__name__) for k in kinds]
    return " or ".join(f"{'an' if n[0] in 'aeiou' else 'a'} {n}" for n in names)
