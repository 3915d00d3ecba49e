"""Asset selection strings, in Dagster's syntax where it fits.

Atoms:

- ``*`` every asset; ``sales.orders`` one key; ``sales.*`` or ``*.orders`` a glob;
- ``tag:tier=gold`` (or ``tag:tier``), ``owner:sales-data@acme.example``, ``domain:sales``,
  ``key:sales.orders``;
- ``+ATOM`` adds every upstream asset, ``2+ATOM`` two levels of it; ``ATOM+`` and ``ATOM+2``
  do the same downstream.

Combine them with ``or`` (also a comma or plain whitespace), ``and``, ``not`` and parentheses:
``domain:sales and not tag:tier=bronze``, ``+finance.revenue marketing.*``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable

from assets.errors import SelectionError, did_you_mean
from assets.graph import AssetGraph

_TOKEN = re.compile(r"\s*(\(|\)|,|[^\s(),]+)")
_ATOM = re.compile(r"^(?:([0-9]*)\+)?(.+?)(?:\+([0-9]*))?\Z")
_KEYWORDS = {"and", "or", "not"}
_GLOB = re.compile(r"[*?\[]")
#: How deep parentheses and ``not`` may nest; far more than a person writes, far less than the stack.
MAX_DEPTH = 50


def select(graph: AssetGraph, selection: str) -> list[str]:
    """The keys ``selection`` names, in topological order. Refuses an empty result."""
    tokens = _TOKEN.findall(selection.strip())
    if not tokens:
        raise SelectionError("the selection is empty", where="selection",
                             fix="write '*' for every asset, or a key such as 'sales.orders'")
    parser = _Parser(graph, tokens, selection)
    keys = parser.expr()
    if parser.pos != len(tokens):
        raise SelectionError(f"unexpected '{tokens[parser.pos]}' in '{parser.text}'", where="selection",
                             fix="check the parentheses and the and/or/not keywords")
    if not keys:
        raise SelectionError(f"'{parser.text}' selects no asset", where="selection",
                             fix="run `mesh list` to see the keys. " + parser.hint())
    return graph.sorted(keys)


class _Parser:
    def __init__(self, graph: AssetGraph, tokens: list[str], text: str) -> None:
        self.graph, self.tokens, self.pos, self.depth = graph, tokens, 0, 0
        self.text = text if len(text) <= 120 else f"{text[:120]}... ({len(text)} characters)"
        self.misses: list[str] = []

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise SelectionError(f"'{self.text}' ends too early", where="selection",
                                 fix="complete the expression after and/or/not")
        self.pos += 1
        return token

    def expr(self) -> set[str]:
        keys = self.term()
        while (token := self.peek()) is not None and token != ")":
            if token in ("or", ","):
                self.take()
            keys |= self.term()
        return keys

    def term(self) -> set[str]:
        keys = self.factor()
        while self.peek() == "and":
            self.take()
            keys &= self.factor()
        return keys

    def factor(self) -> set[str]:
        token = self.take()
        if token in ("not", "("):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise SelectionError(f"'{self.text}' is nested too deeply (more than {MAX_DEPTH} levels of "
                                     "parentheses and not)", where="selection",
                                     fix="write a flatter selection: drop redundant parentheses and double nots")
            keys = self.nested(token)
            self.depth -= 1
            return keys
        if token in _KEYWORDS or token in (")", ","):
            raise SelectionError(f"unexpected '{token}' in '{self.text}'", where="selection",
                                 fix="put an asset, glob, tag:, owner: or domain: term there")
        return self.atom(token)

    def nested(self, token: str) -> set[str]:
        if token == "not":
            return set(self.graph.assets) - self.factor()
        keys = self.expr()
        if self.peek() != ")":
            raise SelectionError(f"missing ')' in '{self.text}'", where="selection", fix="close the parenthesis")
        self.take()
        return keys

    def atom(self, token: str) -> set[str]:
        match = _ATOM.match(token)
        assert match is not None
        up, body, down = match.groups()
        keys = self.base(body)
        if not keys:
            self.misses.append(body)
        result = set(keys)
        if up is not None:  # one walk from all of the atom's keys, not one per key
            result |= self.graph.ancestors(*keys, depth=self.levels(up))
        if down is not None:
            result |= self.graph.descendants(*keys, depth=self.levels(down))
        return result

    def levels(self, digits: str | None) -> int | None:
        """The number of levels of ``2+``; none (every level) when empty."""
        if not digits:
            return None
        if len(digits) > 6:
            raise SelectionError(f"'{digits[:12]}...' levels in '{self.text}' is no number of levels",
                                 where="selection", fix="write a small number of levels like 2+key, or + for all")
        return int(digits)

    def base(self, body: str) -> set[str]:
        everything = self.graph.assets
        kind, _, value = body.partition(":") if ":" in body else ("key", "", body)
        matchers: dict[str, Callable[[str], bool]] = {
            "key": lambda k: fnmatch.fnmatchcase(k, value),
            "domain": lambda k: fnmatch.fnmatchcase(everything[k].spec.domain, value),
            "owner": lambda k: value in everything[k].spec.owners,
            "tag": lambda k: _has_tag(everything[k].spec.tags, value),
        }
        if kind not in matchers:
            raise SelectionError(f"unknown selector '{kind}:' in '{self.text}'", where="selection",
                                 fix="use key:, tag:, owner: or domain:. " + did_you_mean(kind, matchers))
        if kind == "key" and not _GLOB.search(value):  # one key: looked up, not matched against every key
            return {value} & everything.keys()
        return {k for k in everything if matchers[kind](k)}

    def hint(self) -> str:
        names = list(self.graph.assets) + [f"domain:{d}" for d in self.graph.domains()]
        return " ".join(h for m in self.misses if (h := did_you_mean(m, names)))


def _has_tag(tags: dict[str, str] | object, value: str) -> bool:
    name, _, wanted = value.partition("=")
    return name in tags and (not wanted or tags[name] == wanted)  # type: ignore[operator,index]
