"""OpenLineage for the mesh: run events of every materialization, delivered through an outbox
to a file, http (Marquez) or composite transport, and the lineage graph with versions.

Public API: :func:`lineage_for` (the emitter of a mesh), :func:`lineage_settings`,
:func:`lineage_of` and :func:`impact_of` (``mesh lineage``), and the custom facet.
"""

from governance.lineage.config import (
           LineageSettings,
           airflow_provider_settings,
           lineage_settings,
)
from governance.lineage.delivery import Delivery, LineageOutbox, OutboxStatus
from governance.lineage.emitter import Lineage, lineage_for
from governance.lineage.events import complete_event, fail_event, run_uuid, start_event
from governance.lineage.facets import (
           FACET_KEY,
           PRODUCER,
           SCHEMA_FILE,
           SCHEMA_ID,
           MeshGovernanceDatasetFacet,
)
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
