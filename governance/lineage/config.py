"""Where lineage goes: the OpenLineage transport and namespace, from ``mesh.toml`` or
``openlineage.yml``.

``[lineage]`` in ``mesh.toml`` wins. Without a ``transport`` there, an ``openlineage.yml``
beside ``mesh.toml`` (OpenLineage's own format, its ``transport:`` section) is used; without
either, events go to a file under ``.mesh/lineage``. The Airflow OpenLineage provider gets the
same namespace and transport (see :func:`airflow_provider_settings`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assets.errors import ConfigError
from governance.policy import MeshPolicy

OPENLINEAGE_YML = "openlineage.yml"


@dataclass(frozen=True, slots=True)
class LineageSettings:
    """The namespace of every job and dataset, and the OpenLineage transport config (a dict in
    the client's own format: ``{"type": "file", "log_file_path": ...}``)."""

    namespace: str
    transport: dict[str, Any]
    source: str

    @property
    def enabled(self) -> bool:
        return self.transport.get("type") != "noop"


def lineage_settings(policy: MeshPolicy) -> LineageSettings:
    """The lineage settings of the mesh whose policy is ``policy``."""
    lineage, root = policy.lineage, policy.root
    namespace = lineage.namespace or policy.settings.name
    file_transport = {"type": "file", "log_file_path": str(_under(root, lineage.file)), "append": True}
    http_transport = {"type": "http", "url": lineage.url, "endpoint": lineage.endpoint,
                      "timeout": lineage.timeout_seconds, "retry": {"total": 1, "backoff_factor": 0.1}}
    if lineage.transport is None and (root / OPENLINEAGE_YML).exists():
        return LineageSettings(namespace, _from_yaml(root / OPENLINEAGE_YML), str(root / OPENLINEAGE_YML))
    kind = lineage.transport or "file"
    transports: dict[str, dict[str, Any]] = {
        "file": file_transport,
        "http": http_transport,
        "composite": {"type": "composite", "continue_on_failure": True,
                      "transports": {"file": file_transport, "http": http_transport}},
        "console": {"type": "console"},
        "none": {"type": "noop"},
    }
    transport = transports[kind]
    return LineageSettings(namespace, transport, f"{policy.path} [lineage]")


def airflow_provider_settings(settings: LineageSettings, events_file: Path) -> dict[str, str]:
    """Environment for the Airflow OpenLineage provider: the mesh's namespace, and its transport
    (file transports write to ``events_file``, beside the mesh's own events)."""
    if not settings.enabled:
        return {"AIRFLOW__OPENLINEAGE__DISABLED": "True"}
    transport = _map_file_transports(settings.transport, lambda t: {**t, "log_file_path": str(events_file)})
    return {"AIRFLOW__OPENLINEAGE__DISABLED": "False", "AIRFLOW__OPENLINEAGE__NAMESPACE": settings.namespace,
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport)}


def file_transport_paths(transport: dict[str, Any]) -> list[Path]:
    """The files the file transports of ``transport`` (alone or in a composite) write to."""
    found: list[Path] = []

    def note(file_transport: dict[str, Any]) -> dict[str, Any]:
        found.append(Path(file_transport["log_file_path"]))
        return file_transport

    _map_file_transports(transport, note)
    return found


def _map_file_transports(transport: dict[str, Any],
                         change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """``transport`` with ``change`` applied to each file transport in it; a composite's children
    may be a list or a mapping of names, as OpenLineage allows."""
    if transport.get("type") == "file":
        return change(dict(transport))
    children = transport.get("transports")
    if transport.get("type") != "composite" or not children:
        return dict(transport)
    mapped = ({name: _map_file_transports(t, change) for name, t in children.items()} if isinstance(children, dict)
              else [_map_file_transports(t, change) for t in children])
    return {**transport, "transports": mapped}


def _under(root: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else root / p


def _from_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"openlineage.yml is unreadable: {exc}", where=str(path),
                          fix="fix the YAML, or configure [lineage] in mesh.toml instead") from exc
    transport = data.get("transport") if isinstance(data, dict) else None
    if not isinstance(transport, dict) or "type" not in transport:
        raise ConfigError("openlineage.yml has no transport with a type", where=str(path),
                          fix="write `transport: {type: http, url: http://localhost:5000}` or `type: file`")
    if transport["type"] == "file" and "log_file_path" in transport:
        transport = {**transport, "log_file_path": str(_under(path.parent, transport["log_file_path"]))}
    return dict(transport)
