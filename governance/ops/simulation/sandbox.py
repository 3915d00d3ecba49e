"""A throwaway copy of a mesh for a simulation: its ``mesh.toml`` and ``domains/``, run
entirely inside one folder.

Everything that would reach outside is pointed inside the copy: both regions' storage, the
state database (the default SQLite file), the lineage (a file), the key provider (local keys),
the alerts (one file notifier, every alert routed to it: a simulation never pages anyone).
People and signatures are dropped and enrolled again with keys held in the copy (as the demo's
set-up does), and the new audit log's key is pinned.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import tomlkit

from assets.errors import ConfigError

#: Where the copy's alerts go, relative to its folder.
ALERTS_FILE = ".mesh/alerts/alerts.jsonl"
#: The one notifier of the copy.
NOTIFIER = "simulation_file"


def sandbox_copy(source: Path, target: Path) -> Path:
    """Copy the mesh at ``source`` (the folder of its ``mesh.toml``) to ``target`` and make it
    self-contained (see the module docstring); returns ``target``."""
    from governance.audit import audit_log_at
    from governance.audit.pinning import pin_audit_key
    from governance.identity.example import enroll_people
    from governance.policy import load_policy

    if not (source / "mesh.toml").is_file() or not (source / "domains").is_dir():
        raise ConfigError(f"{source} has no mesh.toml and domains/ to simulate", where=str(source),
                          fix="run `mesh ops simulate` in the folder of the mesh (or pass --root)")
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source / "domains", target / "domains", ignore=shutil.ignore_patterns("__pycache__"))
    (target / "mesh.toml").write_text(contained((source / "mesh.toml").read_text()))
    identities = target / ".identities"
    identities.mkdir(mode=0o700)
    enroll_people(target, identities)
    pin_audit_key(load_policy(target), audit_log_at(target / ".mesh"))
    return target


def contained(text: str) -> str:
    """``mesh.toml`` text with everything that reaches outside the folder replaced."""
    doc = tomlkit.parse(text)
    for section in ("people", "audit", "state", "keys", "identity"):
        doc.pop(section, None)
    for grant in doc.get("grants", []):
        grant.pop("signatures", None)
    for name, region in doc.get("regions", {}).items():
        region["storage"] = f".mesh/regions/{name}"
    lineage = doc.setdefault("lineage", tomlkit.table())
    for key in ("url", "endpoint", "timeout_seconds"):
        lineage.pop(key, None)
    lineage["transport"] = "file"
    lineage["file"] = ".mesh/lineage/events.jsonl"
    alerts = doc.setdefault("alerts", tomlkit.table())
    notifiers = tomlkit.table()
    notifiers[NOTIFIER] = {"kind": "file", "path": ALERTS_FILE}
    alerts["notifiers"] = notifiers
    route = tomlkit.aot()
    route.append(tomlkit.item({"name": "everything", "notify": [NOTIFIER]}))
    alerts["routes"] = route
    return tomlkit.dumps(doc)
