"""Federated governance: policies from ``mesh.toml`` and their enforcement.

Subpackages carry their own public API; this package imports none of them eagerly, so that
the asset framework can depend on ``governance.policy`` without import cycles.
"""

__all__: list[str] = []
