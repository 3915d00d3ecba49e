"""Federated governance: policies from ``mesh.toml`` and their enforcement.

Governance implements the interfaces the asset framework defines (``assets.ports``) and is
the composition root: :func:`governance.wiring.load_mesh` loads ``mesh.toml`` and the
domains and wires the implementations into the mesh. Subpackages carry their own public API;
this package imports none of them eagerly.

Its subpackages and modules are layered; each imports only those below it (``lint-imports``
keeps them acyclic and in this order), from the top:

- ``airflow``: the DAGs and tasks Airflow runs;
- ``ops``: what the mesh tells its operators (freshness, SLAs, metrics, ``check_mesh``,
  the simulation on a throwaway copy);
- ``reports``: signed compliance, usage and chargeback reports;
- ``healing``: the runbooks that repair a mesh;
- ``dr``: backups, failover, drills and KEK retirement (which must see every backup);
- ``compiled``, ``check``: the compiled mesh for Airflow's parser, ``mesh check``;
- ``wiring``: the composition root;
- ``subscriptions``, ``tenancy``, ``handlers``: subscriptions to assets, domains as tenants,
  the publish handlers;
- ``access``: who may read what, grants and their workflow, reads as a person;
- ``services``: the services governance builds for a mesh (``governed(mesh)``);
- ``lineage``, ``replication``, ``rollback``, ``retention``, ``protection``, ``gc``;
- ``alerts``: signals, incidents, routing and notifiers;
- ``council``: the council's signed approval of trust (people, roles, owners, identity);
- ``audit``: the audit log;
- ``runs``, ``history``: run records and workers, the run history;
- ``state``: the state database;
- ``identity``: who acts (authentication) and what they may do (authorization);
- ``contracts``: ODCS contracts;
- ``policy``: the model of ``mesh.toml`` (and the grammars it validates: key texts, signal
  kinds, roles);
- ``keys``, ``example_drops``: key stores, the example mesh's drops.

A lower layer that needs something of a higher one takes it as an argument or a small
protocol, or the concept moves down to the layer that needs it.
"""

__all__: list[str] = []
