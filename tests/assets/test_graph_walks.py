"""Graph walks are linear in the graph: one walk follows each asset's edges at most once, however
many paths reach the asset and however many keys the walk starts from.

The work is counted, not timed: the graph's edges are wrapped in a mapping that counts look-ups.
A walk that repeats nodes looks up ``2**k`` edges over ``k`` diamonds in a row; a walk per
selected key looks up ``n**2 / 2`` over a chain of ``n``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import wait
from dataclasses import replace
from typing import Any

import pandera.polars as pa
import polars as pl
import pytest

from assets import Mesh, materialize
from assets.definition import AssetDefinition, AssetSpec
from assets.graph import AssetGraph
from assets.selection import select
from governance.lineage import impact_of, lineage_of


class Rows(pa.DataFrameModel):
    id: int


def _rows() -> pl.DataFrame:
    return pl.DataFrame({"id": [1]})


class Counting(Mapping[str, tuple[str, ...]]):
    """A graph's edges, counting each look-up: the work of a walk."""

    def __init__(self, edges: Mapping[str, tuple[str, ...]]) -> None:
        self.edges, self.lookups = edges, 0

    def __getitem__(self, key: str) -> tuple[str, ...]:
        self.lookups += 1
        return self.edges[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.edges)

    def __len__(self) -> int:
        return len(self.edges)


def build(parents: Mapping[str, list[str]]) -> AssetGraph:
    """A graph of ``key -> the keys it reads``."""
    return AssetGraph.build(
        AssetDefinition(AssetSpec(domain=key.split(".")[0], name=key.split(".")[1], contract=Rows,
                                  contract_version="1.0.0", inputs={f"in{i}": p for i, p in enumerate(reads)}),
                        _rows)
        for key, reads in parents.items())


def counted(graph: AssetGraph) -> tuple[AssetGraph, Counting, Counting]:
    """``graph`` whose upstream and downstream edges count their look-ups."""
    up, down = Counting(graph._upstream), Counting(graph._downstream)
    return replace(graph, _upstream=up, _downstream=down), up, down


def diamonds(k: int) -> dict[str, list[str]]:
    """``k`` diamonds in a row, ``g.n00 -> g.l00, g.r00 -> g.n01 -> ...``: 2**k paths from the
    first node to the last."""
    parents: dict[str, list[str]] = {"g.n00": []}
    for i in range(k):
        parents[f"g.l{i:02d}"] = [f"g.n{i:02d}"]
        parents[f"g.r{i:02d}"] = [f"g.n{i:02d}"]
        parents[f"g.n{i + 1:02d}"] = [f"g.l{i:02d}", f"g.r{i:02d}"]
    return parents


def chain(n: int) -> dict[str, list[str]]:
    return {f"c.a{i:03d}": [f"c.a{i - 1:03d}"] if i else [] for i in range(n)}


def test_a_walk_looks_up_each_assets_edges_once_however_many_paths_reach_it() -> None:
    graph, up, down = counted(build(diamonds(16)))  # 65,536 paths end to end
    assert graph.descendants("g.n00") == set(graph.assets) - {"g.n00"}
    assert down.lookups <= len(graph)
    assert graph.ancestors("g.n16") == set(graph.assets) - {"g.n16"}
    assert up.lookups <= len(graph)


@pytest.mark.parametrize("selection", ["*+", "+*", "g.*+", "+g.*", "g.n00+", "+g.n16", "2+g.n08+3"])
def test_a_selection_walks_once_for_all_of_its_keys(selection: str) -> None:
    graph, up, down = counted(build({**diamonds(16), **chain(200)}))
    select(graph, selection)
    assert up.lookups <= len(graph) and down.lookups <= len(graph), (up.lookups, down.lookups)


def test_a_selection_keeps_its_meaning() -> None:
    graph = build(diamonds(4))
    assert select(graph, "g.n03+") == ["g.n03", "g.l03", "g.r03", "g.n04"]
    assert set(select(graph, "g.l01+1 or 1+g.n01")) == {"g.l01", "g.n02", "g.n01", "g.l00", "g.r00"}
    assert set(select(graph, "g.n0[12]+1")) == {"g.n01", "g.l01", "g.r01", "g.n02", "g.l02", "g.r02"}
    assert select(graph, "+g.n00") == ["g.n00"]


@pytest.mark.parametrize("depth", [None, 1, 2, 3, 5])
@pytest.mark.parametrize("starts", [("g.n00",), ("g.n00", "g.l01"), ("g.l00", "g.n02", "g.r03"),
                                    ("g.n04", "g.n01")])
def test_a_walk_from_many_keys_reaches_what_the_walks_from_each_reach(starts: tuple[str, ...],
                                                                       depth: int | None) -> None:
    graph = build(diamonds(4))
    assert graph.descendants(*starts, depth=depth) == set().union(*(graph.descendants(s, depth=depth)
                                                                     for s in starts))
    assert graph.ancestors(*starts, depth=depth) == set().union(*(graph.ancestors(s, depth=depth)
                                                                   for s in starts))


def test_lineage_and_impact_walk_each_asset_once_breadth_first(example_mesh: Mesh) -> None:
    graph, up, down = counted(build(diamonds(14)))
    mesh = replace(example_mesh, graph=graph)
    view = lineage_of(mesh, "g.n01")
    assert [(n.key, n.depth, n.via) for n in view.upstream] == [
        ("g.l00", 1, "g.n01"), ("g.r00", 1, "g.n01"), ("g.n00", 2, "g.l00")]
    assert [(n.key, n.depth, n.via) for n in view.downstream][:5] == [
        ("g.l01", 1, "g.n01"), ("g.r01", 1, "g.n01"), ("g.n02", 2, "g.l01"), ("g.l02", 3, "g.n02"),
        ("g.r02", 3, "g.n02")]
    assert len(view.downstream) == len(graph) - 4
    assert up.lookups <= len(graph) and down.lookups <= len(graph)
    reached = impact_of(mesh, "g.n00")
    assert reached.assets == tuple(k for k in diamonds(14) if k != "g.n00")  # breadth first
    assert down.lookups <= 2 * len(graph)


def test_a_walk_gives_each_key_its_distance_from_the_nearest_start_and_what_reached_it_first() -> None:
    graph = build(diamonds(2))
    walk = graph.walk(["g.n00", "g.l00"], upstream=False)
    assert list(walk.steps()) == [("g.l00", 1, "g.n00"), ("g.r00", 1, "g.n00"), ("g.n01", 1, "g.l00"),
                                  ("g.l01", 2, "g.n01"), ("g.r01", 2, "g.n01"), ("g.n02", 3, "g.l01")]
    assert list(graph.walk(["g.n00", "g.l00"], upstream=False, depth=2)) == ["g.l00", "g.r00", "g.n01", "g.l01",
                                                                             "g.r01"]
    assert list(graph.walk(["g.n02"], upstream=False).steps()) == []


def test_the_engine_waits_on_at_most_its_workers_runs_however_wide_the_graph(
        example_mesh: Mesh, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each finished asset costs the engine one wait over the runs in flight: a wait over every
    submitted run would cost ``width`` per asset, ``n * width`` over a mesh of ``n``."""
    import assets.engine

    waited: list[int] = []

    def counting_wait(futures: Any, **kw: Any) -> Any:
        waited.append(len(futures))
        return wait(futures, **kw)

    monkeypatch.setattr(assets.engine, "wait", counting_wait)
    mesh = replace(example_mesh, graph=build({f"w.r{i:02d}": [] for i in range(24)}))
    result = materialize("*", mesh=mesh, max_workers=2, handlers=())
    assert result.ok and len(result.results) == 24
    assert max(waited) <= 2
    assert sum(waited) <= 2 * len(result.results)
