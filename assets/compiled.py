"""The compiled mesh: a JSON description of every asset, written once, read by Airflow's parser.

Like dbt's manifest, it holds what the DAG files need and nothing that needs the domains' code:
each asset's key, inputs (with the access decision that allowed each edge), schedule,
trigger, pool, team, retries, freshness, tags and rendered docs; each domain's owners, pool and
team, or the error its code raised; and a :class:`Fingerprint` of the files it was compiled
from. The layer above compiles it (``governance.compiled``), because that needs the domains'
code and the policy; this module reads and writes it and imports neither polars, pandera nor
any domain, so that parsing a DAG file stays cheap.

A compiled mesh is *current* when its fingerprint matches the files: the same set of source
files, each with the recorded size and modification time (or, when only the time differs, the
recorded SHA-256), the same package version and format, and no grant it relied on expired
since. Checking costs one ``stat`` per file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from assets.errors import ConfigError, MeshError
from assets.named_files import read_named_file
from assets.names import ASSET_KEY, NAME
from assets.partition_mapping import PartitionEdge, PartitionMapping, mapping_from_dict
from assets.partitions import PartitionsDefinition, partitions_from_dict
from assets.stored_json import load_json

if TYPE_CHECKING:
    from assets.definition import AssetSpec

#: Version of the file's layout; a file of another format is stale.
FORMAT = 2
#: Where the compiled mesh lives, under the mesh root.
COMPILED_PATH = Path(".mesh") / "compiled" / "mesh.json"
#: The most bytes of a compiled mesh read (a few KiB per asset): a larger file is not read whole.
MAX_COMPILED_BYTES = 256 * 1024 * 1024



class CompiledMeshError(MeshError):
    """The compiled mesh is missing, unreadable, older than the code, or records an error."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedError:
    """A :class:`MeshError` met while compiling (a domain's import error, a denied input),
    kept so that the DAG file of that domain raises it without importing any code."""

    kind: str
    what: str
    where: str = ""
    fix: str = ""

    @classmethod
    def of(cls, exc: MeshError) -> RecordedError:
        return cls(kind=type(exc).__name__, what=exc.what, where=exc.where, fix=exc.fix)

    def error(self) -> CompiledMeshError:
        return CompiledMeshError(f"{self.kind}: {self.what}", where=self.where, fix=self.fix)


@dataclass(frozen=True, slots=True, kw_only=True)
class CompiledInput:
    """One input of an asset: the parameter, the key it reads, the producing domain's Airflow
    team, and why access was allowed (decided when compiling)."""

    param: str
    key: str
    access: str
    #: The declared partition mapping (``PartitionMapping.to_dict()``), ``None``: the default.
    mapping: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        _require(bool(ASSET_KEY.match(self.key)), f"input '{self.param}' = {self.key!r} is not an asset key")

    def partition_mapping(self) -> PartitionMapping | None:
        """The declared mapping, or ``None`` (the default applies)."""
        return mapping_from_dict(self.mapping) if self.mapping is not None else None

    @property
    def team(self) -> str:
        """The producing domain, which is its Airflow team."""
        return self.key.split(".", 1)[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class CompiledAsset:
    """What Airflow needs to know about one asset, without its code."""

    domain: str
    name: str
    inputs: tuple[CompiledInput, ...] = ()
    schedule: str | None = None
    trigger: str = "all"
    visibility: str = "private"
    owners: tuple[str, ...] = ()
    freshness_seconds: float | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    retries: int = 2
    skip_unchanged: bool = False
    pool: str = ""
    description: str = ""
    doc_md: str = ""
    contract: str = ""
    contract_version: str = ""
    source: str = ""
    #: The asset's partitions (``Partitions.to_dict()``), ``None``: unpartitioned.
    partitions: Mapping[str, Any] | None = None
    #: An observed source's drop (``assets.drops``) and its settle seconds; ``None`` otherwise.
    drop: str | None = None
    drop_settle: float = 0.0

    def __post_init__(self) -> None:
        _require(bool(NAME.match(self.domain)) and bool(NAME.match(self.name)),
                 f"asset '{self.domain}.{self.name}' has no valid key")
        _require(self.trigger in ("all", "any"), f"asset '{self.key}' has trigger {self.trigger!r}")
        _require(isinstance(self.retries, int) and self.retries >= 0, f"asset '{self.key}' has retries {self.retries!r}")
        _require(isinstance(self.skip_unchanged, bool), f"asset '{self.key}' has skip_unchanged {self.skip_unchanged!r}")
        object.__setattr__(self, "tags", MappingProxyType(dict(self.tags)))

    @property
    def key(self) -> str:
        return f"{self.domain}.{self.name}"

    @property
    def is_root(self) -> bool:
        return not self.inputs

    def partitions_definition(self) -> PartitionsDefinition | None:
        """The asset's partitions, or ``None`` when it is not partitioned."""
        return partitions_from_dict(self.partitions) if self.partitions is not None else None

    @classmethod
    def from_spec(cls, spec: AssetSpec, *, pool: str, access: Mapping[str, str]) -> CompiledAsset:
        """Describe ``spec``; ``access`` maps each input key to the decision that allowed it.
        Renders the docs from the contract, so it needs pandera (only the compiler calls it)."""
        return cls(
            domain=spec.domain, name=spec.name,
            inputs=tuple(CompiledInput(param=p, key=k, access=access[k],
                                       mapping=spec.input_mappings[p].to_dict() if p in spec.input_mappings else None)
                         for p, k in spec.inputs.items()),
            schedule=spec.schedule, trigger=spec.trigger, visibility=spec.visibility, owners=tuple(spec.owners),
            freshness_seconds=spec.freshness.total_seconds() if spec.freshness is not None else None,
            tags=dict(spec.tags), retries=spec.retries, skip_unchanged=spec.skip_unchanged, pool=pool, description=spec.description,
            doc_md=_doc(spec), contract=spec.contract.__name__, contract_version=spec.contract_version,
            source=spec.source, partitions=spec.partitions.to_dict() if spec.partitions is not None else None,
            drop=spec.drop.location if spec.drop else None, drop_settle=spec.drop.settle if spec.drop else 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class CompiledDomain:
    """A domain: its owners, pool and Airflow team (one DAG bundle each), or the error that
    kept its assets out."""

    name: str
    owners: tuple[str, ...] = ()
    pool: str = ""
    error: RecordedError | None = None

    @property
    def team(self) -> str:
        """Each domain is an Airflow team, whose DAG bundle holds its file of ``dags/``."""
        return self.name


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file the mesh was compiled from, relative to the mesh root."""

    path: str
    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Fingerprint:
    """What the compiled mesh was compiled from: its source files, the package version, and the
    last day every grant it relied on is still valid."""

    files: tuple[SourceFile, ...]
    version: str
    valid_until: dt.date | None = None

    @classmethod
    def of(cls, root: Path, paths: Iterable[str], *, version: str) -> Fingerprint:
        """The fingerprint of ``paths`` (relative to ``root``) as they are now. Taken before
        compiling, so a file changed meanwhile makes the result stale, never wrongly current."""
        files = []
        for path in sorted(paths):
            stat = (root / path).stat()
            files.append(SourceFile(path, stat.st_size, stat.st_mtime_ns, _sha256(root / path)))
        return cls(files=tuple(files), version=version)

    def stale_reason(self, root: Path, paths: Iterable[str], *, version: str, today: dt.date) -> str | None:
        """Why the files under ``root`` are no longer what was compiled, or ``None``. One
        ``stat`` per file; a file is hashed only when its time changed and its size did not."""
        if version != self.version:
            return f"the package version changed ({self.version} -> {version})"
        if self.valid_until is not None and today > self.valid_until:
            return f"a grant it relied on expired on {self.valid_until}"
        recorded = {f.path: f for f in self.files}
        now = set(paths)
        if now != set(recorded):
            added, removed = sorted(now - set(recorded)), sorted(set(recorded) - now)
            return "; ".join(([f"added {', '.join(added)}"] if added else [])
                             + ([f"removed {', '.join(removed)}"] if removed else []))
        for path, was in recorded.items():
            try:
                stat = (root / path).stat()
            except OSError:
                return f"{path} cannot be read"
            if (stat.st_size, stat.st_mtime_ns) == (was.size, was.mtime_ns):
                continue
            if stat.st_size != was.size or _sha256(root / path) != was.sha256:
                return f"{path} changed"
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class CompiledMesh:
    """Every domain and asset of a mesh (each domain's assets in topological order), the kinds
    of update handler each domain's governance DAG runs, and the fingerprint of its sources.
    ``error`` is a mesh-wide error (``mesh.toml`` invalid): no domain has DAGs then."""

    name: str
    fingerprint: Fingerprint
    domains: Mapping[str, CompiledDomain] = field(default_factory=dict)
    assets: Mapping[str, CompiledAsset] = field(default_factory=dict)
    handlers: tuple[str, ...] = ()
    error: RecordedError | None = None
    compiled_at: str = ""

    def __post_init__(self) -> None:
        for asset in self.assets.values():
            _require(asset.domain in self.domains, f"asset '{asset.key}' belongs to no compiled domain")
        object.__setattr__(self, "domains", MappingProxyType(dict(self.domains)))
        object.__setattr__(self, "assets", MappingProxyType(dict(self.assets)))

    def assets_of(self, domain: str) -> list[CompiledAsset]:
        """The assets of ``domain``, in topological order; raises the error recorded for the
        mesh or the domain."""
        if self.error is not None:
            raise self.error.error()
        compiled = self.domains.get(domain)
        if compiled is not None and compiled.error is not None:
            raise compiled.error.error()
        return [a for a in self.assets.values() if a.domain == domain]

    def triggerer_teams(self) -> tuple[str, ...]:
        """The Airflow teams whose DAGs watch a drop (an observed source's ``AssetWatcher``),
        sorted. In Multi-Team mode a team's triggers run only in a triggerer started for that
        team (``airflow triggerer --team-name TEAM``)."""
        return tuple(sorted({self.domains[a.domain].team for a in self.assets.values() if a.drop is not None}))

    def partition_edge(self, key: str, param: str) -> PartitionEdge:
        """How the partitions of asset ``key``'s input ``param`` map to its own: what an Airflow
        partition event of the input runs (:func:`assets.partition_mapping.downstream_partitions`)."""
        asset = self.assets[key]
        read = next(i for i in asset.inputs if i.param == param)
        upstream = self.assets.get(read.key)
        return PartitionEdge.of(read.partition_mapping(), upstream.partitions_definition() if upstream else None,
                                asset.partitions_definition(), where=f"asset '{key}' input '{param}'")

    # -- JSON -----------------------------------------------------------------------------------
    def to_json(self) -> bytes:
        return json.dumps(_plain(self), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes, where: str) -> CompiledMesh:
        """Read the file's bytes; anything malformed raises :class:`CompiledMeshError`."""
        try:
            raw = load_json(data)
            if raw.get("format") != FORMAT:
                raise ValueError(f"format {raw.get('format')!r}, expected {FORMAT}")
            fp = raw["fingerprint"]
            return cls(
                name=raw["name"], compiled_at=raw.get("compiled_at", ""), error=_error(raw.get("error")),
                handlers=tuple(raw["handlers"]),
                fingerprint=Fingerprint(
                    files=tuple(SourceFile(f["path"], int(f["size"]), int(f["mtime_ns"]), f["sha256"])
                                for f in fp["files"]),
                    version=fp["version"],
                    valid_until=dt.date.fromisoformat(fp["valid_until"]) if fp.get("valid_until") else None),
                domains={d["name"]: CompiledDomain(name=d["name"], owners=tuple(d["owners"]), pool=d["pool"],
                                                   error=_error(d.get("error"))) for d in raw["domains"]},
                assets={a.key: a for a in (_asset(a) for a in raw["assets"])})
        except (ValueError, KeyError, TypeError, AttributeError, MeshError) as exc:
            raise CompiledMeshError(f"the compiled mesh is unreadable ({type(exc).__name__}: {exc})", where=where,
                                    fix="run `mesh compile` to write it again") from None


def read_compiled(root: Path) -> CompiledMesh | None:
    """The compiled mesh of ``root`` as it is on disk, or ``None`` when there is none.

    Kept per process while the file is unchanged (same inode, size and time: it is only ever
    replaced atomically), so the DAG files of many domains parsed in one process read it once."""
    path = root / COMPILED_PATH
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    key = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    cached = _READ.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        raw = read_named_file(path, MAX_COMPILED_BYTES)
    except FileNotFoundError:
        return None
    except OSError as exc:  # a FIFO, a folder, a device, more than any compiled mesh: not read
        raise CompiledMeshError(f"the compiled mesh is unreadable: {exc.strerror}", where=str(path),
                                fix="move it aside (mv it to a .bak name), then run `mesh compile` to write it "
                                    "again") from None
    compiled = CompiledMesh.from_json(raw, str(path))
    _READ[path] = (key, compiled)
    return compiled


#: Compiled meshes read by this process, by path, with the stat they were read at.
_READ: dict[Path, tuple[tuple[int, int, int], CompiledMesh]] = {}


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise ConfigError(what, where=str(COMPILED_PATH), fix="run `mesh compile` to write it again")


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _error(raw: Mapping[str, str] | None) -> RecordedError | None:
    return RecordedError(**raw) if raw else None


def _asset(raw: Mapping[str, Any]) -> CompiledAsset:
    fields = dict(raw)
    fields["inputs"] = tuple(CompiledInput(**i) for i in raw["inputs"])
    fields["owners"] = tuple(raw["owners"])
    return CompiledAsset(**fields)


def _plain(obj: Any) -> Any:
    """Dataclasses, mappings and tuples as JSON values; the mesh also carries the format."""
    if hasattr(obj, "__dataclass_fields__"):
        plain = {name: _plain(getattr(obj, name)) for name in obj.__dataclass_fields__}
        if isinstance(obj, CompiledMesh):
            plain |= {"format": FORMAT, "domains": list(plain["domains"].values()),
                      "assets": list(plain["assets"].values())}
        return plain
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (tuple, list)):
        return [_plain(v) for v in obj]
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj


def _doc(spec: AssetSpec) -> str:
    """The asset's Airflow docs: description, contract, inputs, owners and the columns table."""
    schema = spec.contract.to_schema()
    rows = "\n".join(
        f"| `{name}` | {col.dtype} | {', '.join(str(c.error) for c in col.checks) or '-'} | "
        f"{(col.metadata or {}).get('classification', '-')} |"
        for name, col in schema.columns.items())
    inputs = ", ".join(f"`{k}`" for k in dict.fromkeys(spec.inputs.values())) or "none (root asset)"
    return (f"## {spec.key}\n\n{spec.description}\n\n"
            f"- **Contract:** `{spec.contract.__name__}` {spec.contract_version}\n"
            f"- **Inputs:** {inputs}\n- **Visibility:** {spec.visibility}\n"
            f"- **Owners:** {', '.join(spec.owners) or '-'}\n- **Source:** `{spec.source}`\n\n"
            f"| column | type | checks | classification |\n|---|---|---|---|\n{rows}\n")
