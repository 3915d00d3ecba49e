"""The manifest written beside every stored version: what it holds and where it came from."""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from functools import cache
from typing import Any
from assets.semver import is_semver
from assets.stored_json import load_json

MANIFEST_FORMAT = 1
#: How a protected column is stored: ``tokenize:pii``, ``encrypt:restricted`` (``protection``).
_PROTECTION = re.compile(r"[a-z]+:[^:\s]+\Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    """A published version: checksum, size, schema and provenance.

    ``checksum`` is ``<algorithm>:<hex>`` of ``data.parquet``: ``blake3:`` for new versions,
    ``sha256:`` for versions published before; readers verify with the algorithm it names
    (:mod:`assets.storage.digest`). ``code_version`` hashes the asset
    function's source; ``input_versions`` maps each input key to the version that was read.
    ``protection`` maps protected columns to how they are protected at rest; ``data_key`` is the
    version's encryption key, wrapped by a key-encryption key (never in plaintext); ``contract``
    describes the contract the data passed, for contract evolution checks. ``warnings`` lists
    the warning checks (``raise_warning=True``) the data failed: ``column``, ``check``, ``rows``.
    ``content_checksum`` hashes the rows as the gate passed them, before protection (encryption
    is not deterministic, so ``checksum`` differs between runs of the same data): a run whose
    output has the same one publishes nothing (see :mod:`assets.staleness`). Versions published
    before it existed have ``None``.
    """

    key: str
    version: str
    checksum: str
    rows: int
    bytes: int
    schema: Mapping[str, str]
    contract_version: str
    code_version: str
    input_versions: Mapping[str, str] = field(default_factory=dict)
    produced_at: str
    run_id: str
    partition: str | None = None
    protection: Mapping[str, str] = field(default_factory=dict)
    data_key: Mapping[str, str] | None = None
    contract: Mapping[str, Any] | None = None
    warnings: tuple[Mapping[str, Any], ...] = ()
    content_checksum: str | None = None
    #: For an observed source (``assets.drops``): the file the version was read from
    #: (``file``, ``uri``, ``bytes``, ``sha256``); ``None`` for every other asset.
    observed: Mapping[str, Any] | None = None
    format: int = MANIFEST_FORMAT

    def __post_init__(self) -> None:
        """Refuse (``ValueError``) a manifest whose fields do not have their types: it is read
        from storage, where a byte can change, and every reader trusts its fields."""
        for name in ("key", "version", "checksum", "contract_version", "code_version", "produced_at", "run_id"):
            _require(isinstance(getattr(self, name), str), name, "a string")
        _require(is_semver(self.contract_version), "contract_version", "a semantic version (MAJOR.MINOR.PATCH)")
        for name in ("rows", "bytes", "format"):
            value = getattr(self, name)
            _require(isinstance(value, int) and not isinstance(value, bool) and value >= 0, name,
                     "a whole number, not negative")
        for name in ("schema", "input_versions", "protection"):
            value = getattr(self, name)
            _require(isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str)
                                                        for k, v in value.items()), name, "an object of strings")
        _require(all(_PROTECTION.match(how) for how in self.protection.values()), "protection",
                 "an object of '<method>:<classification>' per column")
        for name in ("partition", "content_checksum"):
            _require(getattr(self, name) is None or isinstance(getattr(self, name), str), name, "a string or null")
        for name in ("data_key", "contract", "observed"):
            _require(getattr(self, name) is None or isinstance(getattr(self, name), Mapping), name,
                     "an object or null")
        if self.contract is not None:
            _require(_is_description(self.contract), "contract",
                     "a contract's description (per column: dtype, nullable, unique, checks)")

    @property
    def domain(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]

    def summary(self) -> dict[str, Any]:
        """The part an Airflow Asset event's ``extra`` carries."""
        return {"version": self.version, "rows": self.rows, "checksum": self.checksum,
                "contract_version": self.contract_version, "code_version": self.code_version,
                **({"partition": self.partition} if self.partition is not None else {})}

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (dict(v) if isinstance(v := getattr(self, f.name), Mapping)
                         else [dict(w) for w in v] if f.name == "warnings" else v)
                for f in fields(self)}

    def to_json(self) -> builtins.bytes:
        """The manifest as stored: compact JSON, keys sorted (indenting makes ``json`` use its
        pure-Python encoder, several times slower, on every publish; readers parse it)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: builtins.bytes | str) -> Manifest:
        data = load_json(raw)
        if not isinstance(data, dict):
            raise ValueError("a manifest is a JSON object")
        found = data.get("warnings", [])
        if not isinstance(found, list) or not all(isinstance(w, dict) for w in found):
            raise ValueError("the manifest's 'warnings' is not a list of objects")
        data["warnings"] = tuple(found)
        known, required = _field_names()
        if missing := sorted(required - data.keys()):
            raise ValueError(f"the manifest lacks {', '.join(missing)}")
        if unknown := sorted(data.keys() - known):
            raise ValueError(f"the manifest has fields no version of the mesh writes: {', '.join(unknown[:5])}")
        return cls(**data)


@cache
def _field_names() -> tuple[frozenset[str], frozenset[str]]:
    """A manifest's field names, and those without a default: once, not on every read."""
    every = fields(Manifest)
    return (frozenset(f.name for f in every),
            frozenset(f.name for f in every if f.default is MISSING and f.default_factory is MISSING))


def _is_description(contract: Mapping[str, Any]) -> bool:
    """Whether ``contract`` has the shape ``assets.contract_diff.describe`` writes, which contract
    evolution compares a new contract with: per column a ``dtype`` (a string), ``nullable`` and
    ``unique`` (booleans), ``checks`` (and optionally ``warnings``), each check's statistics
    JSON scalars or lists of them."""
    def is_checks(checks: object) -> bool:
        return isinstance(checks, Mapping) and all(
            isinstance(name, str) and isinstance(stats, Mapping)
            and all(isinstance(k, str) and (_is_scalar(v) or isinstance(v, list) and all(map(_is_scalar, v)))
                    for k, v in stats.items())
            for name, stats in checks.items())

    return all(isinstance(column, str) and isinstance(about, Mapping)
               and isinstance(about.get("dtype"), str)
               and isinstance(about.get("nullable"), bool) and isinstance(about.get("unique"), bool)
               and is_checks(about.get("checks")) and is_checks(about.get("warnings", {}))
               for column, about in contract.items())


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _require(ok: bool, field_name: str, what: str) -> None:
    if not ok:
        raise ValueError(f"the manifest's '{field_name}' is not {what}")
