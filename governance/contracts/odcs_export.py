"""An asset's contract as an Open Data Contract Standard (ODCS v3) document.

The document says what the mesh knows of the asset: its columns with their logical types and
the physical types of the stored Parquet file, its checks as quality rules
(:mod:`governance.contracts.odcs_rules`), each classified column's classification and
protection, its owners and domain team, its freshness and the domain's retention, and one
server per region: the Parquet file of the exported version in that region's storage; for a
partitioned asset, the Parquet files of every partition there (``<asset>/*/*/data.parquet``: one
folder per partition key, one per version in it), with the partitions and that layout as the
server's custom properties.

Protected columns are stored as tokens (``tok:...``) or cipher text (``enc:...``): their
``physicalType`` is ``VARCHAR`` (what the file holds), their ``logicalType`` the type of the
plaintext, and their value rules are text rules that hold on the plaintext (the gate checks them
before protection), so ``datacontract test`` on the stored file tests what the file holds.

Every document is checked against the ``open-data-contract-standard`` pydantic model and the
JSON schema that package ships before it is handed out: an invalid document is a bug, never
written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from governance.contracts.odcs_rules import export_checks, export_frame_checks
from governance.contracts.odcs_types import OdcsError, column_type
from assets.stored_json import load_json

if TYPE_CHECKING:
    import pandera.polars as pa

    from assets.definition import AssetSpec
    from assets.mesh import Mesh
    from governance.policy import MeshPolicy

API_VERSION = "v3.1.0"
#: Custom properties the mesh writes (and the import reads back).
PROTECTION, PLAINTEXT_REQUIRED, PLAINTEXT_PHYSICAL = "protection", "plaintextRequired", "plaintextPhysicalType"


def odcs_document(mesh: Mesh, key: str, *, version: str | None = None,
                  contract: type[pa.DataFrameModel] | None = None) -> dict[str, Any]:
    """The ODCS document of asset ``key``'s contract, as plain data (validated). ``version`` is
    the published version the servers point at (the current one by default); ``contract``
    describes another contract in the asset's place (an imported one, to compare)."""
    spec = mesh.graph[key].spec
    if contract is not None:
        spec = dataclasses.replace(spec, contract=contract)
    version = version if version is not None else _current_version(mesh, key)
    schema = _schema(spec, mesh.policy)
    protected = any(c.get("property") == PROTECTION for p in schema["properties"] for c in p.get("customProperties", ()))
    description = {"purpose": spec.description or f"The data product {key}.",
                   "usage": f"Visibility {spec.visibility}: " + _USAGE.get(spec.visibility, "")}
    if protected:
        description["limitations"] = ("Classified columns hold tokens or cipher text at rest; readers holding "
                                      "decrypt:<classification> get the plaintext from the mesh.")
    document: dict[str, Any] = {
        "apiVersion": API_VERSION, "kind": "DataContract", "id": f"{mesh.name}.{key}", "name": key,
        "version": spec.contract_version, "status": "deprecated" if spec.deprecated else "active", "domain": spec.domain, "dataProduct": key,
        "tenant": mesh.name,
        "description": description,
        "tags": [f"{k}:{v}" for k, v in sorted(spec.tags.items())] or None,
        "schema": [schema],
        "team": _team(spec, mesh.policy),
        "slaProperties": _sla(spec, mesh.policy) or None,
        "servers": _servers(mesh, key, version),
        "customProperties": [{"property": "visibility", "value": spec.visibility},
                             {"property": "inputs", "value": sorted(spec.inputs.values())}]
                            + ([{"property": "publishedVersion", "value": version}] if version else [])
                            + _deprecation(spec),
    }
    document = {k: v for k, v in document.items() if v is not None}
    validate_document(document, where=f"the ODCS document of '{key}'")
    return document


def export_odcs(mesh: Mesh, key: str, *, version: str | None = None) -> str:
    """The ODCS document of ``key``'s contract as YAML."""
    return to_yaml(odcs_document(mesh, key, version=version))


def to_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)


_USAGE = {"public": "any domain may read it.", "restricted": "readers need a grant (mesh access request).",
          "private": "only its own domain reads it."}


def _deprecation(spec: AssetSpec) -> list[dict[str, Any]]:
    """A deprecated asset's end date and replacement, as custom properties."""
    if spec.deprecated is None:
        return []
    return [{"property": "deprecatedUntil", "value": spec.deprecated.isoformat()}] + (
        [{"property": "replacedBy", "value": spec.replaced_by}] if spec.replaced_by else [])


def _schema(spec: AssetSpec, policy: MeshPolicy) -> dict[str, Any]:
    schema = spec.contract.to_schema()
    where = f"the contract of {spec.key} ({spec.contract.__name__}, {spec.source})"
    properties = [_property(name, column, policy, where=where) for name, column in schema.columns.items()]
    quality = export_frame_checks(schema.checks)
    if schema.unique:
        quality.insert(0, {"type": "library", "metric": "duplicateValues", "name": "unique",
                           "arguments": {"properties": list(schema.unique)}, "mustBe": 0, "severity": "error"})
    return {k: v for k, v in {
        "name": spec.name, "physicalType": "table", "businessName": spec.contract.__name__,
        "description": (schema.description or spec.contract.__doc__ or spec.description or "").strip() or None,
        "properties": properties, "quality": quality or None}.items() if v is not None}


def _property(name: str, column: Any, policy: MeshPolicy, *, where: str) -> dict[str, Any]:
    ctype = column_type(column.dtype.type, column=name, where=where)
    metadata = dict(column.metadata or {})
    classification = metadata.get("classification")
    protection = _protection(str(classification), policy, where=where) if classification else None
    protected = protection if protection not in (None, "none") else None
    rules = export_checks(column.checks, protected=protected)
    required = not column.nullable
    custom: list[dict[str, Any]] = []
    if protected:
        custom.append({"property": PROTECTION, "value": protected})
        if ctype.physical != "VARCHAR":
            custom.append({"property": PLAINTEXT_PHYSICAL, "value": ctype.physical})
        if protected == "redact":  # the stored column is empty: required holds on the plaintext only
            custom.append({"property": PLAINTEXT_REQUIRED, "value": required})
            required = False
    prop = {
        "name": name, "logicalType": ctype.logical, "physicalType": "VARCHAR" if protected else ctype.physical,
        "description": column.description, "businessName": column.title, "required": required,
        "unique": bool(column.unique) or None, "primaryKey": True if metadata.get("primary_key") else None,
        "classification": str(classification) if classification else None,
        "logicalTypeOptions": rules.options or None, "quality": rules.quality or None,
        "customProperties": custom or None,
    }
    return {k: v for k, v in prop.items() if v is not None}


def _protection(classification: str, policy: MeshPolicy, *, where: str) -> str:
    declared = policy.classifications.get(classification)
    if declared is None:
        raise OdcsError(f"a column is classified '{classification}', which mesh.toml does not declare", where=where,
                        fix=f"add [classification.{classification}] with a protection, or fix the metadata")
    return declared.protection


def _team(spec: AssetSpec, policy: MeshPolicy) -> dict[str, Any]:
    domain = policy.domains.get(spec.domain)
    members = [{"username": o, "role": "owner"} for o in spec.owners]
    members += [{"username": o, "role": "domain owner"} for o in (domain.owners if domain else ())
                if o not in spec.owners]
    return {"name": spec.domain, "description": f"The {spec.domain} domain team.", "members": members}


def _sla(spec: AssetSpec, policy: MeshPolicy) -> list[dict[str, Any]]:
    sla = []
    if spec.freshness is not None:
        value, unit = _duration(spec.freshness)
        sla.append({"property": "freshness", "value": value, "unit": unit,
                    "description": "A new version is published at least this often."})
    sla.append({"property": "retention", "value": policy.retention.days_for(spec.domain), "unit": "d",
                "description": "Non-current versions are kept this long (mesh retention apply)."})
    return sla


def _duration(delta: dt.timedelta) -> tuple[int, str]:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds and seconds % size == 0:
            return seconds // size, unit
    return seconds, "s"


def _current_version(mesh: Mesh, key: str) -> str | None:
    """The asset's current version; ``None`` for a partitioned asset (each partition has its own,
    so the servers describe every partition), or one with nothing published."""
    if mesh.graph[key].spec.partitions is not None:
        return None
    return mesh.store().current_version(key)


def _servers(mesh: Mesh, key: str, version: str | None) -> list[dict[str, Any]]:
    """One server per region: the Parquet file of ``version`` there; without one, every Parquet
    file of the asset (of every partition, for a partitioned asset) in that region's storage."""
    partitions = mesh.graph[key].spec.partitions
    servers = []
    for region, url in mesh.regions.storage.items():
        store = mesh.store(region)
        role = "primary" if region == mesh.regions.primary else "secondary"
        partition = store.partition_of(key, version) if version is not None else None
        held = version is not None and store.has_version(key, version, partition)
        custom: list[dict[str, Any]] = []
        if held and version:
            files = store.data_path(key, version, partition)
            note = f"version {version} of {key}" + (f", partition {partition}" if partition else "")
        elif partitions is not None:
            files = store.data_path(key, "*", "*")
            note = (f"every partition of {key} ({partitions.describe()})"
                    + (" (the exported version is not in this region)" if version else "")
                    + ": one folder per partition key under the asset's folder, its CURRENT file naming the "
                      "partition's current version")
            custom = [{"property": "partitions", "value": partitions.to_dict()},
                      {"property": "pathLayout", "value": "<partition>/<version>/data.parquet"}]
        else:
            files = store.data_path(key, "*")
            note = ("every version of the asset (the exported version is not in this region)" if version else
                    "every version of the asset (none is published yet)")
        path = store.root.uri_of(files)
        server: dict[str, Any] = {"server": region, "environment": role, "format": "parquet",
                                  "description": f"Region {region} ({role}): {note}, one Parquet file per version."}
        if "://" in url and not url.startswith("file://"):
            server |= {"type": url.split("://", 1)[0], "location": path}
        else:
            server |= {"type": "local", "path": path}
        if custom:
            server["customProperties"] = custom
        servers.append(server)
    return servers


@cache
def _json_schema() -> dict[str, Any]:
    text = resources.files("open_data_contract_standard").joinpath("schema.json").read_text(encoding="utf-8")
    return dict(load_json(text))


def validate_document(document: dict[str, Any], *, where: str, strict_keys: bool = True) -> None:
    """Refuse a document the ``open-data-contract-standard`` model or its JSON schema rejects,
    or (``strict_keys``: a document the mesh wrote) that holds a key the model does not know
    (pydantic would drop it silently)."""
    import jsonschema
    from open_data_contract_standard.model import OpenDataContractStandard
    from pydantic import ValidationError

    try:
        model = OpenDataContractStandard.model_validate(document)
    except ValidationError as exc:
        raise OdcsError(f"not a valid ODCS document: {_first_error(exc)}", where=where,
                        fix="correct the document (see the ODCS v3 reference)") from None
    dumped = model.model_dump(exclude_none=True, by_alias=True)
    if strict_keys and dumped != document:
        raise OdcsError(f"the document holds keys or values the ODCS model does not keep, first at "
                        f"{_difference(document, dumped) or '(top)'}", where=where,
                        fix="remove or rename them (see the ODCS v3 reference)")
    errors = sorted(jsonschema.Draft201909Validator(_json_schema()).iter_errors(document), key=str)
    if errors:
        first = errors[0]
        place = "/".join(str(p) for p in first.absolute_path) or "(top)"
        raise OdcsError(f"not a valid ODCS document at {place}: {first.message}", where=where,
                        fix="correct the document (see the ODCS v3 JSON schema)")


def _difference(mine: Any, kept: Any, path: str = "") -> str | None:
    """The first place where ``kept`` (the model's dump) differs from ``mine``."""
    if isinstance(mine, dict) and isinstance(kept, dict):
        for k in mine.keys() | kept.keys():
            if mine.get(k) != kept.get(k):
                return _difference(mine.get(k), kept.get(k), f"{path}/{k}")
    if isinstance(mine, list) and isinstance(kept, list) and len(mine) == len(kept):
        for i, (a, b) in enumerate(zip(mine, kept, strict=True)):
            if a != b:
                return _difference(a, b, f"{path}/{i}")
    return f"{path} ({mine!r} kept as {kept!r})" if mine != kept else None


def _first_error(exc: Any) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc']) or '(top)'}: {error['msg']}"
