"""Federated governance: policies from ``mesh.toml`` and their enforcement.

Governance implements the interfaces the asset framework defines (``assets.ports``) and is
the composition root: :func:`governance.wiring.load_mesh` loads ``mesh.toml`` and the
domains and wires the implementations into the mesh. Subpackages carry their own public API;
this package imports none of them eagerly.
"""

__all__: list[str] = []
