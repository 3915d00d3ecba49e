"""OpenLineage for the mesh: run events of every materialization, delivered through an outbox
to a file, http (Marquez) or composite transport, and the lineage graph with versions.

Public API: :func:`lineage_for` (the emitter of a mesh), :func:`lineage_settings`,
:func:`lineage_of` and :func:`impact_of` (``mesh lineage``), and the custom facet.

The event builders and the custom facet need the OpenLineage client, so they are imported when
first named (``governance.lineage.start_event``): loading a mesh does not import the client.
"""

from typing import TYPE_CHECKING, Any

from governance.lineage.config import (
           LineageSettings,
           airflow_provider_settings,
           lineage_settings,
)
from governance.lineage.delivery import Delivery, LineageOutbox, OutboxStatus
from governance.lineage.emitter import Lineage, lineage_for
from governance.lineage.graph import (
           AssetLineage,
           Impact,
           LineageNode,
           impact_of,
           lineage_of,
)

__all__ = ["FACET_KEY", "PRODUCER", "SCHEMA_FILE", "SCHEMA_ID", "AssetLineage", "Delivery", "Impact", "Lineage",
           "LineageNode", "LineageOutbox", "LineageSettings", "MeshGovernanceDatasetFacet", "OutboxStatus",
           "airflow_provider_settings", "complete_event", "fail_event", "impact_of", "lineage_for",
           "lineage_of", "lineage_settings", "run_uuid", "start_event"]

if TYPE_CHECKING:
    from governance.lineage.events import complete_event, fail_event, run_uuid, start_event
    from governance.lineage.facets import FACET_KEY, PRODUCER, SCHEMA_FILE, SCHEMA_ID, MeshGovernanceDatasetFacet

#: The public names imported on first use, by module.
_LAZY = {name: "governance.lineage.events" for name in ("complete_event", "fail_event", "run_uuid", "start_event")} | {
    name: "governance.lineage.facets" for name in ("FACET_KEY", "PRODUCER", "SCHEMA_FILE", "SCHEMA_ID",
                                                    "MeshGovernanceDatasetFacet")}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)
