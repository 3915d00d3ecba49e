"""Which key provider holds the mesh's key-encryption keys, as ``[keys] provider`` says.

``local`` is the embedded default (owner-only files under ``.mesh/keys``). Any other provider
is a plug-in named ``package.module:factory``: the factory is called with the policy and the
mesh's state folder and returns an object with the :class:`KeyProvider` methods (a KMS client).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from assets.errors import ConfigError
from governance.keys import LocalKeyStore
from governance.policy import MeshPolicy
from governance.protection.keys import KeyProvider, LocalKeyProvider


def key_provider(policy: MeshPolicy, state_dir: Path) -> KeyProvider:
    """The key provider ``[keys]`` chooses for the mesh whose state folder is ``state_dir``."""
    name = policy.keys.provider
    if name == "local":
        return LocalKeyProvider(LocalKeyStore(state_dir / "keys"))
    module_name, _, factory_name = name.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), factory_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"key provider '{name}' cannot be loaded: {exc}", where="[keys].provider",
                          fix="install the package that provides it, or use provider = \"local\"") from None
    provider: KeyProvider = factory(policy, state_dir)
    missing = [m for m in ("active_kek_id", "kek_ids", "wrap", "unwrap", "rotate", "retire") if not callable(getattr(provider, m, None))]
    if missing:
        raise ConfigError(f"key provider '{name}' lacks {', '.join(missing)}", where="[keys].provider",
                          fix="implement the KeyProvider methods of governance.protection.keys")
    return provider
