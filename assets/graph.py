"""The asset graph: definitions linked by their inputs, checked for every structural error.

Built once from discovered definitions; immutable afterwards. Every error names each asset
involved and suggests near names.
"""

from __future__ import annotations

import graphlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from assets.definition import AssetDefinition
from assets.errors import (
    CycleError,
    DuplicateAssetError,
    QuotaExceededError,
    UnknownInputError,
    did_you_mean,
)
from assets.partition_mapping import PartitionEdge
from assets.walk import Walk, reach


@dataclass(frozen=True, slots=True)
class AssetGraph:
    """Assets by key, with their upstream and downstream edges, in a fixed topological order."""

    assets: Mapping[str, AssetDefinition]
    _upstream: Mapping[str, tuple[str, ...]] = field(repr=False)
    _downstream: Mapping[str, tuple[str, ...]] = field(repr=False)
    order: tuple[str, ...] = field(repr=False)

    @classmethod
    def build(cls, definitions: Iterable[AssetDefinition],
              max_assets: Mapping[str, int] | None = None,
              external_domains: frozenset[str] = frozenset()) -> AssetGraph:
        """Link definitions into a graph; refuse duplicates, unknown inputs, cycles, quotas.

        Inputs from ``external_domains`` (declared, but not loaded) are taken on trust: they
        are edges to assets outside this graph, which the full graph checks.
        """
        by_key: dict[str, AssetDefinition] = {}
        duplicates: dict[str, list[str]] = defaultdict(list)
        for d in definitions:
            if d.key in by_key and by_key[d.key].fn is not d.fn:
                duplicates[d.key] += [by_key[d.key].spec.source, d.spec.source]
            by_key[d.key] = d
        if duplicates:
            detail = "; ".join(f"'{k}' at {', '.join(dict.fromkeys(places))}" for k, places in duplicates.items())
            raise DuplicateAssetError(f"two asset functions produce one key: {detail}",
                                      fix="rename one of them, or pass @asset(name=...)")
        _check_inputs(by_key, external_domains)
        _check_partition_edges(by_key)
        upstream = {k: tuple(dict.fromkeys(d.spec.inputs.values())) for k, d in by_key.items()}
        order = tuple(k for k in _topological_order(upstream, by_key) if k in by_key)
        if max_assets:
            _check_quotas(by_key, max_assets)
        downstream: dict[str, list[str]] = {k: [] for k in by_key}
        for key in order:
            for parent in upstream[key]:
                if parent in downstream:
                    downstream[parent].append(key)
        return cls(assets=by_key, _upstream=upstream,
                   _downstream={k: tuple(v) for k, v in downstream.items()}, order=order)

    def __getitem__(self, key: str) -> AssetDefinition:
        return self.assets[key]

    def __contains__(self, key: object) -> bool:
        return key in self.assets

    def __iter__(self) -> Iterator[str]:
        return iter(self.order)

    def __len__(self) -> int:
        return len(self.assets)

    def upstream(self, key: str) -> tuple[str, ...]:
        """The keys ``key`` reads directly."""
        return self._upstream[key]

    def downstream(self, key: str) -> tuple[str, ...]:
        """The keys that read ``key`` directly."""
        return self._downstream[key]

    def edge(self, key: str, param: str) -> PartitionEdge:
        """How the partitions of ``key``'s input ``param`` map to its own (checked when built)."""
        spec = self.assets[key].spec
        upstream = self.assets.get(spec.inputs[param])
        return PartitionEdge.of(spec.input_mappings.get(param), upstream.spec.partitions if upstream else None,
                                spec.partitions, where=f"asset '{key}' input '{param}'")

    def walk(self, keys: Iterable[str], *, upstream: bool, depth: int | None = None) -> Walk:
        """Every key reached from ``keys`` over one or more edges (inputs when ``upstream``,
        readers otherwise), at most ``depth`` edges away, breadth first, in one walk for any
        number of ``keys`` (:func:`assets.walk.reach`). Upstream, inputs from external domains
        (keys outside this graph) are reached too."""
        return reach(keys, self._upstream if upstream else self._downstream, depth)

    def ancestors(self, *keys: str, depth: int | None = None) -> set[str]:
        """The assets of this graph that any of ``keys`` reads, transitively (``depth`` levels)."""
        return {k for k in self.walk(keys, upstream=True, depth=depth) if k in self.assets}

    def descendants(self, *keys: str, depth: int | None = None) -> set[str]:
        """The assets that read any of ``keys``, transitively (``depth`` levels)."""
        return set(self.walk(keys, upstream=False, depth=depth))

    def domains(self) -> list[str]:
        return sorted({d.spec.domain for d in self.assets.values()})

    def sorted(self, keys: Iterable[str]) -> list[str]:
        """``keys`` in topological order."""
        wanted = set(keys)
        return [k for k in self.order if k in wanted]


def _check_inputs(by_key: Mapping[str, AssetDefinition], external_domains: frozenset[str]) -> None:
    problems = []
    for key, d in sorted(by_key.items()):
        for param, target in d.spec.inputs.items():
            if target not in by_key and target.split(".", 1)[0] not in external_domains:
                hint = did_you_mean(target, [k for k in by_key if k != key])
                problems.append(f"'{key}' ({d.spec.source}) reads '{target}' through parameter "
                                f"'{param}', which is no asset.{' ' + hint if hint else ''}")
    if problems:
        raise UnknownInputError.listing(problems, where="asset inputs",
                                fix="name an existing asset in ins={'param': '<domain>.<asset>'}, "
                                    "or rename the parameter after an asset of the same domain")
    for key, d in sorted(by_key.items()):
        for column, sources in d.spec.column_lineage.items():
            for target, source_column in sources:
                if target in by_key and source_column not in (known := by_key[target].spec.contract.to_schema().columns):
                    raise UnknownInputError(
                        f"'{key}' declares column '{column}' derives from '{target}.{source_column}', "
                        f"which is no column of '{target}'. {did_you_mean(source_column, known)}",
                        where=d.spec.source, fix="name columns of the input's contract in column_lineage")


def _check_partition_edges(by_key: Mapping[str, AssetDefinition]) -> None:
    """Every input's partition mapping fits both sides' partitions (raises DefinitionError)."""
    for key, d in sorted(by_key.items()):
        for param, target in d.spec.inputs.items():
            upstream = by_key.get(target)
            if upstream is None and param not in d.spec.input_mappings:
                continue
            PartitionEdge.of(d.spec.input_mappings.get(param), upstream.spec.partitions if upstream else None,
                             d.spec.partitions, where=f"asset '{key}' ({d.spec.source}) input '{param}'")


def _topological_order(upstream: Mapping[str, tuple[str, ...]],
                       by_key: Mapping[str, AssetDefinition]) -> tuple[str, ...]:
    sorter = graphlib.TopologicalSorter(upstream)
    try:
        return tuple(sorter.static_order())
    except graphlib.CycleError as exc:
        cycle: list[str] = exc.args[1]
        path = " -> ".join(cycle)  # each key feeds the next
        places = ", ".join(f"'{k}' at {by_key[k].spec.source}" for k in dict.fromkeys(cycle))
        raise CycleError(f"the inputs form a cycle: {path} ({places})", where="asset inputs",
                         fix="break the cycle: one of these assets must stop reading another") from None


def _check_quotas(by_key: Mapping[str, AssetDefinition], max_assets: Mapping[str, int]) -> None:
    counts: dict[str, list[str]] = defaultdict(list)
    for key, d in by_key.items():
        counts[d.spec.domain].append(key)
    for domain, keys in sorted(counts.items()):
        limit = max_assets.get(domain)
        if limit is not None and len(keys) > limit:
            raise QuotaExceededError(
                f"domain '{domain}' defines {len(keys)} assets, over its max_assets of {limit}: "
                f"{', '.join(sorted(keys))}",
                where=f"mesh.toml [domains.{domain}].max_assets",
                fix="remove assets from the domain or ask the council to raise max_assets")
