"""The mesh's own OpenLineage facet: governance data of a data product, with a shipped schema.

``MeshGovernanceDatasetFacet`` rides on every output dataset under the key ``meshGovernance``.
Its JSON schema is ``schemas/MeshGovernanceDatasetFacet.json`` in this package, and its
``_schemaURL`` is that schema's ``$id`` (resolved offline by the tests' schema registry).
"""

from __future__ import annotations

from pathlib import Path

import attr
from openlineage.client.generated.base import DatasetFacet, RunFacet

#: Identifies this platform as the producer of the events (OpenLineage ``producer``).
PRODUCER = "https://acme-mesh.dev/acme-mesh/0.1.0"
SCHEMA_FILE = Path(__file__).parent / "schemas" / "MeshGovernanceDatasetFacet.json"
SCHEMA_ID = "https://acme-mesh.dev/spec/facets/1-0-0/MeshGovernanceDatasetFacet.json"
FACET_KEY = "meshGovernance"


@attr.define
class MeshGovernanceDatasetFacet(DatasetFacet):
    """Domain, visibility, classified columns and their protection, contract and residency."""

    domain: str
    visibility: str
    classification: dict[str, str]
    contractVersion: str  # noqa: N815 (OpenLineage facets use camelCase)
    contract: str | None = attr.field(default=None)
    protection: dict[str, str] = attr.field(factory=dict)
    residency: list[str] = attr.field(factory=list)
    region: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return f"{SCHEMA_ID}#/$defs/MeshGovernanceDatasetFacet"


#: The run facet naming the partition a run made, under this key.
PARTITION_FACET_KEY = "meshPartition"


@attr.define
class MeshPartitionRunFacet(RunFacet):
    """The partition of a partitioned data product that the run made (its schema is in the same file)."""

    partition: str
    partitions: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return f"{SCHEMA_ID}#/$defs/MeshPartitionRunFacet"
