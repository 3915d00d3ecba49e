"""Contracts in the Open Data Contract Standard (ODCS v3): export an asset's pandera contract as
an ODCS document, and create a pandera contract module from one.

- :mod:`governance.contracts.odcs_types`: column types both ways (polars dtype, ODCS logical and
  physical types).
- :mod:`governance.contracts.odcs_rules`: pandera checks both ways (ODCS ``logicalTypeOptions``,
  library quality rules, and text rules that carry the pandera check they describe).
- :mod:`governance.contracts.odcs_export`: the document of one asset, validated.
- :mod:`governance.contracts.odcs_import`: a contract module from a document.
"""

from governance.contracts.odcs_export import export_odcs, odcs_document
from governance.contracts.odcs_import import (
    ImportedContract,
    OdcsImportError,
    import_odcs,
    read_odcs,
)
from governance.contracts.odcs_types import OdcsError

__all__ = ["ImportedContract", "OdcsError", "OdcsImportError", "export_odcs", "import_odcs", "odcs_document",
           "read_odcs"]
