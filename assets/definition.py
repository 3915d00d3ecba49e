"""Asset definitions: the frozen :class:`AssetSpec`, the :class:`AssetDefinition` that pairs it
with the user's function, and the :func:`asset` decorator that makes both.

A definition is validated when it is made; an invalid one cannot exist. Each refusal names the
function, its file and line, and the fix.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal, TypeAlias, overload

import pandera.polars as pa
import polars as pl

from assets.drops import Drop
from assets.emails import is_email
from assets.errors import DefinitionError, did_you_mean
from assets.names import ASSET_KEY, NAME
from assets.partition_mapping import MAPPING_TYPES, PartitionMapping, Whole
from assets.partitions import (
    MultiPartitions,
    PartitionsDefinition,
    StaticPartitions,
    TimePartitions,
)
from assets.schedule import parse_duration, validate_schedule
from assets.secrets import SecretResolver, domain_secret, environment_resolver
from assets.semver import is_semver

Visibility: TypeAlias = Literal["private", "restricted", "public"]
Trigger: TypeAlias = Literal["all", "any"]
AssetFn: TypeAlias = Callable[..., pl.DataFrame | pl.LazyFrame]

VISIBILITIES: tuple[str, ...] = ("private", "restricted", "public")
TRIGGERS: tuple[str, ...] = ("all", "any")
#: The parameter name through which a function asks for its :class:`AssetContext`.
CONTEXT_PARAM = "context"



@dataclass(frozen=True, slots=True, kw_only=True)
class AssetSpec:
    """What an asset is, without the code that computes it.

    ``inputs`` maps each parameter of the function to the key of the asset it reads.
    ``column_lineage`` maps an output column to the ``(input key, column)`` pairs it derives from.
    """

    domain: str
    name: str
    contract: type[pa.DataFrameModel]
    contract_version: str
    inputs: Mapping[str, str] = field(default_factory=dict)
    schedule: str | None = None
    trigger: Trigger = "all"
    visibility: Visibility = "private"
    owners: tuple[str, ...] = ()
    freshness: dt.timedelta | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    retries: int = 2
    #: Publish nothing when a run's output equals the current version (see ``assets.staleness``).
    skip_unchanged: bool = False
    source: str = "<unknown>"
    column_lineage: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    #: The last day the asset is kept up (``None``: not deprecated), and the key that replaces it.
    deprecated: dt.date | None = None
    replaced_by: str | None = None
    #: How the asset is split into partitions published on their own (``None``: one whole asset).
    partitions: PartitionsDefinition | None = None
    #: The partition mapping declared for an input parameter (others take the default:
    #: :func:`assets.partition_mapping.default_mapping`).
    input_mappings: Mapping[str, PartitionMapping] = field(default_factory=dict)
    #: Where an observed source's files arrive (``None``: a computed asset); see ``assets.drops``.
    drop: Drop | None = None

    def __post_init__(self) -> None:
        """Refuse an invalid spec however it is made: by ``@asset``, by hand, or by
        ``dataclasses.replace``. Errors name the asset and ``source`` (the function's file and line)."""
        _validate_spec(self)

    @property
    def key(self) -> str:
        """``<domain>.<name>``: the asset's identity everywhere (storage, Airflow, lineage)."""
        return f"{self.domain}.{self.name}"

    @property
    def is_root(self) -> bool:
        return not self.inputs

    @property
    def schedule_text(self) -> str | None:
        """When it runs, in a few words: its cron, its partitions' clock (``partitioned daily``),
        the inputs it waits for (``on all inputs``), or ``None`` (run by hand, or by its drop)."""
        if self.schedule:
            return self.schedule
        if self.partitions is not None:
            return f"partitioned {self.partitions.describe()}"
        return f"on {self.trigger} inputs" if self.inputs else None

    @property
    def contract_major(self) -> int:
        return int(self.contract_version.split(".", 1)[0])


@dataclass(frozen=True, slots=True)
class AssetDefinition:
    """An :class:`AssetSpec` plus the function that computes it."""

    spec: AssetSpec
    fn: AssetFn
    wants_context: bool = False

    @property
    def key(self) -> str:
        return self.spec.key

    def __call__(self, *args: Any, **kwargs: Any) -> pl.DataFrame | pl.LazyFrame:
        return self.fn(*args, **kwargs)


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetContext:
    """What a running asset may know about its run. Ask for it with a ``context`` parameter."""

    key: str
    run_id: str
    params: Mapping[str, Any] = field(default_factory=dict)
    partition: str | None = None
    secrets: SecretResolver = field(default=environment_resolver, repr=False)

    def param(self, name: str, default: Any = None) -> Any:
        """A run parameter such as ``seed``, ``scale`` or ``inject_bad_rows``."""
        return self.params.get(name, default)

    def secret(self, name: str) -> str:
        """A secret Variable of this asset's own domain (see :mod:`assets.secrets`)."""
        return domain_secret(self.key.split(".", 1)[0], name, self.secrets)

    def connection(self, name: str) -> str:
        """The URI of a Connection of this asset's own domain (see :mod:`assets.secrets`)."""
        return domain_secret(self.key.split(".", 1)[0], name, self.secrets, kind="connection")


@overload
def asset(fn: AssetFn, /) -> AssetDefinition: ...
@overload
def asset(
    *, contract: type[pa.DataFrameModel] | None = ..., contract_version: str = ...,
    ins: Mapping[str, str | PartitionMapping] | None = ..., schedule: str | None = ..., trigger: str = ...,
    visibility: str = ..., owners: list[str] | tuple[str, ...] = ..., freshness: str | None = ...,
    tags: Mapping[str, str] | None = ..., description: str | None = ..., retries: int = ...,
    name: str | None = ..., column_lineage: Mapping[str, list[str] | tuple[str, ...]] | None = ...,
    deprecated: str | None = ..., replaced_by: str | None = ..., skip_unchanged: bool = ...,
    partitions: PartitionsDefinition | None = ...,
) -> Callable[[AssetFn], AssetDefinition]: ...


def asset(
    fn: AssetFn | None = None,
    /,
    *,
    contract: type[pa.DataFrameModel] | None = None,
    contract_version: str = "",
    ins: Mapping[str, str | PartitionMapping] | None = None,
    schedule: str | None = None,
    trigger: str = "all",
    visibility: str = "private",
    owners: list[str] | tuple[str, ...] = (),
    freshness: str | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    retries: int = 2,
    name: str | None = None,
    column_lineage: Mapping[str, list[str] | tuple[str, ...]] | None = None,
    deprecated: str | None = None,
    replaced_by: str | None = None,
    skip_unchanged: bool = False,
    partitions: PartitionsDefinition | None = None,
) -> AssetDefinition | Callable[[AssetFn], AssetDefinition]:
    """Declare a data product: a function returning a polars frame, guarded by a contract.

    The asset's key is ``<domain>.<name>``; the domain is the package under ``domains/`` the
    function lives in. Parameters named like an asset of the same domain are inputs; ``ins``
    maps any other parameter to a key in another domain. A parameter named ``context``
    receives an :class:`AssetContext`. Inputs arrive as ``pl.LazyFrame``.

    ``column_lineage`` declares where output columns come from, as ``"<input param>.<column>"``:
    ``{"amount_usd": ["orders.amount", "fx_rates.rate"]}``. It reaches OpenLineage's
    ``columnLineage`` facet.

    ``deprecated="2027-03-31"`` (an ISO date: the last day the asset is kept up) marks the asset
    deprecated, ``replaced_by`` names the key that replaces it; its subscribers are told once.

    ``skip_unchanged=True``: a run whose output equals the current version's publishes nothing
    and, on Airflow, emits no Asset event, so nothing downstream runs for nothing (both runners;
    ``mesh materialize --skip-unchanged`` asks it of every asset of one run).

    ``partitions=daily(start="2026-01-01")`` (see :mod:`assets.partitions`) splits the asset into
    partitions gated, versioned and published on their own; the function reads
    ``context.partition``. An ``ins`` value may be a partition mapping instead of a key
    (:mod:`assets.partition_mapping`): ``ins={"orders": rollup("sales.daily_orders")}``,
    ``ins={"orders": window(days=7)}`` (the key defaults to the same-domain asset named like the
    parameter).
    """

    def decorate(func: AssetFn) -> AssetDefinition:
        return _define(func, contract=contract, contract_version=contract_version, ins=dict(ins or {}),
                       schedule=schedule, trigger=trigger, visibility=visibility, owners=tuple(owners),
                       freshness=freshness, tags=dict(tags or {}), description=description,
                       retries=retries, name=name, column_lineage=dict(column_lineage or {}),
                       deprecated=deprecated, replaced_by=replaced_by, skip_unchanged=skip_unchanged,
                       partitions=partitions)

    return decorate(fn) if fn is not None else decorate


def _define(func: AssetFn, *, contract: Any, contract_version: str, ins: dict[str, Any],
            schedule: str | None, trigger: str, visibility: str, owners: tuple[str, ...],
            freshness: str | None, tags: dict[str, str], description: str | None, retries: int,
            name: str | None, column_lineage: dict[str, Any], deprecated: str | None = None,
            replaced_by: str | None = None, skip_unchanged: bool = False,
            partitions: PartitionsDefinition | None = None, drop: Drop | None = None) -> AssetDefinition:
    where = _source(func)
    asset_name = name or func.__name__
    label = f"asset '{asset_name}'"

    def refuse(what: str, fix: str) -> DefinitionError:
        return DefinitionError(f"{label}: {what}", where=where, fix=fix)

    domain = _domain_of(func)
    if domain is None:
        raise refuse(f"module '{func.__module__}' is not inside a domain package",
                     "put the function in domains/<domain>/assets.py")
    label = f"asset '{domain}.{asset_name}'"
    try:
        fresh = parse_duration(freshness) if freshness is not None else None
    except ValueError as exc:
        raise refuse(f"bad freshness {freshness!r}: {exc}", "write a duration like '30m', '2h' or '1d'") from None
    try:
        end = dt.date.fromisoformat(deprecated) if deprecated is not None else None
    except (TypeError, ValueError):
        raise refuse(f"deprecated={deprecated!r} is not a date", "write the last day as deprecated='2027-03-31'") from None
    mappings = {param: value for param, value in ins.items() if isinstance(value, MAPPING_TYPES)}
    ins = {param: (value.key or f"{domain}.{param}") if isinstance(value, MAPPING_TYPES) else value
           for param, value in ins.items()}
    inputs, wants_context = _inputs(func, domain, ins, refuse) if drop is None else _arrival_param(func, refuse)
    # The spec validates itself (_validate_spec); ``source`` makes its errors name the function.
    spec = AssetSpec(
        domain=domain, name=asset_name, contract=contract, contract_version=contract_version,
        inputs=MappingProxyType(inputs), schedule=schedule, trigger=trigger,  # type: ignore[arg-type]
        visibility=visibility, owners=owners, freshness=fresh,  # type: ignore[arg-type]
        tags=MappingProxyType(tags), description=(description or inspect.getdoc(func) or "").strip(),
        retries=retries, skip_unchanged=skip_unchanged, source=where, deprecated=end, replaced_by=replaced_by,
        partitions=partitions, input_mappings=MappingProxyType(mappings), drop=drop)
    if column_lineage:
        lineage = _column_lineage(column_lineage, inputs, set(spec.contract.to_schema().columns), refuse)
        spec = replace(spec, column_lineage=MappingProxyType(lineage))
    return AssetDefinition(spec=spec, fn=func, wants_context=wants_context)


def _validate_spec(spec: AssetSpec) -> None:
    """The checks of an :class:`AssetSpec` that need no function: names, contract, versions,
    schedule, owners, tags, retries, inputs and column lineage."""

    def refuse(what: str, fix: str) -> DefinitionError:
        return DefinitionError(f"asset '{spec.domain}.{spec.name}': {what}", where=spec.source, fix=fix)

    if not NAME.match(spec.domain):
        raise refuse(f"'{spec.domain}' is not a valid domain name", "use lower_snake_case, starting with a letter")
    if not NAME.match(spec.name):
        raise refuse(f"'{spec.name}' is not a valid asset name", "use lower_snake_case, starting with a letter")
    if spec.contract is None:
        raise refuse("has no contract; every asset must declare one",
                     "pass contract=<a pandera.polars.DataFrameModel subclass> and contract_version='1.0.0'")
    if not (isinstance(spec.contract, type) and issubclass(spec.contract, pa.DataFrameModel)):
        raise refuse(f"contract {spec.contract!r} is not a pandera.polars DataFrameModel subclass",
                     "declare `class MyContract(pa.DataFrameModel)` with `import pandera.polars as pa`")
    if not is_semver(spec.contract_version):
        raise refuse(f"contract_version {spec.contract_version!r} is not semantic versioning",
                     "write MAJOR.MINOR.PATCH, like contract_version='1.0.0'")
    if spec.visibility not in VISIBILITIES:
        raise refuse(f"unknown visibility {spec.visibility!r}",
                     f"use one of {', '.join(VISIBILITIES)}. " + did_you_mean(str(spec.visibility), VISIBILITIES))
    if spec.trigger not in TRIGGERS:
        raise refuse(f"unknown trigger {spec.trigger!r}", "use 'all' (every input updated) or 'any'")
    if spec.schedule is not None:
        problem = validate_schedule(spec.schedule)
        if problem:
            raise refuse(f"bad schedule {spec.schedule!r}: {problem}",
                         "use a preset (@hourly, @daily, @weekly, @monthly, @yearly) or five cron fields")
    for owner in spec.owners:
        if not is_email(owner):
            raise refuse(f"owner {owner!r} is not an e-mail address", "write owners=['team@acme.example']")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in spec.tags.items()):
        raise refuse("tags must map strings to strings", "write tags={'tier': 'gold'}")
    if not isinstance(spec.retries, int) or spec.retries < 0:
        raise refuse("retries must not be negative", "write retries=0 or more")
    if not isinstance(spec.skip_unchanged, bool):
        raise refuse(f"skip_unchanged={spec.skip_unchanged!r} is not True or False", "write skip_unchanged=True")
    fresh = spec.freshness
    if fresh is not None and (not isinstance(fresh, dt.timedelta) or fresh < dt.timedelta(0)):
        raise refuse(f"bad freshness {spec.freshness!r}: not a duration of zero or more",
                     "write a duration like '30m', '2h' or '1d'")
    for param, key in spec.inputs.items():
        if not isinstance(key, str) or not ASSET_KEY.match(key):
            raise refuse(f"input '{param}' = {key!r} is not an asset key", "write '<domain>.<asset>'")
    if spec.deprecated is not None and (not isinstance(spec.deprecated, dt.date)
                                        or isinstance(spec.deprecated, dt.datetime)):
        raise refuse(f"deprecated={spec.deprecated!r} is not a date", "write the last day as deprecated='2027-03-31'")
    if spec.replaced_by is not None:
        if spec.deprecated is None:
            raise refuse("replaced_by without deprecated", "add deprecated='<last day>' or remove replaced_by")
        if not isinstance(spec.replaced_by, str) or not ASSET_KEY.match(spec.replaced_by):
            raise refuse(f"replaced_by={spec.replaced_by!r} is not an asset key", "write '<domain>.<asset>'")
        if spec.replaced_by == f"{spec.domain}.{spec.name}":
            raise refuse("replaced_by names the asset itself", "name the asset that replaces it")
    _validate_partitions(spec, refuse)
    if spec.drop is not None:
        if not isinstance(spec.drop, Drop):
            raise refuse(f"drop={spec.drop!r} is not a Drop", "declare observed sources with @source_asset(drop=...)")
        if spec.inputs or spec.schedule is not None:
            raise refuse("an observed source has inputs or a schedule",
                         "an observed source runs when files arrive: remove its inputs and schedule")
    keys = set(spec.inputs.values())
    for column, pairs in spec.column_lineage.items():
        for pair in pairs:
            if len(pair) != 2 or pair[0] not in keys:
                raise refuse(f"column_lineage['{column}'] names {pair!r}, not an (input key, column) pair",
                             f"use one of the inputs: {', '.join(sorted(keys)) or 'none'}")


def _validate_partitions(spec: AssetSpec, refuse: Callable[[str, str], DefinitionError]) -> None:
    """The partitions and input mappings, as far as the asset alone decides them (the graph
    checks each edge against its input's partitions: :class:`assets.partition_mapping.PartitionEdge`)."""
    if spec.partitions is not None and not isinstance(spec.partitions, (TimePartitions, StaticPartitions, MultiPartitions)):
        raise refuse(f"partitions={spec.partitions!r} is not a partition definition",
                     "write partitions=daily(start='2026-01-01') (or hourly, weekly, monthly, static, multi)")
    for param, mapping in spec.input_mappings.items():
        if param not in spec.inputs:
            raise refuse(f"a partition mapping names '{param}', which is not an input",
                         "declare mappings on input parameters. " + did_you_mean(param, spec.inputs))
        if not isinstance(mapping, MAPPING_TYPES):
            raise refuse(f"input '{param}' has mapping {mapping!r}", "use identity(), window(days=N), rollup() or whole()")
        if spec.partitions is None and not isinstance(mapping, Whole):
            raise refuse(f"input '{param}' maps partitions ({mapping.kind}()) but the asset has none",
                         "declare partitions=... on the asset, or drop the mapping (inputs are read whole)")


def _inputs(func: AssetFn, domain: str, ins: dict[str, str],
            refuse: Callable[[str, str], DefinitionError]) -> tuple[dict[str, str], bool]:
    params = inspect.signature(func).parameters
    inputs: dict[str, str] = {}
    wants_context = False
    for p in params.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise refuse(f"parameter '{p.name}' is variadic", "name each input as its own parameter")
        if p.name == CONTEXT_PARAM:
            wants_context = True
            continue
        inputs[p.name] = ins.get(p.name, f"{domain}.{p.name}")
    for param, key in ins.items():
        if param not in params:
            raise refuse(f"ins names '{param}', which is not a parameter",
                         f"add a parameter '{param}' or remove it from ins. " + did_you_mean(param, params))
        if not ASSET_KEY.match(key):
            raise refuse(f"ins['{param}'] = {key!r} is not an asset key", "write '<domain>.<asset>'")
    return inputs, wants_context


def _arrival_param(func: AssetFn, refuse: Callable[[str, str], DefinitionError]) -> tuple[dict[str, str], bool]:
    """An observed source's function takes the arrived rows as its first parameter (a
    ``pl.LazyFrame``), and optionally ``context``; it has no inputs."""
    names = list(inspect.signature(func).parameters)
    others = [n for n in names if n != CONTEXT_PARAM]
    if len(others) != 1 or names[0] != others[0]:
        raise refuse(f"takes {', '.join(names) or 'no parameters'}; an observed source takes the arrived rows "
                     "first, and nothing else but 'context'", "write def my_source(arrived: pl.LazyFrame)")
    return {}, CONTEXT_PARAM in names


def _column_lineage(declared: dict[str, Any], inputs: dict[str, str], columns: set[str],
                    refuse: Callable[[str, str], DefinitionError]) -> dict[str, tuple[tuple[str, str], ...]]:
    """``{"out": ["param.col", ...]}`` resolved to ``{"out": (("<input key>", "col"), ...)}``."""
    resolved = {}
    for column, sources in declared.items():
        if column not in columns:
            raise refuse(f"column_lineage names '{column}', which is not a column of the contract",
                         "use the contract's column names. " + did_you_mean(column, columns))
        if isinstance(sources, str) or not sources:
            raise refuse(f"column_lineage['{column}'] must be a non-empty list", "write ['<input>.<column>', ...]")
        pairs = []
        for source in sources:
            param, _, name = str(source).partition(".")
            if param not in inputs or not name:
                raise refuse(f"column_lineage['{column}'] names '{source}', not '<input parameter>.<column>'",
                             f"use one of the inputs: {', '.join(inputs) or 'none'}")
            pairs.append((inputs[param], name))
        resolved[column] = tuple(pairs)
    return resolved


def _domain_of(func: AssetFn) -> str | None:
    parts = func.__module__.split(".")
    if "domains" in parts[:-1]:
        return parts[parts.index("domains") + 1]
    return None


def _source(func: AssetFn) -> str:
    code = getattr(func, "__code__", None)
    return f"{code.co_filename}:{code.co_firstlineno}" if code else func.__module__
