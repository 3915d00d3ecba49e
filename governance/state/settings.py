"""Which state database a mesh uses: ``[state] url`` of ``mesh.toml``, else the SQLite file
``.mesh/state/mesh.sqlite``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from governance.policy import MeshPolicy
from governance.policy.model import STATE_SCHEMES
from governance.state.database import StateDatabase

#: The default state database, under the mesh's state folder.
DEFAULT_FILE = Path("state") / "mesh.sqlite"


def state_database(policy: MeshPolicy) -> StateDatabase:
    """The state database of the mesh whose policy is ``policy``."""
    if policy.state.url is None:
        path = policy.root / ".mesh" / DEFAULT_FILE
        return StateDatabase(f"sqlite:///{path}", str(path))
    return database_at(policy.state.url, policy.root, named_in=f"{policy.path.name} [state].url",
                       password_env=policy.state.password_env)


def database_at(url: str, root: Path, *, named_in: str, password_env: str | None = None) -> StateDatabase:
    """The database of a ``[state].url`` (validated by the policy): ``sqlite:///relative`` is
    taken from ``root``; ``postgresql://`` is opened with psycopg."""
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite":
        absolute = rest.startswith("//")
        path = Path(rest[1:]) if absolute else root / rest.removeprefix("/")
        return StateDatabase(f"sqlite:///{path}", f"{path} ({named_in})")
    parsed = make_url(f"{STATE_SCHEMES[scheme]}://{rest}")
    shown = parsed.render_as_string(hide_password=True)
    return StateDatabase(parsed.render_as_string(hide_password=False), f"{named_in} ({shown})", password_env)
