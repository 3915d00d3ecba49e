"""``python -m meshctl.pools ROOT``: create or resize one Airflow pool per domain.

Run by ``mesh up`` in a subprocess with the mesh's Airflow environment, after the metadata DB
is migrated. Pool sizes come from ``pool_slots`` in ``mesh.toml``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from airflow.models.pool import Pool

from assets.airflow.naming import pool_name
from governance.policy import load_policy


def sync_pools(root: Path) -> list[str]:
    policy = load_policy(root)
    done = []
    for domain in policy.domains.values():
        Pool.create_or_update_pool(name=pool_name(domain.name), slots=domain.pool_slots,
                                   description=f"Tasks of the {domain.name} domain (mesh.toml pool_slots)",
                                   include_deferred=False)
        done.append(f"{pool_name(domain.name)}={domain.pool_slots}")
    return done


if __name__ == "__main__":
    print(" ".join(sync_pools(Path(sys.argv[1]))))
