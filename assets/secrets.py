"""Per-domain secrets: an asset reads only secrets named with its own domain's prefix.

``context.secret("api_token")`` in domain ``sales`` looks up ``sales__api_token``: on Airflow
as a Variable (metastore or a secrets backend), in-process from the environment variable
``AIRFLOW_VAR_SALES__API_TOKEN`` (Airflow's own convention, so one setting serves both).
``context.connection("warehouse")`` does the same for the Connection ``sales__warehouse``
(``AIRFLOW_CONN_SALES__WAREHOUSE``) and returns its URI. A name cannot leave the prefix, so no
domain reaches another's secrets through the framework. Errors name the variable, never a
value.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from assets.errors import MeshError
from assets.names import NAME

#: Looks up a fully prefixed name (``<domain>__<name>``) of a kind (``variable`` or
#: ``connection``, as a URI); ``None`` when absent.
SecretResolver = Callable[[str, str], str | None]


class SecretError(MeshError):
    """A secret was asked for by a bad name, or is not set."""


_ENV_PREFIX = {"variable": "AIRFLOW_VAR_", "connection": "AIRFLOW_CONN_"}


def environment_resolver(kind: str, full_name: str) -> str | None:
    return os.environ.get(f"{_ENV_PREFIX[kind]}{full_name.upper()}")


def domain_secret(domain: str, name: str, resolve: SecretResolver, kind: str = "variable") -> str:
    if not NAME.match(name) or "__" in name:
        raise SecretError(f"'{name}' is not a secret name of domain '{domain}'", where=f"context.secret({name!r})",
                          fix="use a lower_snake_case name without '__'; it is looked up as <domain>__<name>")
    full = f"{domain}__{name}"
    value = resolve(kind, full)
    if value is None:
        raise SecretError(f"{kind} '{full}' is not set", where=f"domain {domain}",
                          fix=f"set the Airflow {kind.title()} {full} (or {_ENV_PREFIX[kind]}{full.upper()} for "
                              "in-process runs)")
    return value
