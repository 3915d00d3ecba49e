"""One breadth-first walk over the asset graph, linear in what it reaches.

Every graph walk (a selection's ``+``, ``mesh lineage`` and its ``--impact``, the assets a
failed one leaves skipped) goes through :func:`reach`: one walk from all of its start keys at
once, following each key's edges at most once. A walk that expanded a key once per path to it
would do exponential work over a chain of diamonds; a walk per start key, quadratic work over
a selection of many keys.

Nothing is allocated per key beyond its entries in a dict and a set, so a walk over 10,000
assets does not set off the garbage collector's passes over the whole heap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Walk:
    """What one walk reached, in the order reached: ``via`` maps each key to the key it was
    first reached from; ``ends[i]`` is how many keys lie within ``i + 1`` edges of a start."""

    via: Mapping[str, str]
    ends: tuple[int, ...]

    def __iter__(self) -> Iterator[str]:
        return iter(self.via)

    def __len__(self) -> int:
        return len(self.via)

    def __contains__(self, key: object) -> bool:
        return key in self.via

    def steps(self) -> Iterator[tuple[str, int, str]]:
        """``(key, depth, via)`` in the order reached; ``depth`` counts the edges from the
        nearest start."""
        depth = 1
        for index, (key, via) in enumerate(self.via.items()):
            while index >= self.ends[depth - 1]:
                depth += 1
            yield key, depth, via


def reach(starts: Iterable[str], edges: Mapping[str, tuple[str, ...]], depth: int | None = None) -> Walk:
    """Walk ``edges`` (key -> next keys) breadth first from every key of ``starts`` at once,
    at most ``depth`` edges (no limit when ``None``).

    Reaches each key one edge or more from a start, at its shortest distance from any start:
    the union of the walks from each start, for the cost of one. A start is reached too when
    another start leads to it. Each key's edges are looked up at most once, so the walk is
    linear in the keys and edges it reaches, however many paths lead to a key.
    """
    frontier = list(dict.fromkeys(starts))
    first = set(frontier)  # a start's edges are walked from depth 0, the shortest there is
    via: dict[str, str] = {}
    ends: list[int] = []
    while frontier and (depth is None or len(ends) < depth):
        following: list[str] = []
        for key in frontier:
            for nxt in edges.get(key, ()):
                if nxt not in via:  # reached once: its edges are walked once, from here
                    via[nxt] = key
                    if nxt not in first:
                        following.append(nxt)
        if len(via) == (ends[-1] if ends else 0):
            break  # nothing new at this depth: nothing further either
        ends.append(len(via))
        frontier = following
    return Walk(via, tuple(ends))
